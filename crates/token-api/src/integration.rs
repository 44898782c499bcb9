//! The integration API under `/api/v1`, for Zapier and other clients holding a bearer token.
//! [`Authenticated`] is the only way into it: it validates the bearer token and yields the
//! principal with its learning area, which scoped store functions require.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use token_core::CoreError;
use token_core::learning::{AreaScope, LevelId, LiveSessionId, RegistrationStatus, TrainingId, UserId};
use token_core::learning_service::{self, CompletionCursor, LiveSessionFilter, NewUser, Paging, RegistrationFilter};
use token_oauth::{BearerError, Principal};

use crate::AppState;
use crate::error::ApiError;
use crate::learning_wire::{
    ListPage, LiveSessionWire, PagingQuery, RegistrationWire, StatisticsWire, TrainingWire, UserWire,
};

pub(crate) fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/api/v1")
            .route("/me", web::get().to(me))
            .route("/users", web::get().to(list_users))
            .route("/users", web::post().to(create_user))
            .route("/users/{id}", web::get().to(get_user))
            .route("/trainings", web::get().to(list_trainings))
            .route("/trainings/{id}", web::get().to(get_training))
            .route("/trainings/{id}/statistics", web::get().to(training_statistics))
            .route("/registrations", web::get().to(list_registrations))
            .route("/registrations", web::post().to(register))
            .route("/completions", web::get().to(list_completions))
            .route("/live-sessions", web::get().to(list_live_sessions))
            .route("/live-sessions/{id}", web::get().to(get_live_session)),
    );
}

/// A request whose bearer token is valid right now. Every failure is a 401 with an RFC 6750
/// challenge, never 400 or 403: Zapier re-runs the token exchange on a 401, and only on a 401.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Principal);

fn bearer_of(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else { return Ok(None) };
    let value = value.to_str().map_err(|_| ApiError::Bearer(BearerError::InvalidToken))?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => Ok(Some(token.trim().to_owned())),
        _ => Err(ApiError::Bearer(BearerError::InvalidToken)),
    }
}

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let presented = bearer_of(req);
        let state = match (state, presented) {
            (None, _) => return Box::pin(std::future::ready(Err(ApiError::Overloaded))),
            (_, Err(e)) => return Box::pin(std::future::ready(Err(e))),
            (Some(state), Ok(presented)) => {
                // Most requests are answered from the validation lease, on this thread.
                if let Some(answer) = state.authority.validate_bearer_in_memory(&*state.clock, presented.as_deref()) {
                    return Box::pin(std::future::ready(answer.map(Authenticated).map_err(ApiError::from)));
                }
                (state, presented)
            }
        };
        Box::pin(async move {
            let (state, presented) = state;
            let principal =
                web::block(move || state.authority.validate_bearer(&state.db, &*state.clock, presented.as_deref()))
                    .await??;
            Ok(Authenticated(principal))
        })
    }
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = MeAreaRef)]
struct AreaRef {
    id: i64,
    name: String,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = MeTokenRef)]
struct TokenRef {
    name: String,
    client_id: String,
    #[serde(serialize_with = "crate::wire::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    expires_at: OffsetDateTime,
}

#[derive(Serialize, utoipa::ToSchema)]
struct Me {
    learning_area: AreaRef,
    access_token: TokenRef,
}

/// `GET /api/v1/me`: the connection test; Zapier builds its connection label from it.
#[utoipa::path(get, path = "/api/v1/me", tag = "integration", security(("bearer" = [])), responses((status = 200, description = "The connection test: the token's learning area and name", body = Me), (status = 401, description = "Missing, expired, revoked or unknown bearer token", body = crate::error::Problem)))]
pub(crate) async fn me(auth: Authenticated) -> HttpResponse {
    let p = auth.0;
    HttpResponse::Ok().json(Me {
        learning_area: AreaRef { id: p.learning_area.id.get(), name: p.learning_area.name.to_string() },
        access_token: TokenRef {
            name: p.token_name.to_string(),
            client_id: p.client_id.to_string(),
            expires_at: p.access_token_expires_at,
        },
    })
}

// ---------------------------------------------------------------- the learning area's data
//
// Every handler below takes `Authenticated` and passes its scope to a `learning_service`
// function; none of them names a learning area itself.

/// Runs a read in the principal's scope.
async fn read<T: Send + 'static>(
    state: web::Data<AppState>,
    auth: Authenticated,
    f: impl FnOnce(&mut token_store::DbStore<'_>, AreaScope) -> Result<T, CoreError> + Send + 'static,
) -> Result<T, ApiError> {
    let scope = auth.0.area_scope();
    Ok(web::block(move || state.db.run(|store| f(store, scope))).await??)
}

/// Runs a write in the principal's scope, in one transaction.
async fn write<T: Send + 'static>(
    state: web::Data<AppState>,
    auth: Authenticated,
    f: impl FnOnce(&mut token_store::DbStore<'_>, &dyn token_core::clock::Clock, AreaScope) -> Result<T, CoreError>
    + Send
    + 'static,
) -> Result<T, ApiError> {
    let scope = auth.0.area_scope();
    Ok(web::block(move || state.db.transaction(|store| f(store, &*state.clock, scope))).await??)
}

#[utoipa::path(get, path = "/api/v1/users", tag = "integration", security(("bearer" = [])), params(PagingQuery),
    responses((status = 200, description = "Users of the token's learning area, newest first", body = ListPage<UserWire>), (status = 401, body = crate::error::Problem)))]
async fn list_users(
    state: web::Data<AppState>,
    auth: Authenticated,
    query: web::Query<PagingQuery>,
) -> Result<HttpResponse, ApiError> {
    let paging = Paging::from(query.into_inner());
    let page = read(state, auth, move |s, scope| learning_service::list_users(s, scope, paging)).await?;
    Ok(HttpResponse::Ok().json(ListPage::<UserWire>::of(page)))
}

#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "integration", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = UserWire), (status = 404, description = "No such user in the token's learning area", body = crate::error::Problem)))]
async fn get_user(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = UserId::new(id.into_inner());
    let user = read(state, auth, move |s, scope| learning_service::get_user(s, scope, id)).await?;
    Ok(HttpResponse::Ok().json(UserWire::from(&user)))
}

/// A new user.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = NewUser)]
#[serde(deny_unknown_fields)]
struct NewUserBody {
    name: String,
    email: String,
    level_id: Option<i64>,
}

#[utoipa::path(post, path = "/api/v1/users", tag = "integration", security(("bearer" = [])), request_body = NewUserBody,
    responses((status = 201, body = UserWire), (status = 409, description = "The email is taken in this learning area", body = crate::error::Problem), (status = 422, body = crate::error::Problem)))]
async fn create_user(
    state: web::Data<AppState>,
    auth: Authenticated,
    body: web::Json<NewUserBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let new = NewUser { name: body.name, email: body.email, level_id: body.level_id.map(LevelId::new) };
    let user = write(state, auth, move |s, clock, scope| learning_service::create_user(s, clock, scope, new)).await?;
    Ok(HttpResponse::Created().json(UserWire::from(&user)))
}

#[utoipa::path(get, path = "/api/v1/trainings", tag = "integration", security(("bearer" = [])), params(PagingQuery),
    responses((status = 200, description = "Newest first", body = ListPage<TrainingWire>), (status = 401, body = crate::error::Problem)))]
async fn list_trainings(
    state: web::Data<AppState>,
    auth: Authenticated,
    query: web::Query<PagingQuery>,
) -> Result<HttpResponse, ApiError> {
    let paging = Paging::from(query.into_inner());
    let page = read(state, auth, move |s, scope| learning_service::list_trainings(s, scope, paging)).await?;
    Ok(HttpResponse::Ok().json(ListPage::<TrainingWire>::of(page)))
}

#[utoipa::path(get, path = "/api/v1/trainings/{id}", tag = "integration", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = TrainingWire), (status = 404, body = crate::error::Problem)))]
async fn get_training(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = TrainingId::new(id.into_inner());
    let training = read(state, auth, move |s, scope| learning_service::get_training(s, scope, id)).await?;
    Ok(HttpResponse::Ok().json(TrainingWire::from(&training)))
}

#[utoipa::path(get, path = "/api/v1/trainings/{id}/statistics", tag = "integration", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = StatisticsWire), (status = 404, body = crate::error::Problem)))]
async fn training_statistics(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = TrainingId::new(id.into_inner());
    let stats = read(state, auth, move |s, scope| learning_service::training_statistics(s, scope, id)).await?;
    Ok(HttpResponse::Ok().json(StatisticsWire::new(id.get(), &stats)))
}

/// Registration filters.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct RegistrationParams {
    training_id: Option<i64>,
    user_id: Option<i64>,
    /// `not_started`, `in_progress` or `completed`.
    status: Option<String>,
    /// Registered at or after (RFC 3339).
    #[serde(default, deserialize_with = "crate::wire::de_rfc3339_opt")]
    #[param(value_type = Option<String>, format = DateTime)]
    since: Option<OffsetDateTime>,
    limit: Option<u32>,
    before: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/registrations", tag = "integration", security(("bearer" = [])), params(RegistrationParams),
    responses((status = 200, description = "Newest first", body = ListPage<RegistrationWire>), (status = 422, body = crate::error::Problem)))]
async fn list_registrations(
    state: web::Data<AppState>,
    auth: Authenticated,
    query: web::Query<RegistrationParams>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let status = match q.status.as_deref() {
        None => None,
        Some(raw) => Some(
            RegistrationStatus::parse(raw)
                .ok_or_else(|| CoreError::invalid("status", "must be not_started, in_progress or completed"))?,
        ),
    };
    let filter = RegistrationFilter {
        training_id: q.training_id.map(TrainingId::new),
        user_id: q.user_id.map(UserId::new),
        status,
        since: q.since,
    };
    let paging = Paging { before: q.before, limit: q.limit };
    let page =
        read(state, auth, move |s, scope| learning_service::list_registrations(s, scope, filter, paging)).await?;
    Ok(HttpResponse::Ok().json(ListPage::<RegistrationWire>::of(page)))
}

/// A registration request.
#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = NewRegistration)]
#[serde(deny_unknown_fields)]
struct RegisterBody {
    user_id: Option<i64>,
    training_id: Option<i64>,
}

#[utoipa::path(post, path = "/api/v1/registrations", tag = "integration", security(("bearer" = [])), request_body = RegisterBody,
    responses((status = 201, description = "Registered", body = RegistrationWire), (status = 200, description = "Already registered: the existing registration", body = RegistrationWire), (status = 422, description = "Unknown user or training (including another learning area's)", body = crate::error::Problem)))]
async fn register(
    state: web::Data<AppState>,
    auth: Authenticated,
    body: web::Json<RegisterBody>,
) -> Result<HttpResponse, ApiError> {
    let user = body.user_id.map(UserId::new);
    let training = body.training_id.map(TrainingId::new);
    let (registration, created) =
        write(state, auth, move |s, clock, scope| learning_service::register(s, clock, scope, user, training)).await?;
    let mut response = if created { HttpResponse::Created() } else { HttpResponse::Ok() };
    Ok(response.json(RegistrationWire::from(&registration)))
}

/// Completion filters.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct CompletionParams {
    /// Completed at or after (RFC 3339).
    #[serde(default, deserialize_with = "crate::wire::de_rfc3339_opt")]
    #[param(value_type = Option<String>, format = DateTime)]
    since: Option<OffsetDateTime>,
    limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    before: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/completions", tag = "integration", security(("bearer" = [])), params(CompletionParams),
    responses((status = 200, description = "Completed registrations, newest completion first", body = ListPage<RegistrationWire>)))]
async fn list_completions(
    state: web::Data<AppState>,
    auth: Authenticated,
    query: web::Query<CompletionParams>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let before = q.before.as_deref().map(CompletionCursor::decode).transpose()?;
    let (items, next) =
        read(state, auth, move |s, scope| learning_service::list_completions(s, scope, q.since, before, q.limit))
            .await?;
    Ok(HttpResponse::Ok().json(ListPage {
        items: items.iter().map(RegistrationWire::from).collect(),
        next_cursor: next.map(CompletionCursor::encode),
    }))
}

/// Live session filters.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct LiveSessionParams {
    training_id: Option<i64>,
    /// Starting at or after (RFC 3339).
    #[serde(default, deserialize_with = "crate::wire::de_rfc3339_opt")]
    #[param(value_type = Option<String>, format = DateTime)]
    from: Option<OffsetDateTime>,
    /// Starting before (RFC 3339).
    #[serde(default, deserialize_with = "crate::wire::de_rfc3339_opt")]
    #[param(value_type = Option<String>, format = DateTime)]
    to: Option<OffsetDateTime>,
    limit: Option<u32>,
    before: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/live-sessions", tag = "integration", security(("bearer" = [])), params(LiveSessionParams),
    responses((status = 200, description = "Newest first", body = ListPage<LiveSessionWire>)))]
async fn list_live_sessions(
    state: web::Data<AppState>,
    auth: Authenticated,
    query: web::Query<LiveSessionParams>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let filter = LiveSessionFilter { training_id: q.training_id.map(TrainingId::new), from: q.from, to: q.to };
    let paging = Paging { before: q.before, limit: q.limit };
    let page =
        read(state, auth, move |s, scope| learning_service::list_live_sessions(s, scope, filter, paging)).await?;
    Ok(HttpResponse::Ok().json(ListPage::<LiveSessionWire>::of(page)))
}

#[utoipa::path(get, path = "/api/v1/live-sessions/{id}", tag = "integration", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, description = "With attendees", body = LiveSessionWire), (status = 404, body = crate::error::Problem)))]
async fn get_live_session(
    state: web::Data<AppState>,
    auth: Authenticated,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = LiveSessionId::new(id.into_inner());
    let session = read(state, auth, move |s, scope| learning_service::get_live_session(s, scope, id)).await?;
    Ok(HttpResponse::Ok().json(LiveSessionWire::detailed(&session)))
}
