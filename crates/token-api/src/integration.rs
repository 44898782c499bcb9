//! The integration API under `/api/v1`, for Zapier and other clients holding a bearer token.
//! [`Authenticated`] is the only way into it: it validates the bearer token and yields the
//! principal with its learning area, which scoped store functions require.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use serde::Serialize;
use time::OffsetDateTime;
use token_oauth::{BearerError, Principal};

use crate::AppState;
use crate::error::ApiError;

pub(crate) fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(web::scope("/api/v1").route("/me", web::get().to(me)));
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
        Box::pin(async move {
            let state = state.ok_or(ApiError::Overloaded)?;
            let presented = presented?;
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
