//! `/oauth/token`, `/oauth/introspect`, `/oauth/revoke` and the RFC 8414 metadata. The grant
//! logic is `token-oauth`'s; this module only reads forms and headers and writes RFC 6749
//! answers (always JSON, always `no-store`).

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use futures_util::StreamExt;
use serde::Serialize;
use token_oauth::{AuthMethod, ClientCredentials, Introspection, OAuthError, TokenRequest};

use crate::AppState;
use crate::error::{OAuthErrorResponse, no_store};

pub(crate) fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/oauth/token", web::post().to(token))
        .route("/oauth/introspect", web::post().to(introspect))
        .route("/oauth/revoke", web::post().to(revoke))
        .route("/.well-known/oauth-authorization-server", web::get().to(metadata));
}

type Form = HashMap<String, String>;

/// Reads an `application/x-www-form-urlencoded` body. A repeated parameter is
/// `invalid_request` (RFC 6749 §3.1); a parameter sent without a value counts as omitted.
async fn read_form(req: &HttpRequest, mut payload: web::Payload) -> Result<Form, OAuthError> {
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let media_type = content_type.split(';').next().unwrap_or("").trim();
    if !media_type.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Err(OAuthError::InvalidRequest("the body must be application/x-www-form-urlencoded".to_owned()));
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| OAuthError::InvalidRequest("the body could not be read".to_owned()))?;
        if body.len() + chunk.len() > crate::BODY_LIMIT {
            return Err(OAuthError::InvalidRequest("the body is too large".to_owned()));
        }
        body.extend_from_slice(&chunk);
    }
    let mut form = Form::new();
    for (name, value) in form_urlencoded::parse(&body) {
        if value.is_empty() {
            continue;
        }
        if form.insert(name.to_string(), value.into_owned()).is_some() {
            return Err(OAuthError::InvalidRequest(format!("the parameter {name} is repeated")));
        }
    }
    Ok(form)
}

/// The client's credentials from HTTP Basic (`client_secret_basic`, id and secret
/// form-urlencoded as RFC 6749 §2.3.1 says) or from the body (`client_secret_post`); both at
/// once is `invalid_request`, neither is `invalid_client`.
fn client_credentials(req: &HttpRequest, form: &mut Form) -> Result<ClientCredentials, OAuthError> {
    let basic = match req.headers().get(header::AUTHORIZATION) {
        None => None,
        Some(value) => {
            let malformed =
                || OAuthError::InvalidRequest("the Authorization header is not valid HTTP Basic".to_owned());
            let value = value.to_str().map_err(|_| malformed())?;
            let (scheme, encoded) = value.split_once(' ').ok_or_else(malformed)?;
            if !scheme.eq_ignore_ascii_case("basic") {
                return Err(OAuthError::InvalidRequest("client authentication must use HTTP Basic".to_owned()));
            }
            let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).map_err(|_| malformed())?;
            let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
            let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
            let unescape = |s: &str| -> String {
                form_urlencoded::parse(format!("v={s}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default()
            };
            Some((unescape(id), unescape(secret)))
        }
    };
    let body_id = form.remove("client_id");
    let body_secret = form.remove("client_secret");
    match (basic, body_id, body_secret) {
        (Some(_), _, Some(_)) => Err(OAuthError::InvalidRequest(
            "use one client authentication method: HTTP Basic or client_secret in the body, not both".to_owned(),
        )),
        (Some((id, _)), Some(body_id), None) if body_id != id => Err(OAuthError::InvalidRequest(
            "client_id in the body differs from the one in the Authorization header".to_owned(),
        )),
        (Some((client_id, client_secret)), _, None) => {
            Ok(ClientCredentials { client_id, client_secret, method: AuthMethod::Basic })
        }
        (None, Some(client_id), Some(client_secret)) => {
            Ok(ClientCredentials { client_id, client_secret, method: AuthMethod::Post })
        }
        (None, Some(_), None) => Err(OAuthError::InvalidClient { basic: false }),
        (None, None, _) => Err(OAuthError::InvalidClient { basic: true }),
    }
}

#[derive(Serialize)]
struct TokenResponse<'a> {
    access_token: &'a str,
    token_type: &'static str,
    expires_in: i64,
    scope: &'a str,
}

async fn token(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, OAuthErrorResponse> {
    let mut form = read_form(&req, payload).await?;
    let credentials = client_credentials(&req, &mut form)?;
    let grant_type = form
        .remove("grant_type")
        .ok_or_else(|| OAuthError::InvalidRequest("the parameter grant_type is missing".to_owned()))?;
    let request = TokenRequest { grant_type, scope: form.remove("scope"), credentials };
    // Throttled clients and, past the argon2 budget, unverified secrets are refused here,
    // without a thread hand-off or a store read: a flood costs the event loop little.
    state.authority.admit_token_request(&*state.clock, &request)?;
    let issued = web::block(move || state.authority.issue_token(&state.db, &*state.clock, &request)).await??;
    let mut response = HttpResponse::Ok();
    no_store(&mut response);
    Ok(response.json(TokenResponse {
        access_token: issued.access_token.expose(),
        token_type: "Bearer",
        expires_in: issued.expires_in,
        scope: &issued.scope,
    }))
}

fn token_param(form: &mut Form) -> Result<String, OAuthError> {
    form.remove("token").ok_or_else(|| OAuthError::InvalidRequest("the parameter token is missing".to_owned()))
}

#[derive(Serialize)]
struct IntrospectionResponse {
    active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_type: Option<&'static str>,
}

/// The request of `/oauth/introspect` and `/oauth/revoke`: the client's credentials, past the
/// authority's in-memory checks, and the `token` parameter.
async fn client_and_token(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
) -> Result<(ClientCredentials, String), OAuthError> {
    let mut form = read_form(req, payload).await?;
    let credentials = client_credentials(req, &mut form)?;
    let token = token_param(&mut form)?;
    state.authority.admit_client(&*state.clock, &credentials)?;
    Ok((credentials, token))
}

async fn introspect(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, OAuthErrorResponse> {
    let (credentials, token) = client_and_token(&req, payload, &state).await?;
    let answer =
        web::block(move || state.authority.introspect(&state.db, &*state.clock, &credentials, &token)).await??;
    let body = match answer {
        Introspection::Active(p) => IntrospectionResponse {
            active: true,
            client_id: Some(p.client_id.to_string()),
            scope: Some(p.scope()),
            exp: Some(p.expires_at.unix_timestamp()),
            iat: Some(p.issued_at.unix_timestamp()),
            token_type: Some("Bearer"),
        },
        Introspection::Inactive => IntrospectionResponse {
            active: false,
            client_id: None,
            scope: None,
            exp: None,
            iat: None,
            token_type: None,
        },
    };
    let mut response = HttpResponse::Ok();
    no_store(&mut response);
    Ok(response.json(body))
}

async fn revoke(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, OAuthErrorResponse> {
    let (credentials, token) = client_and_token(&req, payload, &state).await?;
    web::block(move || state.authority.revoke(&state.db, &*state.clock, &credentials, &token)).await??;
    let mut response = HttpResponse::Ok();
    no_store(&mut response);
    Ok(response.json(serde_json::json!({})))
}

async fn metadata(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let issuer = state.public_url.clone().unwrap_or_else(|| {
        let info = req.connection_info();
        format!("{}://{}", info.scheme(), info.host())
    });
    let issuer = issuer.trim_end_matches('/').to_owned();
    HttpResponse::Ok().json(serde_json::json!({
        "issuer": issuer,
        "token_endpoint": format!("{issuer}/oauth/token"),
        "introspection_endpoint": format!("{issuer}/oauth/introspect"),
        "revocation_endpoint": format!("{issuer}/oauth/revoke"),
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "response_types_supported": [],
        "scopes_supported": [],
    }))
}
