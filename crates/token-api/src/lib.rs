//! tokend's HTTP face (actix-web): the OAuth2 endpoints, the integration API, the admin API,
//! health checks, and the one mapping of errors to HTTP. The only crate that knows HTTP and
//! JSON; handlers parse, call one service function inside `web::block`, and map the result.

pub mod admin;
mod admin_learning;
pub mod error;
mod integration;
pub mod learning_wire;
mod oauth;
pub mod openapi;
mod wire;

use std::sync::Arc;

use actix_web::{HttpResponse, web};
use token_core::clock::Clock;
use token_core::model::ExpiryPolicy;
use token_core::secret::SecretHasher;
use token_oauth::Authority;
use token_store::Db;

pub use error::ApiError;
pub use integration::Authenticated;

/// Largest request body accepted anywhere (bytes).
pub const BODY_LIMIT: usize = 64 * 1024;

/// What every handler shares; one per process, cloned cheaply into workers.
#[derive(Clone)]
pub struct AppState {
    /// The database pool.
    pub db: Db,
    /// Where "now" comes from.
    pub clock: Arc<dyn Clock>,
    /// argon2id for secrets and passwords.
    pub hasher: SecretHasher,
    /// Expiry rules for access tokens.
    pub policy: ExpiryPolicy,
    /// The OAuth2 authorization server.
    pub authority: Arc<Authority>,
    /// Failed logins per email (slowed after three, refused for a window after five).
    pub login_throttle: Arc<token_oauth::guard::FailureThrottle>,
    /// The public base URL (`https://tokend.example.com`), for the metadata document; taken
    /// from the request when absent.
    pub public_url: Option<String>,
}

/// Registers every route. The caller adds the state with `.app_data(web::Data::new(state))`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(json_config())
        .app_data(query_config())
        .app_data(path_config())
        .route("/healthz", web::get().to(healthz))
        .route("/readyz", web::get().to(readyz))
        .configure(oauth::config)
        .configure(integration::config)
        .configure(admin::config)
        .configure(openapi::config)
        .default_service(web::to(|| async { Err::<HttpResponse, _>(ApiError::NoRoute) }));
}

fn json_config() -> web::JsonConfig {
    web::JsonConfig::default().limit(BODY_LIMIT).error_handler(|err, _| {
        let api = match &err {
            actix_web::error::JsonPayloadError::Overflow { .. }
            | actix_web::error::JsonPayloadError::OverflowKnownLength { .. } => ApiError::TooLarge,
            actix_web::error::JsonPayloadError::ContentType => {
                ApiError::Malformed("the body must be JSON (Content-Type: application/json)".to_owned())
            }
            actix_web::error::JsonPayloadError::Deserialize(e) => {
                ApiError::Malformed(format!("invalid JSON body: {e}"))
            }
            other => ApiError::Malformed(format!("invalid JSON body: {other}")),
        };
        api.into()
    })
}

fn query_config() -> web::QueryConfig {
    web::QueryConfig::default()
        .error_handler(|err, _| ApiError::Malformed(format!("invalid query parameter: {err}")).into())
}

fn path_config() -> web::PathConfig {
    // An id that is not a number cannot exist: answer exactly as for a missing one.
    web::PathConfig::default().error_handler(|_, _| ApiError::NoRoute.into())
}

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let db = state.db.clone();
    web::block(move || db.ping()).await??;
    Ok(HttpResponse::Ok().json(serde_json::json!({"status": "ready", "database": state.db.backend()})))
}

/// Logs one line per request: method, path (never the query string), status and duration.
/// Headers and bodies are never logged, so no credential reaches the log. Use with
/// `actix_web::middleware::from_fn(token_api::log_request)`.
pub async fn log_request(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    let started = std::time::Instant::now();
    let method = req.method().clone();
    let path = req.path().to_owned();
    let response = next.call(req).await?;
    tracing::info!(
        %method,
        %path,
        status = response.status().as_u16(),
        micros = started.elapsed().as_micros() as u64,
        "request"
    );
    Ok(response)
}
