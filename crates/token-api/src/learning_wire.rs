//! Wire shapes of a learning area's data, shared by the integration API and the admin API.
//! Every list item has a unique, stable `id` (what Zapier's polling triggers deduplicate on).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use token_core::learning::{Level, LiveSession, Registration, Training, TrainingStatistics, User};
use token_core::learning_service::Paging;

use crate::wire::{rfc3339, rfc3339_opt};

/// A page of a list, newest first. `next_cursor`, when present, is passed back as `before`.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ListPage<T> {
    /// The items.
    pub items: Vec<T>,
    /// The cursor of the next (older) page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl<T> ListPage<T> {
    /// A page from a domain page, each item converted with `T: From<&D>`.
    pub fn of<D>(page: token_core::service::Page<D>) -> Self
    where
        T: for<'a> From<&'a D>,
    {
        Self { items: page.items.iter().map(T::from).collect(), next_cursor: page.next_cursor.map(|c| c.to_string()) }
    }
}

/// `before` and `limit` of every newest-first list.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PagingQuery {
    /// The previous page's `next_cursor`.
    pub before: Option<i64>,
    /// Page size, 1 to 500 (default 50).
    pub limit: Option<u32>,
}

impl From<PagingQuery> for Paging {
    fn from(q: PagingQuery) -> Self {
        Self { before: q.before, limit: q.limit }
    }
}

/// A hierarchy level.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Level)]
pub struct LevelWire {
    id: i64,
    parent_id: Option<i64>,
    name: String,
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    created_at: OffsetDateTime,
}

impl From<&Level> for LevelWire {
    fn from(l: &Level) -> Self {
        Self {
            id: l.id.get(),
            parent_id: l.parent_id.map(|p| p.get()),
            name: l.name.to_string(),
            created_at: l.created_at,
        }
    }
}

/// A user (learner).
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = User)]
pub struct UserWire {
    id: i64,
    name: String,
    email: String,
    level_id: Option<i64>,
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    created_at: OffsetDateTime,
}

impl From<&User> for UserWire {
    fn from(u: &User) -> Self {
        Self {
            id: u.id.get(),
            name: u.name.to_string(),
            email: u.email.to_string(),
            level_id: u.level_id.map(|l| l.get()),
            created_at: u.created_at,
        }
    }
}

/// A training.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Training)]
pub struct TrainingWire {
    id: i64,
    title: String,
    description: String,
    level_id: Option<i64>,
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    created_at: OffsetDateTime,
}

impl From<&Training> for TrainingWire {
    fn from(t: &Training) -> Self {
        Self {
            id: t.id.get(),
            title: t.title.to_string(),
            description: t.description.clone(),
            level_id: t.level_id.map(|l| l.get()),
            created_at: t.created_at,
        }
    }
}

/// A training's figures.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = TrainingStatistics)]
pub struct StatisticsWire {
    training_id: i64,
    registered: u64,
    not_started: u64,
    in_progress: u64,
    completed: u64,
    /// completed / registered, 0 to 1.
    completion_rate: f64,
    average_score: Option<f64>,
    best_score: Option<u8>,
}

impl StatisticsWire {
    /// The figures of training `training_id`.
    pub fn new(training_id: i64, s: &TrainingStatistics) -> Self {
        Self {
            training_id,
            registered: s.registered,
            not_started: s.not_started,
            in_progress: s.in_progress,
            completed: s.completed,
            completion_rate: s.completion_rate,
            average_score: s.average_score,
            best_score: s.best_score,
        }
    }
}

/// A registration of a user to a training.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Registration)]
pub struct RegistrationWire {
    id: i64,
    user_id: i64,
    training_id: i64,
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    registered_at: OffsetDateTime,
    /// `not_started`, `in_progress` or `completed`.
    status: &'static str,
    /// 0 to 100.
    progress: u8,
    score: Option<u8>,
    #[serde(serialize_with = "rfc3339_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    completed_at: Option<OffsetDateTime>,
}

impl From<&Registration> for RegistrationWire {
    fn from(r: &Registration) -> Self {
        Self {
            id: r.id.get(),
            user_id: r.user_id.get(),
            training_id: r.training_id.get(),
            registered_at: r.registered_at,
            status: r.status.as_str(),
            progress: r.progress,
            score: r.score,
            completed_at: r.completed_at,
        }
    }
}

/// One attendee of a live session.
#[derive(Serialize, utoipa::ToSchema)]
pub struct AttendeeWire {
    user_id: i64,
    /// `registered`, `attended` or `absent`.
    attendance: &'static str,
}

/// A live session; `attendees` only in the detailed view.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = LiveSession)]
pub struct LiveSessionWire {
    id: i64,
    training_id: i64,
    title: String,
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    starts_at: OffsetDateTime,
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    ends_at: OffsetDateTime,
    #[serde(skip_serializing_if = "Option::is_none")]
    attendees: Option<Vec<AttendeeWire>>,
}

impl From<&LiveSession> for LiveSessionWire {
    fn from(s: &LiveSession) -> Self {
        Self::summary(s)
    }
}

impl LiveSessionWire {
    /// The list view (no attendees).
    pub fn summary(s: &LiveSession) -> Self {
        Self {
            id: s.id.get(),
            training_id: s.training_id.get(),
            title: s.title.to_string(),
            starts_at: s.starts_at,
            ends_at: s.ends_at,
            attendees: None,
        }
    }

    /// The detailed view, with attendees.
    pub fn detailed(s: &LiveSession) -> Self {
        let attendees = s
            .attendees
            .iter()
            .map(|(user, attendance)| AttendeeWire { user_id: user.get(), attendance: attendance.as_str() })
            .collect();
        Self { attendees: Some(attendees), ..Self::summary(s) }
    }
}
