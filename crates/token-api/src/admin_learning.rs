//! The admin API for a learning area's data, under `/admin/v1/learning-areas/{area_id}/…`:
//! hierarchy levels, users, trainings, registrations (and their progress) and live sessions
//! (and their attendance). Administrators only; `learning_service::admin_scope` decides that
//! and that the area exists. Handlers parse, run one `learning_service` call in one
//! transaction, and answer with the wire shapes the integration API uses too.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use time::OffsetDateTime;
use token_core::CoreError;
use token_core::error::FieldError;
use token_core::ids::LearningAreaId;
use token_core::learning::{
    Attendance, LevelId, LiveSessionId, RegistrationId, RegistrationStatus, TrainingId, UserId,
};
use token_core::learning_service::{self, LiveSessionFilter, NewUser, Paging, RegistrationFilter};
use token_store::DbStore;

use crate::AppState;
use crate::admin::AdminSession;
use crate::error::ApiError;
use crate::learning_wire::{
    LevelWire, ListPage, LiveSessionWire, PagingQuery, RegistrationWire, TrainingWire, UserWire,
};
use crate::wire::de_rfc3339_opt;

/// Adds the routes to the `/admin/v1` scope (a scope swallows its prefix, so they must live
/// inside it): `web::scope("/admin/v1")….configure(admin_learning::routes)`.
pub(crate) fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/learning-areas/{area_id}/levels", web::get().to(list_levels))
        .route("/learning-areas/{area_id}/levels", web::post().to(create_level))
        .route("/learning-areas/{area_id}/users", web::get().to(list_users))
        .route("/learning-areas/{area_id}/users", web::post().to(create_user))
        .route("/learning-areas/{area_id}/users/{id}", web::get().to(get_user))
        .route("/learning-areas/{area_id}/trainings", web::get().to(list_trainings))
        .route("/learning-areas/{area_id}/trainings", web::post().to(create_training))
        .route("/learning-areas/{area_id}/trainings/{id}", web::get().to(get_training))
        .route("/learning-areas/{area_id}/registrations", web::get().to(list_registrations))
        .route("/learning-areas/{area_id}/registrations", web::post().to(register))
        .route("/learning-areas/{area_id}/registrations/{id}/progress", web::post().to(record_progress))
        .route("/learning-areas/{area_id}/live-sessions", web::get().to(list_live_sessions))
        .route("/learning-areas/{area_id}/live-sessions", web::post().to(create_live_session))
        .route("/learning-areas/{area_id}/live-sessions/{id}", web::get().to(get_live_session))
        .route("/learning-areas/{area_id}/live-sessions/{id}/attendees/{user_id}", web::put().to(record_attendance));
}

/// Runs one learning service call in the area's admin scope, in one transaction, on the
/// blocking pool. The scope comes first, so a manager gets 403 and an unknown area 404 before
/// any complaint about the request's fields (handlers parse into a `Result` and `?` it here).
async fn in_area<T: Send + 'static>(
    state: &web::Data<AppState>,
    session: &AdminSession,
    area_id: i64,
    f: impl FnOnce(&mut DbStore<'_>, &AppState, token_core::learning::AreaScope) -> Result<T, CoreError> + Send + 'static,
) -> Result<T, ApiError> {
    let caller = session.caller();
    crate::admin::tx(state, move |s, st| {
        let scope = learning_service::admin_scope(s, caller, LearningAreaId::new(area_id))?;
        f(s, st, scope)
    })
    .await
}

// ---------------------------------------------------------------- levels

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = CreateLevel)]
#[serde(deny_unknown_fields)]
struct CreateLevelBody {
    name: String,
    /// The level above; absent for a top level.
    parent_id: Option<i64>,
}

/// `GET …/levels`: the hierarchy, top-down by id (one page, no cursor).
#[utoipa::path(get, path = "/admin/v1/learning-areas/{area_id}/levels", tag = "learning data", security(("session" = [])), params(("area_id" = i64, Path, description = "Learning area id")), responses((status = 200, body = ListPage<LevelWire>), (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem)))]
async fn list_levels(
    state: web::Data<AppState>,
    session: AdminSession,
    area_id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let levels =
        in_area(&state, &session, area_id.into_inner(), |s, _, scope| learning_service::list_levels(s, scope)).await?;
    Ok(HttpResponse::Ok().json(ListPage { items: levels.iter().map(LevelWire::from).collect(), next_cursor: None }))
}

#[utoipa::path(post, path = "/admin/v1/learning-areas/{area_id}/levels", tag = "learning data", security(("session" = [])), params(("area_id" = i64, Path, description = "Learning area id")), request_body = CreateLevelBody, responses((status = 201, body = LevelWire), (status = 422, description = "Invalid name, or a parent_id not in this area", body = crate::error::Problem), (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem)))]
async fn create_level(
    state: web::Data<AppState>,
    session: AdminSession,
    area_id: web::Path<i64>,
    body: web::Json<CreateLevelBody>,
) -> Result<HttpResponse, ApiError> {
    let CreateLevelBody { name, parent_id } = body.into_inner();
    let level = in_area(&state, &session, area_id.into_inner(), move |s, st, scope| {
        learning_service::create_level(s, &*st.clock, scope, &name, parent_id.map(LevelId::new))
    })
    .await?;
    Ok(HttpResponse::Created().json(LevelWire::from(&level)))
}

// ---------------------------------------------------------------- users

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = CreateUser)]
#[serde(deny_unknown_fields)]
struct CreateUserBody {
    name: String,
    /// Unique within the learning area.
    email: String,
    level_id: Option<i64>,
}

#[utoipa::path(get, path = "/admin/v1/learning-areas/{area_id}/users", tag = "learning data", security(("session" = [])), params(("area_id" = i64, Path, description = "Learning area id"), PagingQuery), responses((status = 200, description = "Newest first; pass next_cursor as before for the next page", body = ListPage<UserWire>), (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem)))]
async fn list_users(
    state: web::Data<AppState>,
    session: AdminSession,
    area_id: web::Path<i64>,
    query: web::Query<PagingQuery>,
) -> Result<HttpResponse, ApiError> {
    let paging = Paging::from(query.into_inner());
    let page = in_area(&state, &session, area_id.into_inner(), move |s, _, scope| {
        learning_service::list_users(s, scope, paging)
    })
    .await?;
    Ok(HttpResponse::Ok().json(ListPage::<UserWire>::of(page)))
}

#[utoipa::path(post, path = "/admin/v1/learning-areas/{area_id}/users", tag = "learning data", security(("session" = [])), params(("area_id" = i64, Path, description = "Learning area id")), request_body = CreateUserBody, responses((status = 201, body = UserWire), (status = 409, description = "A user with this email exists in this area", body = crate::error::Problem), (status = 422, body = crate::error::Problem), (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem)))]
async fn create_user(
    state: web::Data<AppState>,
    session: AdminSession,
    area_id: web::Path<i64>,
    body: web::Json<CreateUserBody>,
) -> Result<HttpResponse, ApiError> {
    let CreateUserBody { name, email, level_id } = body.into_inner();
    let new = NewUser { name, email, level_id: level_id.map(LevelId::new) };
    let user = in_area(&state, &session, area_id.into_inner(), move |s, st, scope| {
        learning_service::create_user(s, &*st.clock, scope, new)
    })
    .await?;
    Ok(HttpResponse::Created().json(UserWire::from(&user)))
}

#[utoipa::path(get, path = "/admin/v1/learning-areas/{area_id}/users/{id}", tag = "learning data", security(("session" = [])), params(("area_id" = i64, Path, description = "Learning area id"), ("id" = i64, Path, description = "User id")), responses((status = 200, body = UserWire), (status = 403, body = crate::error::Problem), (status = 404, description = "No such area, or no such user in it", body = crate::error::Problem)))]
async fn get_user(
    state: web::Data<AppState>,
    session: AdminSession,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (area_id, id) = path.into_inner();
    let user =
        in_area(&state, &session, area_id, move |s, _, scope| learning_service::get_user(s, scope, UserId::new(id)))
            .await?;
    Ok(HttpResponse::Ok().json(UserWire::from(&user)))
}

// ---------------------------------------------------------------- trainings

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = CreateTraining)]
#[serde(deny_unknown_fields)]
struct CreateTrainingBody {
    title: String,
    /// At most 10000 characters; empty when absent.
    description: Option<String>,
    /// The level that owns it.
    level_id: Option<i64>,
}

#[utoipa::path(get, path = "/admin/v1/learning-areas/{area_id}/trainings", tag = "learning data", security(("session" = [])), params(("area_id" = i64, Path, description = "Learning area id"), PagingQuery), responses((status = 200, description = "Newest first; pass next_cursor as before for the next page", body = ListPage<TrainingWire>), (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem)))]
async fn list_trainings(
    state: web::Data<AppState>,
    session: AdminSession,
    area_id: web::Path<i64>,
    query: web::Query<PagingQuery>,
) -> Result<HttpResponse, ApiError> {
    let paging = Paging::from(query.into_inner());
    let page = in_area(&state, &session, area_id.into_inner(), move |s, _, scope| {
        learning_service::list_trainings(s, scope, paging)
    })
    .await?;
    Ok(HttpResponse::Ok().json(ListPage::<TrainingWire>::of(page)))
}

#[utoipa::path(post, path = "/admin/v1/learning-areas/{area_id}/trainings", tag = "learning data", security(("session" = [])), params(("area_id" = i64, Path, description = "Learning area id")), request_body = CreateTrainingBody, responses((status = 201, body = TrainingWire), (status = 422, body = crate::error::Problem), (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem)))]
async fn create_training(
    state: web::Data<AppState>,
    session: AdminSession,
    area_id: web::Path<i64>,
    body: web::Json<CreateTrainingBody>,
) -> Result<HttpResponse, ApiError> {
    let CreateTrainingBody { title, description, level_id } = body.into_inner();
    let training = in_area(&state, &session, area_id.into_inner(), move |s, st, scope| {
        let description = description.unwrap_or_default();
        learning_service::create_training(s, &*st.clock, scope, &title, &description, level_id.map(LevelId::new))
    })
    .await?;
    Ok(HttpResponse::Created().json(TrainingWire::from(&training)))
}

#[utoipa::path(get, path = "/admin/v1/learning-areas/{area_id}/trainings/{id}", tag = "learning data", security(("session" = [])), params(("area_id" = i64, Path, description = "Learning area id"), ("id" = i64, Path, description = "Training id")), responses((status = 200, body = TrainingWire), (status = 403, body = crate::error::Problem), (status = 404, description = "No such area, or no such training in it", body = crate::error::Problem)))]
async fn get_training(
    state: web::Data<AppState>,
    session: AdminSession,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (area_id, id) = path.into_inner();
    let training = in_area(&state, &session, area_id, move |s, _, scope| {
        learning_service::get_training(s, scope, TrainingId::new(id))
    })
    .await?;
    Ok(HttpResponse::Ok().json(TrainingWire::from(&training)))
}

// ---------------------------------------------------------------- registrations

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct RegistrationsQuery {
    /// Only this training.
    training_id: Option<i64>,
    /// Only this user.
    user_id: Option<i64>,
    /// `not_started`, `in_progress` or `completed`.
    status: Option<String>,
    /// Only registered at or after (RFC 3339).
    #[serde(default, deserialize_with = "de_rfc3339_opt")]
    #[param(value_type = Option<String>, format = DateTime)]
    since: Option<OffsetDateTime>,
    /// The previous page's `next_cursor`.
    before: Option<i64>,
    /// Page size, 1 to 500 (default 50).
    limit: Option<u32>,
}

#[utoipa::path(get, path = "/admin/v1/learning-areas/{area_id}/registrations", tag = "learning data", security(("session" = [])), params(("area_id" = i64, Path, description = "Learning area id"), RegistrationsQuery), responses((status = 200, description = "Newest first; pass next_cursor as before for the next page", body = ListPage<RegistrationWire>), (status = 422, body = crate::error::Problem), (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem)))]
async fn list_registrations(
    state: web::Data<AppState>,
    session: AdminSession,
    area_id: web::Path<i64>,
    query: web::Query<RegistrationsQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let status = q
        .status
        .map(|raw| {
            RegistrationStatus::parse(&raw)
                .ok_or_else(|| CoreError::invalid("status", "must be not_started, in_progress or completed"))
        })
        .transpose();
    let paging = Paging { before: q.before, limit: q.limit };
    let page = in_area(&state, &session, area_id.into_inner(), move |s, _, scope| {
        let filter = RegistrationFilter {
            training_id: q.training_id.map(TrainingId::new),
            user_id: q.user_id.map(UserId::new),
            status: status?,
            since: q.since,
        };
        learning_service::list_registrations(s, scope, filter, paging)
    })
    .await?;
    Ok(HttpResponse::Ok().json(ListPage::<RegistrationWire>::of(page)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = CreateRegistration)]
#[serde(deny_unknown_fields)]
struct RegisterBody {
    user_id: Option<i64>,
    training_id: Option<i64>,
}

#[utoipa::path(post, path = "/admin/v1/learning-areas/{area_id}/registrations", tag = "learning data", security(("session" = [])), params(("area_id" = i64, Path, description = "Learning area id")), request_body = RegisterBody, responses((status = 201, description = "Registered", body = RegistrationWire), (status = 200, description = "Already registered: the existing registration", body = RegistrationWire), (status = 422, description = "Missing user_id or training_id, or one not in this area", body = crate::error::Problem), (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem)))]
async fn register(
    state: web::Data<AppState>,
    session: AdminSession,
    area_id: web::Path<i64>,
    body: web::Json<RegisterBody>,
) -> Result<HttpResponse, ApiError> {
    let RegisterBody { user_id, training_id } = body.into_inner();
    let (registration, created) = in_area(&state, &session, area_id.into_inner(), move |s, st, scope| {
        learning_service::register(s, &*st.clock, scope, user_id.map(UserId::new), training_id.map(TrainingId::new))
    })
    .await?;
    let mut response = if created { HttpResponse::Created() } else { HttpResponse::Ok() };
    Ok(response.json(RegistrationWire::from(&registration)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = RecordProgress)]
#[serde(deny_unknown_fields)]
struct ProgressBody {
    /// 0 to 100; 100 completes the registration (`completed_at` is stamped the first time).
    progress: i64,
    /// 0 to 100; absent keeps the current score.
    score: Option<i64>,
}

/// A percentage as the core takes it; anything outside 0..=255 becomes 255, which the core
/// refuses with its own "must be between 0 and 100".
fn percent(raw: i64) -> u8 {
    u8::try_from(raw).unwrap_or(u8::MAX)
}

#[utoipa::path(post, path = "/admin/v1/learning-areas/{area_id}/registrations/{id}/progress", tag = "learning data", security(("session" = [])), params(("area_id" = i64, Path, description = "Learning area id"), ("id" = i64, Path, description = "Registration id")), request_body = ProgressBody, responses((status = 200, description = "The updated registration; progress 100 marks it completed", body = RegistrationWire), (status = 422, body = crate::error::Problem), (status = 403, body = crate::error::Problem), (status = 404, description = "No such area, or no such registration in it", body = crate::error::Problem)))]
async fn record_progress(
    state: web::Data<AppState>,
    session: AdminSession,
    path: web::Path<(i64, i64)>,
    body: web::Json<ProgressBody>,
) -> Result<HttpResponse, ApiError> {
    let (area_id, id) = path.into_inner();
    let ProgressBody { progress, score } = body.into_inner();
    let registration = in_area(&state, &session, area_id, move |s, st, scope| {
        learning_service::record_progress(
            s,
            &*st.clock,
            scope,
            RegistrationId::new(id),
            percent(progress),
            score.map(percent),
        )
    })
    .await?;
    Ok(HttpResponse::Ok().json(RegistrationWire::from(&registration)))
}

// ---------------------------------------------------------------- live sessions

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct LiveSessionsQuery {
    /// Only this training.
    training_id: Option<i64>,
    /// Only sessions starting at or after (RFC 3339).
    #[serde(default, deserialize_with = "de_rfc3339_opt")]
    #[param(value_type = Option<String>, format = DateTime)]
    from: Option<OffsetDateTime>,
    /// Only sessions starting before (RFC 3339).
    #[serde(default, deserialize_with = "de_rfc3339_opt")]
    #[param(value_type = Option<String>, format = DateTime)]
    to: Option<OffsetDateTime>,
    /// The previous page's `next_cursor`.
    before: Option<i64>,
    /// Page size, 1 to 500 (default 50).
    limit: Option<u32>,
}

#[utoipa::path(get, path = "/admin/v1/learning-areas/{area_id}/live-sessions", tag = "learning data", security(("session" = [])), params(("area_id" = i64, Path, description = "Learning area id"), LiveSessionsQuery), responses((status = 200, description = "Newest first, without attendees; pass next_cursor as before for the next page", body = ListPage<LiveSessionWire>), (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem)))]
async fn list_live_sessions(
    state: web::Data<AppState>,
    session: AdminSession,
    area_id: web::Path<i64>,
    query: web::Query<LiveSessionsQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let filter = LiveSessionFilter { training_id: q.training_id.map(TrainingId::new), from: q.from, to: q.to };
    let paging = Paging { before: q.before, limit: q.limit };
    let page = in_area(&state, &session, area_id.into_inner(), move |s, _, scope| {
        learning_service::list_live_sessions(s, scope, filter, paging)
    })
    .await?;
    Ok(HttpResponse::Ok().json(ListPage::<LiveSessionWire>::of(page)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = CreateLiveSession)]
#[serde(deny_unknown_fields)]
struct CreateLiveSessionBody {
    training_id: i64,
    title: String,
    /// RFC 3339; required.
    #[serde(default, deserialize_with = "de_rfc3339_opt")]
    #[schema(value_type = String, format = DateTime, required = true)]
    starts_at: Option<OffsetDateTime>,
    /// RFC 3339, after `starts_at`; required.
    #[serde(default, deserialize_with = "de_rfc3339_opt")]
    #[schema(value_type = String, format = DateTime, required = true)]
    ends_at: Option<OffsetDateTime>,
}

/// Both times, or an invalid-input error naming each missing one.
fn required_times(
    starts_at: Option<OffsetDateTime>,
    ends_at: Option<OffsetDateTime>,
) -> Result<(OffsetDateTime, OffsetDateTime), CoreError> {
    match (starts_at, ends_at) {
        (Some(starts_at), Some(ends_at)) => Ok((starts_at, ends_at)),
        _ => Err(CoreError::Invalid(
            [("starts_at", starts_at.is_none()), ("ends_at", ends_at.is_none())]
                .into_iter()
                .filter(|(_, missing)| *missing)
                .map(|(field, _)| FieldError { field, message: "is required".to_owned() })
                .collect(),
        )),
    }
}

#[utoipa::path(post, path = "/admin/v1/learning-areas/{area_id}/live-sessions", tag = "learning data", security(("session" = [])), params(("area_id" = i64, Path, description = "Learning area id")), request_body = CreateLiveSessionBody, responses((status = 201, description = "Scheduled (no attendees yet)", body = LiveSessionWire), (status = 422, description = "Invalid title or times, or a training not in this area", body = crate::error::Problem), (status = 403, body = crate::error::Problem), (status = 404, body = crate::error::Problem)))]
async fn create_live_session(
    state: web::Data<AppState>,
    session: AdminSession,
    area_id: web::Path<i64>,
    body: web::Json<CreateLiveSessionBody>,
) -> Result<HttpResponse, ApiError> {
    let CreateLiveSessionBody { training_id, title, starts_at, ends_at } = body.into_inner();
    let live = in_area(&state, &session, area_id.into_inner(), move |s, st, scope| {
        let (starts_at, ends_at) = required_times(starts_at, ends_at)?;
        learning_service::create_live_session(
            s,
            &*st.clock,
            scope,
            TrainingId::new(training_id),
            &title,
            starts_at,
            ends_at,
        )
    })
    .await?;
    Ok(HttpResponse::Created().json(LiveSessionWire::detailed(&live)))
}

#[utoipa::path(get, path = "/admin/v1/learning-areas/{area_id}/live-sessions/{id}", tag = "learning data", security(("session" = [])), params(("area_id" = i64, Path, description = "Learning area id"), ("id" = i64, Path, description = "Live session id")), responses((status = 200, description = "With its attendees", body = LiveSessionWire), (status = 403, body = crate::error::Problem), (status = 404, description = "No such area, or no such live session in it", body = crate::error::Problem)))]
async fn get_live_session(
    state: web::Data<AppState>,
    session: AdminSession,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, ApiError> {
    let (area_id, id) = path.into_inner();
    let live = in_area(&state, &session, area_id, move |s, _, scope| {
        learning_service::get_live_session(s, scope, LiveSessionId::new(id))
    })
    .await?;
    Ok(HttpResponse::Ok().json(LiveSessionWire::detailed(&live)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = RecordAttendance)]
#[serde(deny_unknown_fields)]
struct AttendanceBody {
    /// `registered`, `attended` or `absent`.
    attendance: String,
}

#[utoipa::path(put, path = "/admin/v1/learning-areas/{area_id}/live-sessions/{id}/attendees/{user_id}", tag = "learning data", security(("session" = [])), params(("area_id" = i64, Path, description = "Learning area id"), ("id" = i64, Path, description = "Live session id"), ("user_id" = i64, Path, description = "User id")), request_body = AttendanceBody, responses((status = 200, description = "Added or updated; the session with its attendees", body = LiveSessionWire), (status = 422, description = "Unknown attendance, or a user not in this area", body = crate::error::Problem), (status = 403, body = crate::error::Problem), (status = 404, description = "No such area, or no such live session in it", body = crate::error::Problem)))]
async fn record_attendance(
    state: web::Data<AppState>,
    session: AdminSession,
    path: web::Path<(i64, i64, i64)>,
    body: web::Json<AttendanceBody>,
) -> Result<HttpResponse, ApiError> {
    let (area_id, id, user_id) = path.into_inner();
    let attendance = Attendance::parse(&body.attendance)
        .ok_or_else(|| CoreError::invalid("attendance", "must be registered, attended or absent"));
    let live = in_area(&state, &session, area_id, move |s, _, scope| {
        let attendance = attendance?;
        learning_service::record_attendance(s, scope, LiveSessionId::new(id), UserId::new(user_id), attendance)
    })
    .await?;
    Ok(HttpResponse::Ok().json(LiveSessionWire::detailed(&live)))
}
