//! The data of a learning area that integrations reach: hierarchy levels, users (learners),
//! trainings, registrations, live sessions and attendance.
//!
//! Every read and write goes through an [`AreaScope`]: storage functions take one and confine
//! every query to its learning area, so data of another area is invisible exactly like data
//! that does not exist. The integration API gets its scope only from a validated bearer
//! token; the admin API only after checking the caller is an administrator and the area exists.

use time::OffsetDateTime;

use crate::error::{CoreError, FieldError};
use crate::ids::{LearningAreaId, id_type};
use crate::model::{Email, Name};

id_type!(
    /// Identifies a hierarchy level.
    LevelId
);
id_type!(
    /// Identifies a user (learner) of a learning area.
    UserId
);
id_type!(
    /// Identifies a training.
    TrainingId
);
id_type!(
    /// Identifies a registration of a user to a training.
    RegistrationId
);
id_type!(
    /// Identifies a live session.
    LiveSessionId
);

/// The learning area every query of a request is confined to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AreaScope(LearningAreaId);

impl AreaScope {
    /// The scope of one learning area. Made from a validated bearer token's principal
    /// (`token-oauth`) or, in the admin API, after the administrator check.
    pub const fn of(area: LearningAreaId) -> Self {
        Self(area)
    }

    /// The learning area.
    pub const fn area(self) -> LearningAreaId {
        self.0
    }
}

/// A level of the hierarchy inside a learning area (company → department → team).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Level {
    /// Its id.
    pub id: LevelId,
    /// The level above it; `None` at the top.
    pub parent_id: Option<LevelId>,
    /// Its name.
    pub name: Name,
    /// When it was created.
    pub created_at: OffsetDateTime,
}

/// A learner of a learning area.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Its id.
    pub id: UserId,
    /// Full name.
    pub name: Name,
    /// Email, unique within the learning area.
    pub email: Email,
    /// The level the user belongs to.
    pub level_id: Option<LevelId>,
    /// When it was created.
    pub created_at: OffsetDateTime,
}

/// A training of a learning area.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Training {
    /// Its id.
    pub id: TrainingId,
    /// Its title.
    pub title: Name,
    /// Its description (may be empty).
    pub description: String,
    /// The level that owns it.
    pub level_id: Option<LevelId>,
    /// When it was created.
    pub created_at: OffsetDateTime,
}

/// Where a user stands in a training.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistrationStatus {
    /// Registered, no progress yet.
    NotStarted,
    /// Some progress.
    InProgress,
    /// Finished.
    Completed,
}

impl RegistrationStatus {
    /// The wire spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::NotStarted => "not_started",
            Self::InProgress => "in_progress",
            Self::Completed => "completed",
        }
    }

    /// Parses the wire spelling.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "not_started" => Some(Self::NotStarted),
            "in_progress" => Some(Self::InProgress),
            "completed" => Some(Self::Completed),
            _ => None,
        }
    }

    /// The status for a progress percentage: 0 not started, 100 completed, in progress between.
    pub const fn for_progress(progress: u8) -> Self {
        match progress {
            0 => Self::NotStarted,
            100.. => Self::Completed,
            _ => Self::InProgress,
        }
    }
}

/// A user registered to a training; at most one per user and training.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    /// Its id.
    pub id: RegistrationId,
    /// The user.
    pub user_id: UserId,
    /// The training.
    pub training_id: TrainingId,
    /// When the user was registered.
    pub registered_at: OffsetDateTime,
    /// Derived from progress.
    pub status: RegistrationStatus,
    /// 0 to 100.
    pub progress: u8,
    /// 0 to 100, once scored.
    pub score: Option<u8>,
    /// When progress first reached 100.
    pub completed_at: Option<OffsetDateTime>,
}

impl Registration {
    /// Records progress and score. Completion is stamped the first time progress reaches 100
    /// and kept afterwards; progress never exceeds 100.
    pub fn record(&mut self, progress: u8, score: Option<u8>, now: OffsetDateTime) -> Result<(), CoreError> {
        let mut errors = Vec::new();
        if progress > 100 {
            errors.push(FieldError { field: "progress", message: "must be between 0 and 100".to_owned() });
        }
        if score.is_some_and(|s| s > 100) {
            errors.push(FieldError { field: "score", message: "must be between 0 and 100".to_owned() });
        }
        if !errors.is_empty() {
            return Err(CoreError::Invalid(errors));
        }
        self.progress = progress;
        self.status = RegistrationStatus::for_progress(progress);
        if score.is_some() {
            self.score = score;
        }
        if self.status == RegistrationStatus::Completed {
            self.completed_at.get_or_insert(now);
        }
        Ok(())
    }
}

/// Whether a registered user attended a live session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attendance {
    /// Registered to attend.
    Registered,
    /// Attended.
    Attended,
    /// Did not attend.
    Absent,
}

impl Attendance {
    /// The wire spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Registered => "registered",
            Self::Attended => "attended",
            Self::Absent => "absent",
        }
    }

    /// Parses the wire spelling.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "registered" => Some(Self::Registered),
            "attended" => Some(Self::Attended),
            "absent" => Some(Self::Absent),
            _ => None,
        }
    }
}

/// A live (scheduled) session of a training.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveSession {
    /// Its id.
    pub id: LiveSessionId,
    /// The training it belongs to.
    pub training_id: TrainingId,
    /// Its title.
    pub title: Name,
    /// When it starts.
    pub starts_at: OffsetDateTime,
    /// When it ends.
    pub ends_at: OffsetDateTime,
    /// Attendees, for the detailed view.
    pub attendees: Vec<(UserId, Attendance)>,
}

/// The figures of one training.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingStatistics {
    /// Registrations.
    pub registered: u64,
    /// Not started.
    pub not_started: u64,
    /// In progress.
    pub in_progress: u64,
    /// Completed.
    pub completed: u64,
    /// completed / registered, 0 when nobody is registered.
    pub completion_rate: f64,
    /// Mean of the scores given.
    pub average_score: Option<f64>,
    /// Highest score given.
    pub best_score: Option<u8>,
}

impl TrainingStatistics {
    /// Computes the figures from every registration's (status, score).
    pub fn from_registrations(rows: &[(RegistrationStatus, Option<u8>)]) -> Self {
        let count = |status| rows.iter().filter(|(s, _)| *s == status).count() as u64;
        let registered = rows.len() as u64;
        let completed = count(RegistrationStatus::Completed);
        let scores: Vec<u8> = rows.iter().filter_map(|(_, score)| *score).collect();
        Self {
            registered,
            not_started: count(RegistrationStatus::NotStarted),
            in_progress: count(RegistrationStatus::InProgress),
            completed,
            completion_rate: if registered == 0 { 0.0 } else { completed as f64 / registered as f64 },
            average_score: (!scores.is_empty())
                .then(|| scores.iter().map(|s| f64::from(*s)).sum::<f64>() / scores.len() as f64),
            best_score: scores.iter().copied().max(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn registration() -> Registration {
        Registration {
            id: RegistrationId::new(1),
            user_id: UserId::new(1),
            training_id: TrainingId::new(1),
            registered_at: datetime!(2026-01-01 0:00 UTC),
            status: RegistrationStatus::NotStarted,
            progress: 0,
            score: None,
            completed_at: None,
        }
    }

    #[test]
    fn progress_decides_the_status_and_completion_is_stamped_once() {
        let mut r = registration();
        let t1 = datetime!(2026-02-01 0:00 UTC);
        r.record(40, None, t1).unwrap();
        assert_eq!((r.status, r.completed_at), (RegistrationStatus::InProgress, None));
        r.record(100, Some(87), t1).unwrap();
        assert_eq!((r.status, r.completed_at, r.score), (RegistrationStatus::Completed, Some(t1), Some(87)));
        r.record(100, None, datetime!(2026-03-01 0:00 UTC)).unwrap();
        assert_eq!(r.completed_at, Some(t1), "the first completion time sticks");
        assert_eq!(r.score, Some(87), "no score given keeps the score");
    }

    #[test]
    fn progress_and_score_are_percentages() {
        let mut r = registration();
        let error = r.record(101, Some(120), datetime!(2026-02-01 0:00 UTC)).unwrap_err();
        let CoreError::Invalid(fields) = error else { panic!("expected invalid") };
        assert_eq!(fields.iter().map(|f| f.field).collect::<Vec<_>>(), ["progress", "score"]);
    }

    #[test]
    fn statistics_count_rate_average_and_best() {
        use RegistrationStatus::*;
        let stats = TrainingStatistics::from_registrations(&[
            (Completed, Some(80)),
            (Completed, Some(100)),
            (InProgress, None),
            (NotStarted, None),
        ]);
        assert_eq!((stats.registered, stats.completed, stats.in_progress, stats.not_started), (4, 2, 1, 1));
        assert_eq!(stats.completion_rate, 0.5);
        assert_eq!(stats.average_score, Some(90.0));
        assert_eq!(stats.best_score, Some(100));
        let empty = TrainingStatistics::from_registrations(&[]);
        assert_eq!((empty.completion_rate, empty.average_score), (0.0, None));
    }
}
