//! OAuth2 errors in the RFCs' own words. The HTTP status and headers for each are decided in
//! `token-api`.

use token_core::StoreError;

/// What the token, introspection and revocation endpoints can refuse (RFC 6749 §5.2,
/// RFC 7009 §2.2.1, RFC 7662 §2.3), plus throttling and overload.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// "The request is missing a required parameter, includes an unsupported parameter value
    /// (other than grant type), repeats a parameter, includes multiple credentials, utilizes
    /// more than one mechanism for authenticating the client, or is otherwise malformed."
    #[error("{0}")]
    InvalidRequest(String),
    /// "Client authentication failed (e.g., unknown client, no client authentication included,
    /// or unsupported authentication method)." One answer for an unknown id, a wrong secret and
    /// a revoked, expired or suspended token: the audit log records which.
    #[error("client authentication failed")]
    InvalidClient {
        /// Whether the client used HTTP Basic (the answer then carries `WWW-Authenticate`).
        basic: bool,
    },
    /// "The authorization grant type is not supported by the authorization server."
    #[error("only the client_credentials grant is supported")]
    UnsupportedGrantType,
    /// "The requested scope is invalid, unknown, malformed, or exceeds the scope granted by the
    /// resource owner."
    #[error("the only scope this client may ask for is {allowed}")]
    InvalidScope {
        /// The scope the client may ask for.
        allowed: String,
    },
    /// Too many failed attempts for this client id; no hashing is done until the window ends.
    #[error("too many failed attempts; retry after {retry_after_secs} s")]
    TooManyAttempts {
        /// Whole seconds until attempts are accepted again.
        retry_after_secs: u64,
    },
    /// "The authorization server is currently unable to handle the request due to a temporary
    /// overloading" (RFC 6749 §4.1.2.1 `temporarily_unavailable`): every verifier slot is busy.
    #[error("the server is busy verifying other clients; retry shortly")]
    TemporarilyUnavailable,
    /// Storage failed (`server_error`).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The random generator failed (`server_error`).
    #[error("the operating system's random number generator failed")]
    Randomness,
}

impl OAuthError {
    /// The RFC's `error` code.
    pub fn code(&self) -> &'static str {
        match self {
            OAuthError::InvalidRequest(_) => "invalid_request",
            OAuthError::InvalidClient { .. } => "invalid_client",
            OAuthError::UnsupportedGrantType => "unsupported_grant_type",
            OAuthError::InvalidScope { .. } => "invalid_scope",
            OAuthError::TooManyAttempts { .. } => "slow_down",
            OAuthError::TemporarilyUnavailable => "temporarily_unavailable",
            OAuthError::Store(_) | OAuthError::Randomness => "server_error",
        }
    }
}

/// Why a bearer token grants nothing (RFC 6750 §3.1). Integration endpoints answer every one
/// of these with 401: Zapier re-runs the token exchange on a 401, and only on a 401.
#[derive(Debug, thiserror::Error)]
pub enum BearerError {
    /// No bearer token was sent (the challenge then carries no `error`).
    #[error("no bearer token was sent")]
    Missing,
    /// "The access token provided is expired, revoked, malformed, or invalid for other reasons."
    #[error("the bearer token is expired, revoked, malformed or unknown")]
    InvalidToken,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}
