//! The OpenAPI 3.1 document of the admin and integration APIs, generated from the handlers'
//! and wire types' annotations, served at `/openapi.json` and kept in `docs/openapi.json` (a
//! test fails when the two drift; `TOKEND_UPDATE_OPENAPI=1` rewrites the file).

use actix_web::{HttpResponse, web};
use utoipa::OpenApi;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};

use crate::admin;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "tokend",
        description = "Scoped, revocable API credentials for a learning platform. The admin API manages access tokens bound to a learning area; integrations trade a token's client ID and secret at POST /oauth/token (RFC 6749 client credentials; see /.well-known/oauth-authorization-server) for a bearer token and call the integration API.",
        version = "1"
    ),
    paths(
        admin::login,
        admin::logout,
        admin::whoami,
        admin::list_accounts,
        admin::create_account,
        admin::change_role,
        admin::deactivate_account,
        admin::list_learning_areas,
        admin::create_learning_area,
        admin::get_learning_area,
        admin::rename_learning_area,
        admin::list_access_tokens,
        admin::create_access_token,
        admin::get_access_token,
        admin::edit_access_token,
        admin::revoke_access_token,
        admin::list_audit_events,
        crate::admin_learning::list_levels,
        crate::admin_learning::create_level,
        crate::admin_learning::list_users,
        crate::admin_learning::create_user,
        crate::admin_learning::get_user,
        crate::admin_learning::list_trainings,
        crate::admin_learning::create_training,
        crate::admin_learning::get_training,
        crate::admin_learning::list_registrations,
        crate::admin_learning::register,
        crate::admin_learning::record_progress,
        crate::admin_learning::list_live_sessions,
        crate::admin_learning::create_live_session,
        crate::admin_learning::get_live_session,
        crate::admin_learning::record_attendance,
        crate::integration::me,
        crate::integration::list_users,
        crate::integration::create_user,
        crate::integration::get_user,
        crate::integration::list_trainings,
        crate::integration::get_training,
        crate::integration::training_statistics,
        crate::integration::list_registrations,
        crate::integration::register,
        crate::integration::list_completions,
        crate::integration::list_live_sessions,
        crate::integration::get_live_session,
    ),
    components(schemas(crate::error::Problem, crate::error::FieldProblem)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "sessions", description = "Sign in with email and password; send the session token as a Bearer token, or use the HttpOnly cookie with the X-CSRF-Token header on writes."),
        (name = "accounts", description = "Administrators and managers. Only administrators manage access tokens."),
        (name = "learning areas", description = "The scopes access tokens are bound to."),
        (name = "access tokens", description = "Create, list, edit and revoke access tokens. The client secret is returned once, at creation."),
        (name = "audit", description = "Who did what, when, with which outcome."),
        (name = "learning data", description = "A learning area's levels, users, trainings, registrations and live sessions, for administrators: the same data the integration API shows a token of that area."),
        (name = "integration", description = "For integrations holding a bearer token from /oauth/token: only the token's learning area is visible."),
    )
)]
struct ApiDoc;

struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut session = Http::new(HttpAuthScheme::Bearer);
        session.description = Some("An admin session token (tka_…) from POST /admin/v1/session.".to_owned());
        components.add_security_scheme("session", SecurityScheme::Http(session));
        let mut bearer = Http::new(HttpAuthScheme::Bearer);
        bearer.description = Some("A bearer token (tkb_…) from POST /oauth/token.".to_owned());
        components.add_security_scheme("bearer", SecurityScheme::Http(bearer));
    }
}

/// The document.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The document as the pretty JSON kept in `docs/openapi.json`.
pub fn document_json() -> String {
    let mut json = document().to_pretty_json().unwrap_or_default();
    json.push('\n');
    json
}

pub(crate) fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/openapi.json", web::get().to(serve));
}

async fn serve() -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(document_json())
}

#[cfg(test)]
mod tests {
    #[test]
    fn docs_openapi_json_matches_the_code() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
        let generated = super::document_json();
        if std::env::var("TOKEND_UPDATE_OPENAPI").is_ok_and(|v| v == "1") {
            std::fs::write(&path, &generated).unwrap();
        }
        let kept = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            kept == generated,
            "docs/openapi.json differs from the code: run `TOKEND_UPDATE_OPENAPI=1 cargo test -p token-api openapi` and commit it"
        );
    }

    #[test]
    fn the_document_is_openapi_3_1_and_covers_both_apis() {
        let doc: serde_json::Value = serde_json::from_str(&super::document_json()).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        for path in
            ["/admin/v1/access-tokens", "/admin/v1/access-tokens/{id}/revoke", "/admin/v1/audit-events", "/api/v1/me"]
        {
            assert!(doc["paths"].get(path).is_some(), "{path} is documented");
        }
    }
}
