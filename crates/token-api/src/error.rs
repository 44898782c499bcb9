//! The one place that maps errors to HTTP. Outside `/oauth/*`, errors are RFC 9457 problem
//! details (`application/problem+json`) with a stable `type` per error; internal causes go to
//! the log, never into a body.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use token_core::{CoreError, StoreError};
use token_oauth::{BearerError, OAuthError};

/// Every error an admin or integration endpoint can answer.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A domain refusal.
    #[error(transparent)]
    Core(#[from] CoreError),
    /// The request could not be parsed (bad JSON, unknown field, bad query parameter).
    #[error("{0}")]
    Malformed(String),
    /// The body is over the size limit.
    #[error("the request body is too large")]
    TooLarge,
    /// A cookie-authenticated write without the session's CSRF token.
    #[error("send the session's CSRF token in the X-CSRF-Token header")]
    Csrf,
    /// Too many failed sign-ins for this email.
    #[error("too many failed sign-ins; retry after {retry_after_secs} s")]
    TooManyAttempts {
        /// Whole seconds to wait.
        retry_after_secs: u64,
    },
    /// A bearer token was missing or invalid on the integration API.
    #[error("{0}")]
    Bearer(BearerError),
    /// No such route or resource.
    #[error("not found")]
    NoRoute,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The blocking pool is shutting down or overloaded.
    #[error("the server is overloaded")]
    Overloaded,
}

impl From<BearerError> for ApiError {
    fn from(e: BearerError) -> Self {
        match e {
            BearerError::Store(e) => ApiError::Store(e),
            other => ApiError::Bearer(other),
        }
    }
}

impl From<actix_web::error::BlockingError> for ApiError {
    fn from(_: actix_web::error::BlockingError) -> Self {
        ApiError::Overloaded
    }
}

/// One failing field of an invalid request.
#[derive(Serialize, utoipa::ToSchema)]
pub struct FieldProblem {
    /// The field, as the request spells it.
    field: String,
    /// What is wrong with it.
    message: String,
}

/// An RFC 9457 problem details document (`application/problem+json`).
#[derive(Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// Stable, machine-readable: `urn:tokend:problem:<slug>`.
    #[serde(rename = "type")]
    kind: String,
    /// Short human summary of the type.
    title: &'static str,
    /// The HTTP status.
    status: u16,
    /// What went wrong, and what to do.
    detail: String,
    /// For invalid input: each failing field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    errors: Vec<FieldProblem>,
}

impl ApiError {
    /// (status, stable problem slug, title). The whole mapping, pinned by a unit test.
    pub fn classify(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            ApiError::Core(e) => match e {
                CoreError::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid-input", "Invalid input"),
                CoreError::NoLearningAreas => {
                    (StatusCode::UNPROCESSABLE_ENTITY, "no-learning-areas", "No learning area exists")
                }
                CoreError::LearningAreaImmutable => {
                    (StatusCode::UNPROCESSABLE_ENTITY, "learning-area-immutable", "The learning area cannot be changed")
                }
                CoreError::NotFound(_) => (StatusCode::NOT_FOUND, "not-found", "Not found"),
                CoreError::Forbidden => (StatusCode::FORBIDDEN, "forbidden", "Forbidden"),
                CoreError::NotEditable { .. } => {
                    (StatusCode::CONFLICT, "not-editable", "The token can no longer be edited")
                }
                CoreError::Conflict { .. } => (StatusCode::CONFLICT, "conflict", "Already exists"),
                CoreError::BadCredentials => (StatusCode::UNAUTHORIZED, "bad-credentials", "Sign-in failed"),
                CoreError::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthenticated", "Not signed in"),
                CoreError::Store(e) => store_class(e),
                CoreError::RandomnessUnavailable => (StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal error"),
            },
            ApiError::Malformed(_) => (StatusCode::BAD_REQUEST, "malformed-request", "Malformed request"),
            ApiError::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "too-large", "Request body too large"),
            ApiError::Bearer(_) => (StatusCode::UNAUTHORIZED, "invalid-token", "Invalid bearer token"),
            ApiError::Csrf => (StatusCode::FORBIDDEN, "csrf", "CSRF token missing or wrong"),
            ApiError::TooManyAttempts { .. } => {
                (StatusCode::TOO_MANY_REQUESTS, "too-many-attempts", "Too many attempts")
            }
            ApiError::NoRoute => (StatusCode::NOT_FOUND, "not-found", "Not found"),
            ApiError::Store(e) => store_class(e),
            ApiError::Overloaded => (StatusCode::SERVICE_UNAVAILABLE, "unavailable", "Service unavailable"),
        }
    }

    /// The problem `type` URI for a slug.
    pub fn type_uri(slug: &str) -> String {
        format!("urn:tokend:problem:{slug}")
    }
}

fn store_class(e: &StoreError) -> (StatusCode, &'static str, &'static str) {
    match e {
        StoreError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable", "Service unavailable"),
        StoreError::Failure(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal", "Internal error"),
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.classify().0
    }

    fn error_response(&self) -> HttpResponse {
        let (status, slug, title) = self.classify();
        let detail = if status.is_server_error() {
            // The cause (which may name tables or hosts) goes to the log only.
            tracing::error!(error = %self, cause = ?std::error::Error::source(self), "request failed");
            "the server could not complete the request; try again later".to_owned()
        } else {
            self.to_string()
        };
        let errors = match self {
            ApiError::Core(CoreError::Invalid(fields)) => {
                fields.iter().map(|f| FieldProblem { field: f.field.to_owned(), message: f.message.clone() }).collect()
            }
            ApiError::Core(CoreError::Conflict { field, message }) => {
                vec![FieldProblem { field: (*field).to_owned(), message: message.clone() }]
            }
            _ => Vec::new(),
        };
        let body = Problem { kind: Self::type_uri(slug), title, status: status.as_u16(), detail, errors };
        let mut response = HttpResponse::build(status);
        response.insert_header((header::CONTENT_TYPE, "application/problem+json"));
        response.insert_header((header::CACHE_CONTROL, "no-store"));
        match self {
            ApiError::Bearer(BearerError::Missing) => {
                response.insert_header((header::WWW_AUTHENTICATE, r#"Bearer realm="tokend""#));
            }
            ApiError::Bearer(_) => {
                response.insert_header((header::WWW_AUTHENTICATE, r#"Bearer realm="tokend", error="invalid_token""#));
            }
            ApiError::Core(CoreError::Unauthenticated) => {
                response.insert_header((header::WWW_AUTHENTICATE, r#"Bearer realm="tokend-admin""#));
            }
            ApiError::TooManyAttempts { retry_after_secs } => {
                response.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            ApiError::Overloaded | ApiError::Store(StoreError::Unavailable(_)) => {
                response.insert_header((header::RETRY_AFTER, "1"));
            }
            _ => {}
        }
        response.body(serde_json::to_string(&body).unwrap_or_default())
    }
}

/// An RFC 6749 §5.2 error answer for `/oauth/*`.
#[derive(Debug)]
pub struct OAuthErrorResponse(pub OAuthError);

impl From<OAuthError> for OAuthErrorResponse {
    fn from(e: OAuthError) -> Self {
        Self(e)
    }
}

impl From<actix_web::error::BlockingError> for OAuthErrorResponse {
    fn from(_: actix_web::error::BlockingError) -> Self {
        Self(OAuthError::TemporarilyUnavailable)
    }
}

impl std::fmt::Display for OAuthErrorResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(Serialize)]
struct OAuthErrorBody<'a> {
    error: &'a str,
    error_description: String,
}

impl ResponseError for OAuthErrorResponse {
    fn status_code(&self) -> StatusCode {
        match &self.0 {
            OAuthError::InvalidClient { .. } => StatusCode::UNAUTHORIZED,
            OAuthError::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            OAuthError::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            OAuthError::Store(StoreError::Unavailable(_)) => StatusCode::SERVICE_UNAVAILABLE,
            OAuthError::Store(_) | OAuthError::Randomness => StatusCode::INTERNAL_SERVER_ERROR,
            OAuthError::InvalidRequest(_) | OAuthError::UnsupportedGrantType | OAuthError::InvalidScope { .. } => {
                StatusCode::BAD_REQUEST
            }
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let description = if status.is_server_error() {
            tracing::error!(error = %self.0, cause = ?std::error::Error::source(&self.0), "oauth request failed");
            "the server could not complete the request; try again later".to_owned()
        } else {
            self.0.to_string()
        };
        let mut response = HttpResponse::build(status);
        no_store(&mut response);
        match &self.0 {
            OAuthError::InvalidClient { basic: true } => {
                response.insert_header((header::WWW_AUTHENTICATE, r#"Basic realm="tokend""#));
            }
            OAuthError::TooManyAttempts { retry_after_secs } => {
                response.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            OAuthError::TemporarilyUnavailable | OAuthError::Store(StoreError::Unavailable(_)) => {
                response.insert_header((header::RETRY_AFTER, "1"));
            }
            _ => {}
        }
        response.json(OAuthErrorBody { error: self.0.code(), error_description: description })
    }
}

/// `Cache-Control: no-store` and `Pragma: no-cache`, required on every token response.
pub fn no_store(response: &mut actix_web::HttpResponseBuilder) {
    response.insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
    response.insert_header((header::PRAGMA, HeaderValue::from_static("no-cache")));
}

#[cfg(test)]
mod tests {
    use super::*;
    use token_core::error::{Entity, FieldError};

    #[test]
    fn the_status_mapping_is_pinned() {
        let unavailable = || StoreError::Unavailable("pool".into());
        let cases: Vec<(ApiError, u16, &str)> = vec![
            (
                CoreError::Invalid(vec![FieldError { field: "name", message: "is required".into() }]).into(),
                422,
                "invalid-input",
            ),
            (CoreError::NoLearningAreas.into(), 422, "no-learning-areas"),
            (CoreError::LearningAreaImmutable.into(), 422, "learning-area-immutable"),
            (CoreError::NotFound(Entity::AccessToken).into(), 404, "not-found"),
            (CoreError::Forbidden.into(), 403, "forbidden"),
            (CoreError::NotEditable { status: "revoked" }.into(), 409, "not-editable"),
            (CoreError::Conflict { field: "email", message: "taken".into() }.into(), 409, "conflict"),
            (CoreError::BadCredentials.into(), 401, "bad-credentials"),
            (CoreError::Store(unavailable()).into(), 503, "unavailable"),
            (CoreError::Store(StoreError::Failure("x".into())).into(), 500, "internal"),
            (ApiError::Malformed("x".into()), 400, "malformed-request"),
            (ApiError::TooLarge, 413, "too-large"),
            (CoreError::Unauthenticated.into(), 401, "unauthenticated"),
            (ApiError::Csrf, 403, "csrf"),
            (ApiError::TooManyAttempts { retry_after_secs: 1 }, 429, "too-many-attempts"),
            (ApiError::Bearer(BearerError::InvalidToken), 401, "invalid-token"),
            (ApiError::Bearer(BearerError::Missing), 401, "invalid-token"),
            (ApiError::NoRoute, 404, "not-found"),
            (ApiError::Store(unavailable()), 503, "unavailable"),
            (ApiError::Overloaded, 503, "unavailable"),
        ];
        for (error, status, slug) in cases {
            let (s, sl, _) = error.classify();
            assert_eq!((s.as_u16(), sl), (status, slug), "{error:?}");
        }
    }

    #[test]
    fn oauth_errors_use_the_rfc_statuses() {
        let check = |e: OAuthError, status: u16, code: &str| {
            assert_eq!(e.code(), code);
            assert_eq!(OAuthErrorResponse(e).status_code().as_u16(), status);
        };
        check(OAuthError::InvalidRequest("x".into()), 400, "invalid_request");
        check(OAuthError::InvalidClient { basic: true }, 401, "invalid_client");
        check(OAuthError::UnsupportedGrantType, 400, "unsupported_grant_type");
        check(OAuthError::InvalidScope { allowed: "area:1".into() }, 400, "invalid_scope");
        check(OAuthError::TooManyAttempts { retry_after_secs: 3 }, 429, "slow_down");
        check(OAuthError::TemporarilyUnavailable, 503, "temporarily_unavailable");
        check(OAuthError::Store(StoreError::Failure("x".into())), 500, "server_error");
    }
}
