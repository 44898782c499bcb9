//! Operations on a learning area's data. Integration requests call them with the scope of
//! their bearer token; the admin API with [`admin_scope`]. An id from another learning area is
//! answered exactly like an id that does not exist: `NotFound` in a path, an invalid field in
//! a body.

use time::OffsetDateTime;

use crate::clock::Clock;
use crate::error::{CoreError, Entity, FieldError};
use crate::ids::LearningAreaId;
use crate::learning::{
    AreaScope, Attendance, Level, LevelId, LiveSession, LiveSessionId, Registration, RegistrationId,
    RegistrationStatus, Training, TrainingId, TrainingStatistics, User, UserId,
};
use crate::model::{Email, Name};
use crate::service::{Caller, Page, page_limit};
use crate::store::{LearningStore, LiveSessionQuery, RegistrationQuery, Store};

/// The scope an administrator works in: the caller must be an active administrator and the
/// learning area must exist.
pub fn admin_scope<S: Store + ?Sized>(
    store: &mut S,
    caller: Caller,
    area: LearningAreaId,
) -> Result<AreaScope, CoreError> {
    crate::service::require_administrator(store, caller)?;
    store.learning_area(area)?.ok_or(CoreError::NotFound(Entity::LearningArea))?;
    Ok(AreaScope::of(area))
}

/// Paging of a newest-first list.
#[derive(Debug, Clone, Copy, Default)]
pub struct Paging {
    /// The previous page's `next_cursor`.
    pub before: Option<i64>,
    /// Page size (default 50, at most 500).
    pub limit: Option<u32>,
}

fn page<T>(mut items: Vec<T>, limit: u32, id: impl Fn(&T) -> i64) -> Page<T> {
    let has_more = items.len() > limit as usize;
    items.truncate(limit as usize);
    let next_cursor = if has_more { items.last().map(id) } else { None };
    Page { items, next_cursor }
}

fn level_in_scope<S: LearningStore + ?Sized>(
    store: &mut S,
    scope: AreaScope,
    level: Option<LevelId>,
    errors: &mut Vec<FieldError>,
    field: &'static str,
) -> Result<(), CoreError> {
    if let Some(level) = level
        && store.level(scope, level)?.is_none()
    {
        errors.push(FieldError { field, message: format!("no level has the id {level}") });
    }
    Ok(())
}

// ---------------------------------------------------------------- levels

/// The hierarchy levels of the area.
pub fn list_levels<S: LearningStore + ?Sized>(store: &mut S, scope: AreaScope) -> Result<Vec<Level>, CoreError> {
    Ok(store.levels(scope)?)
}

/// Adds a level, under `parent_id` (which must be in the same area) or at the top.
pub fn create_level<S: LearningStore + ?Sized>(
    store: &mut S,
    clock: &dyn Clock,
    scope: AreaScope,
    name: &str,
    parent_id: Option<LevelId>,
) -> Result<Level, CoreError> {
    let mut errors = Vec::new();
    let name = Name::parse("name", name).map_err(|e| errors.push(e)).ok();
    level_in_scope(store, scope, parent_id, &mut errors, "parent_id")?;
    let Some(name) = name.filter(|_| errors.is_empty()) else { return Err(CoreError::Invalid(errors)) };
    Ok(store.insert_level(scope, parent_id, &name, clock.now())?)
}

// ---------------------------------------------------------------- users

/// Users, newest first.
pub fn list_users<S: LearningStore + ?Sized>(
    store: &mut S,
    scope: AreaScope,
    paging: Paging,
) -> Result<Page<User>, CoreError> {
    let limit = page_limit(paging.limit)?;
    Ok(page(store.users(scope, paging.before, limit + 1)?, limit, |u| u.id.get()))
}

/// One user.
pub fn get_user<S: LearningStore + ?Sized>(store: &mut S, scope: AreaScope, id: UserId) -> Result<User, CoreError> {
    store.user(scope, id)?.ok_or(CoreError::NotFound(Entity::User))
}

/// What is needed to add a user.
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    /// Full name.
    pub name: String,
    /// Email, unique within the area.
    pub email: String,
    /// The level the user belongs to.
    pub level_id: Option<LevelId>,
}

/// Adds a user to the area.
pub fn create_user<S: LearningStore + ?Sized>(
    store: &mut S,
    clock: &dyn Clock,
    scope: AreaScope,
    new: NewUser,
) -> Result<User, CoreError> {
    let mut errors = Vec::new();
    let name = Name::parse("name", &new.name).map_err(|e| errors.push(e)).ok();
    let email = Email::parse("email", &new.email).map_err(|e| errors.push(e)).ok();
    level_in_scope(store, scope, new.level_id, &mut errors, "level_id")?;
    let (Some(name), Some(email), true) = (name, email, errors.is_empty()) else {
        return Err(CoreError::Invalid(errors));
    };
    if store.user_by_email(scope, &email)?.is_some() {
        return Err(CoreError::Conflict {
            field: "email",
            message: "a user with this email exists in this learning area".to_owned(),
        });
    }
    Ok(store.insert_user(scope, &name, &email, new.level_id, clock.now())?)
}

// ---------------------------------------------------------------- trainings

/// Trainings, newest first.
pub fn list_trainings<S: LearningStore + ?Sized>(
    store: &mut S,
    scope: AreaScope,
    paging: Paging,
) -> Result<Page<Training>, CoreError> {
    let limit = page_limit(paging.limit)?;
    Ok(page(store.trainings(scope, paging.before, limit + 1)?, limit, |t| t.id.get()))
}

/// One training.
pub fn get_training<S: LearningStore + ?Sized>(
    store: &mut S,
    scope: AreaScope,
    id: TrainingId,
) -> Result<Training, CoreError> {
    store.training(scope, id)?.ok_or(CoreError::NotFound(Entity::Training))
}

/// Adds a training (administrators).
pub fn create_training<S: LearningStore + ?Sized>(
    store: &mut S,
    clock: &dyn Clock,
    scope: AreaScope,
    title: &str,
    description: &str,
    level_id: Option<LevelId>,
) -> Result<Training, CoreError> {
    let mut errors = Vec::new();
    let title = Name::parse("title", title).map_err(|e| errors.push(e)).ok();
    if description.chars().count() > 10_000 {
        errors.push(FieldError { field: "description", message: "must be at most 10000 characters".to_owned() });
    }
    level_in_scope(store, scope, level_id, &mut errors, "level_id")?;
    let Some(title) = title.filter(|_| errors.is_empty()) else { return Err(CoreError::Invalid(errors)) };
    Ok(store.insert_training(scope, &title, description.trim(), level_id, clock.now())?)
}

/// A training's figures.
pub fn training_statistics<S: LearningStore + ?Sized>(
    store: &mut S,
    scope: AreaScope,
    id: TrainingId,
) -> Result<TrainingStatistics, CoreError> {
    get_training(store, scope, id)?;
    Ok(TrainingStatistics::from_registrations(&store.training_results(scope, id)?))
}

// ---------------------------------------------------------------- registrations

/// Registration filters.
#[derive(Debug, Clone, Default)]
pub struct RegistrationFilter {
    /// Only this training.
    pub training_id: Option<TrainingId>,
    /// Only this user.
    pub user_id: Option<UserId>,
    /// Only this status.
    pub status: Option<RegistrationStatus>,
    /// Only registered at or after.
    pub since: Option<OffsetDateTime>,
}

/// Registrations, newest first.
pub fn list_registrations<S: LearningStore + ?Sized>(
    store: &mut S,
    scope: AreaScope,
    filter: RegistrationFilter,
    paging: Paging,
) -> Result<Page<Registration>, CoreError> {
    let limit = page_limit(paging.limit)?;
    let query = RegistrationQuery {
        training_id: filter.training_id,
        user_id: filter.user_id,
        status: filter.status,
        since: filter.since,
        before: paging.before,
        limit: limit + 1,
    };
    Ok(page(store.registrations(scope, &query)?, limit, |r| r.id.get()))
}

/// Registers a user to a training. Registering an already registered user returns the
/// existing registration and `false`.
pub fn register<S: LearningStore + ?Sized>(
    store: &mut S,
    clock: &dyn Clock,
    scope: AreaScope,
    user_id: Option<UserId>,
    training_id: Option<TrainingId>,
) -> Result<(Registration, bool), CoreError> {
    let mut errors = Vec::new();
    let user = match user_id {
        None => None,
        Some(id) => store.user(scope, id)?,
    };
    if user.is_none() {
        let message = user_id.map_or_else(|| "is required".to_owned(), |id| format!("no user has the id {id}"));
        errors.push(FieldError { field: "user_id", message });
    }
    let training = match training_id {
        None => None,
        Some(id) => store.training(scope, id)?,
    };
    if training.is_none() {
        let message = training_id.map_or_else(|| "is required".to_owned(), |id| format!("no training has the id {id}"));
        errors.push(FieldError { field: "training_id", message });
    }
    let (Some(user), Some(training)) = (user, training) else { return Err(CoreError::Invalid(errors)) };
    if let Some(existing) = store.registration_of(scope, user.id, training.id)? {
        return Ok((existing, false));
    }
    Ok((store.insert_registration(scope, user.id, training.id, clock.now())?, true))
}

/// Records progress and score of a registration (administrators).
pub fn record_progress<S: LearningStore + ?Sized>(
    store: &mut S,
    clock: &dyn Clock,
    scope: AreaScope,
    id: RegistrationId,
    progress: u8,
    score: Option<u8>,
) -> Result<Registration, CoreError> {
    let mut registration = store.registration(scope, id)?.ok_or(CoreError::NotFound(Entity::Registration))?;
    registration.record(progress, score, clock.now())?;
    store.update_registration(scope, &registration)?;
    Ok(registration)
}

/// Where the next page of completions starts: the last item's completion time and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompletionCursor {
    /// The last item's completion time.
    pub completed_at: OffsetDateTime,
    /// The last item's id.
    pub id: RegistrationId,
}

impl CompletionCursor {
    /// The wire form: `<unix seconds>.<id>`.
    pub fn encode(self) -> String {
        format!("{}.{}", self.completed_at.unix_timestamp(), self.id)
    }

    /// Parses the wire form.
    pub fn decode(raw: &str) -> Result<Self, CoreError> {
        let invalid = || CoreError::invalid("before", "must be a next_cursor value from a previous page");
        let (at, id) = raw.split_once('.').ok_or_else(invalid)?;
        let at =
            at.parse::<i64>().ok().and_then(|at| OffsetDateTime::from_unix_timestamp(at).ok()).ok_or_else(invalid)?;
        let id = id.parse::<i64>().map_err(|_| invalid())?;
        Ok(Self { completed_at: at, id: RegistrationId::new(id) })
    }
}

/// Completed registrations, newest completion first.
pub fn list_completions<S: LearningStore + ?Sized>(
    store: &mut S,
    scope: AreaScope,
    since: Option<OffsetDateTime>,
    before: Option<CompletionCursor>,
    limit: Option<u32>,
) -> Result<(Vec<Registration>, Option<CompletionCursor>), CoreError> {
    let limit = page_limit(limit)?;
    let mut items = store.completions(scope, since, before.map(|c| (c.completed_at, c.id)), limit + 1)?;
    let has_more = items.len() > limit as usize;
    items.truncate(limit as usize);
    let next = if has_more {
        items.last().and_then(|r| r.completed_at.map(|at| CompletionCursor { completed_at: at, id: r.id }))
    } else {
        None
    };
    Ok((items, next))
}

// ---------------------------------------------------------------- live sessions

/// Live session filters.
#[derive(Debug, Clone, Default)]
pub struct LiveSessionFilter {
    /// Only this training.
    pub training_id: Option<TrainingId>,
    /// Only sessions starting at or after.
    pub from: Option<OffsetDateTime>,
    /// Only sessions starting before.
    pub to: Option<OffsetDateTime>,
}

/// Live sessions, newest first.
pub fn list_live_sessions<S: LearningStore + ?Sized>(
    store: &mut S,
    scope: AreaScope,
    filter: LiveSessionFilter,
    paging: Paging,
) -> Result<Page<LiveSession>, CoreError> {
    let limit = page_limit(paging.limit)?;
    let query = LiveSessionQuery {
        training_id: filter.training_id,
        from: filter.from,
        to: filter.to,
        before: paging.before,
        limit: limit + 1,
    };
    Ok(page(store.live_sessions(scope, &query)?, limit, |s| s.id.get()))
}

/// One live session with its attendees.
pub fn get_live_session<S: LearningStore + ?Sized>(
    store: &mut S,
    scope: AreaScope,
    id: LiveSessionId,
) -> Result<LiveSession, CoreError> {
    store.live_session(scope, id)?.ok_or(CoreError::NotFound(Entity::LiveSession))
}

/// Schedules a live session of a training (administrators).
pub fn create_live_session<S: LearningStore + ?Sized>(
    store: &mut S,
    clock: &dyn Clock,
    scope: AreaScope,
    training_id: TrainingId,
    title: &str,
    starts_at: OffsetDateTime,
    ends_at: OffsetDateTime,
) -> Result<LiveSession, CoreError> {
    let mut errors = Vec::new();
    let title = Name::parse("title", title).map_err(|e| errors.push(e)).ok();
    if store.training(scope, training_id)?.is_none() {
        errors.push(FieldError { field: "training_id", message: format!("no training has the id {training_id}") });
    }
    if ends_at <= starts_at {
        errors.push(FieldError { field: "ends_at", message: "must be after starts_at".to_owned() });
    }
    let Some(title) = title.filter(|_| errors.is_empty()) else { return Err(CoreError::Invalid(errors)) };
    Ok(store.insert_live_session(scope, training_id, &title, starts_at, ends_at, clock.now())?)
}

/// Records whether a user attends (or attended) a live session (administrators).
pub fn record_attendance<S: LearningStore + ?Sized>(
    store: &mut S,
    scope: AreaScope,
    session: LiveSessionId,
    user_id: UserId,
    attendance: Attendance,
) -> Result<LiveSession, CoreError> {
    get_live_session(store, scope, session)?;
    if store.user(scope, user_id)?.is_none() {
        return Err(CoreError::invalid("user_id", format!("no user has the id {user_id}")));
    }
    store.set_attendance(scope, session, user_id, attendance)?;
    get_live_session(store, scope, session)
}
