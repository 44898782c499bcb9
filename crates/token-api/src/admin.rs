//! The admin JSON API under `/admin/v1`: sessions, accounts, learning areas, access tokens and
//! the audit log. Handlers parse, run one `token-core` service in one transaction, and convert
//! the result to its wire shape. Who may do what is decided in `token-core`, not here.

use std::future::Future;
use std::pin::Pin;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::{Method, header};
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use token_core::CoreError;
use token_core::ids::{AccessTokenId, AccountId, LearningAreaId};
use token_core::model::{Account, LearningArea, Role, StatusFilter, TokenStatus};
use token_core::secret::Password;
use token_core::service::{self, AccessTokenDetails, Caller, Page};
use token_core::store::StoredAuditEvent;
use token_store::DbStore;

use crate::AppState;
use crate::error::ApiError;
use crate::wire::{de_rfc3339_opt, rfc3339, rfc3339_opt};

/// The session cookie the backoffice page uses (HttpOnly, SameSite=Strict).
pub const SESSION_COOKIE: &str = "tokend_session";
/// The header that must echo the session's CSRF token on cookie-authenticated writes.
pub const CSRF_HEADER: &str = "x-csrf-token";

pub(crate) fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/admin/v1")
            .route("/session", web::post().to(login))
            .route("/session", web::delete().to(logout))
            .route("/session", web::get().to(whoami))
            .route("/accounts", web::get().to(list_accounts))
            .route("/accounts", web::post().to(create_account))
            .route("/accounts/{id}", web::patch().to(change_role))
            .route("/accounts/{id}/deactivate", web::post().to(deactivate_account))
            .route("/learning-areas", web::get().to(list_learning_areas))
            .route("/learning-areas", web::post().to(create_learning_area))
            .route("/learning-areas/{id}", web::get().to(get_learning_area))
            .route("/learning-areas/{id}", web::patch().to(rename_learning_area))
            .route("/access-tokens", web::get().to(list_access_tokens))
            .route("/access-tokens", web::post().to(create_access_token))
            .route("/access-tokens/{id}", web::get().to(get_access_token))
            .route("/access-tokens/{id}", web::patch().to(edit_access_token))
            .route("/access-tokens/{id}/revoke", web::post().to(revoke_access_token))
            .route("/audit-events", web::get().to(list_audit_events))
            .configure(crate::admin_learning::routes),
    );
}

/// Runs one service call in one transaction on the blocking pool. A call that moved the
/// credential epoch (a revocation, a deactivation, a rename…) answers only after the
/// authority's revocation fence, so no instance still validates from a cache filled before it.
pub(crate) async fn tx<T: Send + 'static>(
    state: &web::Data<AppState>,
    f: impl FnOnce(&mut DbStore<'_>, &AppState) -> Result<T, CoreError> + Send + 'static,
) -> Result<T, ApiError> {
    let state = state.clone();
    let (value, fence) = web::block(move || {
        state.db.transaction(|store| state.authority.lease_config().fenced(store, |store| f(store, &state)))
    })
    .await??;
    if !fence.is_zero() {
        actix_web::rt::time::sleep(fence).await;
    }
    Ok(value)
}

/// Runs one read-only service call on one connection without a transaction: on SQLite a
/// transaction would take the write lock and queue every list behind every write.
async fn read<T: Send + 'static>(
    state: &web::Data<AppState>,
    f: impl FnOnce(&mut DbStore<'_>, &AppState) -> Result<T, CoreError> + Send + 'static,
) -> Result<T, ApiError> {
    let state = state.clone();
    Ok(web::block(move || state.db.run(|store| f(store, &state))).await??)
}

// ---------------------------------------------------------------- authentication

/// A signed-in account: from `Authorization: Bearer tka_…` or from the session cookie. A
/// cookie-authenticated write must echo the CSRF token in `X-CSRF-Token` (the cookie is
/// SameSite=Strict already; the header is the second lock).
#[derive(Debug, Clone)]
pub struct AdminSession {
    /// The account.
    pub account: Account,
    token: String,
}

impl AdminSession {
    pub(crate) fn caller(&self) -> Caller {
        Caller::Account(self.account.id)
    }
}

/// The CSRF token of a session: derived from the session token, so nothing more is stored.
pub fn csrf_token(session_token: &str) -> String {
    let digest = token_core::secret::fast_hash(&format!("csrf:{session_token}"));
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

fn session_token(req: &HttpRequest) -> Result<Option<(String, bool)>, ApiError> {
    if let Some(value) = req.headers().get(header::AUTHORIZATION) {
        let value = value.to_str().map_err(|_| CoreError::Unauthenticated)?;
        return match value.split_once(' ') {
            Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => {
                Ok(Some((token.trim().to_owned(), false)))
            }
            _ => Err(CoreError::Unauthenticated.into()),
        };
    }
    Ok(req.cookie(SESSION_COOKIE).map(|c| (c.value().to_owned(), true)))
}

impl FromRequest for AdminSession {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let presented = session_token(req);
        let unsafe_method = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
        let csrf = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
        Box::pin(async move {
            let state = state.ok_or(ApiError::Overloaded)?;
            let (token, from_cookie) = presented?.ok_or(CoreError::Unauthenticated)?;
            if from_cookie && unsafe_method && csrf.as_deref() != Some(csrf_token(&token).as_str()) {
                return Err(ApiError::Csrf);
            }
            let presented = token.clone();
            let account =
                web::block(move || state.db.run(|s| service::authenticate_session(s, &*state.clock, &presented)))
                    .await??;
            Ok(AdminSession { account, token })
        })
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = Login)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    email: String,
    password: String,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Session)]
struct LoginResponse {
    token: String,
    csrf_token: String,
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    expires_at: OffsetDateTime,
    account: AccountWire,
}

/// `POST /admin/v1/session`. Failures for an email are slowed after three and refused for a
/// window after five; the answer is the same whether or not the email exists.
#[utoipa::path(post, path = "/admin/v1/session", tag = "sessions", request_body = LoginBody, responses((status = 200, description = "Signed in; also sets the HttpOnly session cookie", body = LoginResponse), (status = 401, description = "Wrong email or password, or a deactivated account", body = crate::error::Problem), (status = 429, description = "Too many failed sign-ins for this email, or every password verification busy; see Retry-After", body = crate::error::Problem)))]
async fn login(state: web::Data<AppState>, body: web::Json<LoginBody>) -> Result<HttpResponse, ApiError> {
    let LoginBody { email, password } = body.into_inner();
    let key = email.trim().to_lowercase();
    let now = state.clock.now();
    if let Err(retry_after_secs) = state.login_throttle.check(&key, now) {
        return Err(ApiError::TooManyAttempts { retry_after_secs });
    }
    let password = Password::presented(&password);
    // Three steps, so argon2 runs with no transaction (on SQLite: no write lock) held.
    let candidate = read(&state, move |s, _| service::find_login(s, &email)).await?;
    let verifier = state.clone();
    let (candidate, verified) = web::block(move || {
        let verified = verifier.authority.verify_password(candidate.password_hash(), password.expose());
        verified.map(|verified| (candidate, verified))
    })
    .await?
    .ok_or(ApiError::TooManyAttempts { retry_after_secs: 1 })?;
    let result = tx(&state, move |s, st| service::complete_login(s, &*st.clock, candidate, verified)).await;
    let session = match result {
        Ok(session) => session,
        Err(ApiError::Core(CoreError::BadCredentials)) => {
            state.login_throttle.record_failure(&key, now);
            if state.login_throttle.failures(&key) >= 3 {
                actix_web::rt::time::sleep(std::time::Duration::from_secs(1)).await;
            }
            return Err(ApiError::Core(CoreError::BadCredentials));
        }
        Err(other) => return Err(other),
    };
    state.login_throttle.record_success(&key);
    let token = session.token.expose().to_owned();
    let secure = state.public_url.as_deref().is_some_and(|u| u.starts_with("https://"));
    let cookie = Cookie::build(SESSION_COOKIE, token.clone())
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Strict)
        .max_age(actix_web::cookie::time::Duration::seconds(service::SESSION_LIFETIME.whole_seconds()))
        .finish();
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).cookie(cookie).json(LoginResponse {
        csrf_token: csrf_token(&token),
        token,
        expires_at: session.expires_at,
        account: AccountWire::from(&session.account),
    }))
}

/// `DELETE /admin/v1/session`: ends the session and clears the cookie.
#[utoipa::path(delete, path = "/admin/v1/session", tag = "sessions", security(("session" = [])), responses((status = 204, description = "Signed out"), (status = 401, body = crate::error::Problem)))]
async fn logout(state: web::Data<AppState>, session: AdminSession) -> Result<HttpResponse, ApiError> {
    let token = session.token.clone();
    tx(&state, move |s, st| service::logout(s, &*st.clock, &token)).await?;
    let mut expired = Cookie::build(SESSION_COOKIE, "").path("/").http_only(true).same_site(SameSite::Strict).finish();
    expired.make_removal();
    Ok(HttpResponse::NoContent().cookie(expired).finish())
}

/// `GET /admin/v1/session`: who is signed in.
#[utoipa::path(get, path = "/admin/v1/session", tag = "sessions", security(("session" = [])), responses((status = 200, description = "The signed-in account", body = AccountWire), (status = 401, body = crate::error::Problem)))]
async fn whoami(session: AdminSession) -> HttpResponse {
    HttpResponse::Ok().json(AccountWire::from(&session.account))
}

// ---------------------------------------------------------------- accounts

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Account)]
struct AccountWire {
    id: i64,
    email: String,
    display_name: String,
    role: &'static str,
    active: bool,
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    created_at: OffsetDateTime,
}

impl From<&Account> for AccountWire {
    fn from(a: &Account) -> Self {
        Self {
            id: a.id.get(),
            email: a.email.to_string(),
            display_name: a.display_name.to_string(),
            role: a.role.as_str(),
            active: a.active,
            created_at: a.created_at,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Items<T> {
    items: Vec<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<i64>,
}

fn parse_role(raw: &str) -> Result<Role, ApiError> {
    Role::parse(raw).ok_or_else(|| CoreError::invalid("role", "must be administrator or manager").into())
}

#[utoipa::path(get, path = "/admin/v1/accounts", tag = "accounts", security(("session" = [])), responses((status = 200, body = Items<AccountWire>), (status = 401, body = crate::error::Problem), (status = 403, body = crate::error::Problem)))]
async fn list_accounts(state: web::Data<AppState>, session: AdminSession) -> Result<HttpResponse, ApiError> {
    let accounts = read(&state, move |s, _| service::list_accounts(s, session.caller())).await?;
    Ok(HttpResponse::Ok().json(Items { items: accounts.iter().map(AccountWire::from).collect(), next_cursor: None }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = CreateAccount)]
#[serde(deny_unknown_fields)]
struct CreateAccountBody {
    email: String,
    password: String,
    role: String,
    display_name: String,
}

#[utoipa::path(post, path = "/admin/v1/accounts", tag = "accounts", security(("session" = [])), request_body = CreateAccountBody, responses((status = 201, body = AccountWire), (status = 409, description = "The email is taken", body = crate::error::Problem), (status = 422, body = crate::error::Problem), (status = 403, body = crate::error::Problem)))]
async fn create_account(
    state: web::Data<AppState>,
    session: AdminSession,
    body: web::Json<CreateAccountBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let role = parse_role(&body.role)?;
    let password = Password::new(&body.password)?;
    let new = service::CreateAccount { email: body.email, display_name: body.display_name, role, password };
    let account =
        tx(&state, move |s, st| service::create_account(s, &*st.clock, &st.hasher, session.caller(), new)).await?;
    Ok(HttpResponse::Created().json(AccountWire::from(&account)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = ChangeRole)]
#[serde(deny_unknown_fields)]
struct ChangeRoleBody {
    role: String,
}

#[utoipa::path(patch, path = "/admin/v1/accounts/{id}", tag = "accounts", security(("session" = [])), params(("id" = i64, Path, description = "Account id")), request_body = ChangeRoleBody, responses((status = 200, description = "Demoting an administrator suspends the tokens it created", body = AccountWire), (status = 404, body = crate::error::Problem), (status = 403, body = crate::error::Problem)))]
async fn change_role(
    state: web::Data<AppState>,
    session: AdminSession,
    id: web::Path<i64>,
    body: web::Json<ChangeRoleBody>,
) -> Result<HttpResponse, ApiError> {
    let role = parse_role(&body.role)?;
    let id = AccountId::new(id.into_inner());
    let account = tx(&state, move |s, st| service::change_role(s, &*st.clock, session.caller(), id, role)).await?;
    Ok(HttpResponse::Ok().json(AccountWire::from(&account)))
}

#[utoipa::path(post, path = "/admin/v1/accounts/{id}/deactivate", tag = "accounts", security(("session" = [])), params(("id" = i64, Path, description = "Account id")), responses((status = 200, description = "Its sessions end and the tokens it created are suspended", body = AccountWire), (status = 404, body = crate::error::Problem), (status = 403, body = crate::error::Problem)))]
async fn deactivate_account(
    state: web::Data<AppState>,
    session: AdminSession,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = AccountId::new(id.into_inner());
    let account = tx(&state, move |s, st| service::deactivate_account(s, &*st.clock, session.caller(), id)).await?;
    Ok(HttpResponse::Ok().json(AccountWire::from(&account)))
}

// ---------------------------------------------------------------- learning areas

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = LearningArea)]
struct LearningAreaWire {
    id: i64,
    name: String,
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    created_at: OffsetDateTime,
}

impl From<&LearningArea> for LearningAreaWire {
    fn from(a: &LearningArea) -> Self {
        Self { id: a.id.get(), name: a.name.to_string(), created_at: a.created_at }
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = NameChange)]
#[serde(deny_unknown_fields)]
struct NameBody {
    name: String,
}

#[utoipa::path(get, path = "/admin/v1/learning-areas", tag = "learning areas", security(("session" = [])), responses((status = 200, body = Items<LearningAreaWire>), (status = 401, body = crate::error::Problem)))]
async fn list_learning_areas(state: web::Data<AppState>, session: AdminSession) -> Result<HttpResponse, ApiError> {
    let areas = read(&state, move |s, _| service::list_learning_areas(s, session.caller())).await?;
    Ok(HttpResponse::Ok().json(Items { items: areas.iter().map(LearningAreaWire::from).collect(), next_cursor: None }))
}

#[utoipa::path(post, path = "/admin/v1/learning-areas", tag = "learning areas", security(("session" = [])), request_body = NameBody, responses((status = 201, body = LearningAreaWire), (status = 422, body = crate::error::Problem), (status = 403, body = crate::error::Problem)))]
async fn create_learning_area(
    state: web::Data<AppState>,
    session: AdminSession,
    body: web::Json<NameBody>,
) -> Result<HttpResponse, ApiError> {
    let name = body.into_inner().name;
    let area = tx(&state, move |s, st| service::create_learning_area(s, &*st.clock, session.caller(), &name)).await?;
    Ok(HttpResponse::Created().json(LearningAreaWire::from(&area)))
}

#[utoipa::path(get, path = "/admin/v1/learning-areas/{id}", tag = "learning areas", security(("session" = [])), params(("id" = i64, Path, description = "Learning area id")), responses((status = 200, body = LearningAreaWire), (status = 404, body = crate::error::Problem)))]
async fn get_learning_area(
    state: web::Data<AppState>,
    session: AdminSession,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = LearningAreaId::new(id.into_inner());
    let area = read(&state, move |s, _| service::get_learning_area(s, session.caller(), id)).await?;
    Ok(HttpResponse::Ok().json(LearningAreaWire::from(&area)))
}

#[utoipa::path(patch, path = "/admin/v1/learning-areas/{id}", tag = "learning areas", security(("session" = [])), params(("id" = i64, Path, description = "Learning area id")), request_body = NameBody, responses((status = 200, body = LearningAreaWire), (status = 404, body = crate::error::Problem), (status = 403, body = crate::error::Problem)))]
async fn rename_learning_area(
    state: web::Data<AppState>,
    session: AdminSession,
    id: web::Path<i64>,
    body: web::Json<NameBody>,
) -> Result<HttpResponse, ApiError> {
    let id = LearningAreaId::new(id.into_inner());
    let name = body.into_inner().name;
    let area =
        tx(&state, move |s, st| service::rename_learning_area(s, &*st.clock, session.caller(), id, &name)).await?;
    Ok(HttpResponse::Ok().json(LearningAreaWire::from(&area)))
}

// ---------------------------------------------------------------- access tokens

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = LearningAreaRef)]
struct AreaRef {
    id: i64,
    name: String,
}

#[derive(Serialize, utoipa::ToSchema)]
struct AccountRef {
    id: i64,
    email: String,
    display_name: String,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = AccessToken)]
struct AccessTokenWire {
    id: i64,
    name: String,
    client_id: String,
    learning_area: AreaRef,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    suspended_reason: Option<&'static str>,
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    created_at: OffsetDateTime,
    created_by: AccountRef,
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    expires_at: OffsetDateTime,
    #[serde(serialize_with = "rfc3339_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    revoked_at: Option<OffsetDateTime>,
    revoked_by: Option<i64>,
    /// When a bearer token of this access token was last used, to the minute: uses are
    /// written in the background every few seconds, and a row at most once a minute.
    #[serde(serialize_with = "rfc3339_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    last_used_at: Option<OffsetDateTime>,
}

impl From<&AccessTokenDetails> for AccessTokenWire {
    fn from(d: &AccessTokenDetails) -> Self {
        let t = &d.record.token;
        Self {
            id: t.id.get(),
            name: t.name.to_string(),
            client_id: t.client_id.to_string(),
            learning_area: AreaRef {
                id: d.record.learning_area.id.get(),
                name: d.record.learning_area.name.to_string(),
            },
            status: d.status.as_str(),
            suspended_reason: match d.status {
                TokenStatus::Suspended(reason) => Some(reason.as_str()),
                _ => None,
            },
            created_at: t.created_at,
            created_by: AccountRef {
                id: d.record.creator.id.get(),
                email: d.record.creator.email.to_string(),
                display_name: d.record.creator.display_name.to_string(),
            },
            expires_at: t.expires_at,
            revoked_at: t.revoked_at,
            revoked_by: t.revoked_by.map(AccountId::get),
            last_used_at: t.last_used_at,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = CreatedAccessToken)]
struct CreatedAccessTokenWire {
    #[serde(flatten)]
    token: AccessTokenWire,
    /// The only time the secret is ever returned.
    client_secret: String,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct ListAccessTokensQuery {
    status: Option<String>,
    learning_area_id: Option<i64>,
    expiring_within_days: Option<u32>,
    q: Option<String>,
    before: Option<i64>,
    limit: Option<u32>,
}

#[utoipa::path(get, path = "/admin/v1/access-tokens", tag = "access tokens", security(("session" = [])), params(ListAccessTokensQuery), responses((status = 200, description = "Newest first; pass next_cursor as before for the next page", body = Items<AccessTokenWire>), (status = 403, body = crate::error::Problem)))]
async fn list_access_tokens(
    state: web::Data<AppState>,
    session: AdminSession,
    query: web::Query<ListAccessTokensQuery>,
) -> Result<HttpResponse, ApiError> {
    let query = query.into_inner();
    let status = match query.status.as_deref() {
        None => None,
        Some(raw) => Some(
            StatusFilter::parse(raw)
                .ok_or_else(|| CoreError::invalid("status", "must be active, expired, revoked or suspended"))?,
        ),
    };
    let request = service::ListAccessTokens {
        status,
        learning_area_id: query.learning_area_id.map(LearningAreaId::new),
        expiring_within_days: query.expiring_within_days,
        q: query.q,
        before: query.before.map(AccessTokenId::new),
        limit: query.limit,
    };
    let page: Page<AccessTokenDetails> =
        read(&state, move |s, st| service::list_access_tokens(s, &*st.clock, session.caller(), request)).await?;
    Ok(HttpResponse::Ok()
        .json(Items { items: page.items.iter().map(AccessTokenWire::from).collect(), next_cursor: page.next_cursor }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = CreateAccessTokenRequest)]
#[serde(deny_unknown_fields)]
struct CreateAccessTokenBody {
    learning_area_id: Option<i64>,
    name: String,
    #[serde(default, deserialize_with = "de_rfc3339_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    expires_at: Option<OffsetDateTime>,
}

#[utoipa::path(post, path = "/admin/v1/access-tokens", tag = "access tokens", security(("session" = [])), request_body = CreateAccessTokenBody, responses((status = 201, description = "The only answer that contains client_secret", body = CreatedAccessTokenWire), (status = 422, description = "Invalid fields, an unknown learning area, or no learning area at all", body = crate::error::Problem), (status = 403, body = crate::error::Problem)))]
async fn create_access_token(
    state: web::Data<AppState>,
    session: AdminSession,
    body: web::Json<CreateAccessTokenBody>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let request = service::CreateAccessToken {
        learning_area_id: body.learning_area_id.map(LearningAreaId::new),
        name: body.name,
        expires_at: body.expires_at,
    };
    let created = tx(&state, move |s, st| {
        service::create_access_token(s, &*st.clock, &st.hasher, &st.policy, session.caller(), request)
    })
    .await?;
    Ok(HttpResponse::Created().insert_header((header::CACHE_CONTROL, "no-store")).json(CreatedAccessTokenWire {
        token: AccessTokenWire::from(&created.details),
        client_secret: created.client_secret.expose().to_owned(),
    }))
}

#[utoipa::path(get, path = "/admin/v1/access-tokens/{id}", tag = "access tokens", security(("session" = [])), params(("id" = i64, Path, description = "Access token id")), responses((status = 200, body = AccessTokenWire), (status = 404, body = crate::error::Problem)))]
async fn get_access_token(
    state: web::Data<AppState>,
    session: AdminSession,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = AccessTokenId::new(id.into_inner());
    let token = read(&state, move |s, st| service::get_access_token(s, &*st.clock, session.caller(), id)).await?;
    Ok(HttpResponse::Ok().json(AccessTokenWire::from(&token)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = EditAccessToken)]
#[serde(deny_unknown_fields)]
struct EditAccessTokenBody {
    name: Option<String>,
    #[serde(default, deserialize_with = "de_rfc3339_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    expires_at: Option<OffsetDateTime>,
    /// Accepted only to answer with a clear refusal: the learning area never changes.
    learning_area_id: Option<i64>,
}

#[utoipa::path(patch, path = "/admin/v1/access-tokens/{id}", tag = "access tokens", security(("session" = [])), params(("id" = i64, Path, description = "Access token id")), request_body = EditAccessTokenBody, responses((status = 200, body = AccessTokenWire), (status = 409, description = "The token is expired or revoked", body = crate::error::Problem), (status = 422, description = "Invalid fields, or an attempt to change the learning area", body = crate::error::Problem)))]
async fn edit_access_token(
    state: web::Data<AppState>,
    session: AdminSession,
    id: web::Path<i64>,
    body: web::Json<EditAccessTokenBody>,
) -> Result<HttpResponse, ApiError> {
    let id = AccessTokenId::new(id.into_inner());
    let body = body.into_inner();
    let edit = service::EditAccessToken {
        name: body.name,
        expires_at: body.expires_at,
        learning_area_id: body.learning_area_id.map(LearningAreaId::new),
    };
    let token =
        tx(&state, move |s, st| service::edit_access_token(s, &*st.clock, &st.policy, session.caller(), id, edit))
            .await?;
    Ok(HttpResponse::Ok().json(AccessTokenWire::from(&token)))
}

#[utoipa::path(post, path = "/admin/v1/access-tokens/{id}/revoke", tag = "access tokens", security(("session" = [])), params(("id" = i64, Path, description = "Access token id")), responses((status = 200, description = "Revoked (idempotent); its bearer tokens stop working at once", body = AccessTokenWire), (status = 404, body = crate::error::Problem)))]
async fn revoke_access_token(
    state: web::Data<AppState>,
    session: AdminSession,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = AccessTokenId::new(id.into_inner());
    let token = tx(&state, move |s, st| service::revoke_access_token(s, &*st.clock, session.caller(), id)).await?;
    state.authority.forget_client(&token.record.token.client_id);
    Ok(HttpResponse::Ok().json(AccessTokenWire::from(&token)))
}

// ---------------------------------------------------------------- audit

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = AuditActor)]
struct ActorWire {
    kind: String,
    id: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = AuditTarget)]
struct TargetWire {
    kind: String,
    id: Option<i64>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = AuditEvent)]
struct AuditEventWire {
    id: i64,
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    occurred_at: OffsetDateTime,
    actor: ActorWire,
    action: String,
    target: Option<TargetWire>,
    outcome: String,
    #[schema(value_type = Object)]
    details: serde_json::Value,
}

impl From<StoredAuditEvent> for AuditEventWire {
    fn from(e: StoredAuditEvent) -> Self {
        Self {
            id: e.id.get(),
            occurred_at: e.occurred_at,
            actor: ActorWire { kind: e.actor_kind, id: e.actor_id },
            action: e.action,
            target: e.target_kind.map(|kind| TargetWire { kind, id: e.target_id }),
            outcome: e.outcome,
            details: serde_json::from_str(&e.details_json).unwrap_or(serde_json::Value::Null),
        }
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct AuditQueryParams {
    actor: Option<String>,
    target: Option<String>,
    action: Option<String>,
    #[serde(default, deserialize_with = "de_rfc3339_opt")]
    #[param(value_type = Option<String>, format = DateTime)]
    from: Option<OffsetDateTime>,
    #[serde(default, deserialize_with = "de_rfc3339_opt")]
    #[param(value_type = Option<String>, format = DateTime)]
    to: Option<OffsetDateTime>,
    before: Option<i64>,
    limit: Option<u32>,
}

#[utoipa::path(get, path = "/admin/v1/audit-events", tag = "audit", security(("session" = [])), params(AuditQueryParams), responses((status = 200, description = "Newest first", body = Items<AuditEventWire>), (status = 403, body = crate::error::Problem)))]
async fn list_audit_events(
    state: web::Data<AppState>,
    session: AdminSession,
    query: web::Query<AuditQueryParams>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let request = service::ListAuditEvents {
        actor: q.actor,
        target: q.target,
        action: q.action,
        from: q.from,
        to: q.to,
        before: q.before,
        limit: q.limit,
    };
    let page = read(&state, move |s, _| service::list_audit_events(s, session.caller(), request)).await?;
    Ok(HttpResponse::Ok().json(Items {
        items: page.items.into_iter().map(AuditEventWire::from).collect(),
        next_cursor: page.next_cursor,
    }))
}
