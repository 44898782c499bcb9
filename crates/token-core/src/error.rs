//! The one error type of the domain. Each variant is one thing a caller can act on; the HTTP
//! status for each is decided in `token-api`, nowhere else.

use std::fmt;

/// A field that failed validation and why, in words an administrator can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The field's name as the admin API spells it (`name`, `expires_at`, …).
    pub field: &'static str,
    /// What is wrong and, where it helps, what to do instead.
    pub message: String,
}

/// What the persistence layer can report, without saying how it is built.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or no connection is free; retrying later may work.
    #[error("the database is unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The database refused or failed a statement.
    #[error("the database failed")]
    Failure(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// The kinds of stored thing a lookup can miss.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    /// A learning area.
    LearningArea,
    /// An account.
    Account,
    /// An access token.
    AccessToken,
    /// A hierarchy level.
    Level,
    /// A user (learner).
    User,
    /// A training.
    Training,
    /// A registration.
    Registration,
    /// A live session.
    LiveSession,
}

impl Entity {
    /// The name used in messages and problem types.
    pub const fn as_str(self) -> &'static str {
        match self {
            Entity::LearningArea => "learning area",
            Entity::Account => "account",
            Entity::AccessToken => "access token",
            Entity::Level => "level",
            Entity::User => "user",
            Entity::Training => "training",
            Entity::Registration => "registration",
            Entity::LiveSession => "live session",
        }
    }
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything a domain operation can refuse.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// Input failed validation; every failing field is listed.
    #[error("invalid input: {}", describe(.0))]
    Invalid(Vec<FieldError>),
    /// An access token needs a learning area and none exists at all.
    #[error("no learning area exists yet: create a learning area first, then create the access token for it")]
    NoLearningAreas,
    /// An edit tried to move an access token to another learning area.
    #[error(
        "the learning area of an access token cannot be changed: create a new access token for the other learning area, update the integration, then revoke this one"
    )]
    LearningAreaImmutable,
    /// The thing does not exist, or is outside what the caller may see.
    #[error("{0} not found")]
    NotFound(Entity),
    /// The actor may not do this (for access tokens: only an active administrator may).
    #[error("only an active administrator may do this")]
    Forbidden,
    /// An expired or revoked access token cannot be edited back to life.
    #[error("the access token is {status} and can no longer be edited: create a new access token instead")]
    NotEditable {
        /// `expired` or `revoked`.
        status: &'static str,
    },
    /// A unique value is already taken.
    #[error("{field}: {message}")]
    Conflict {
        /// The field holding the taken value.
        field: &'static str,
        /// What is taken.
        message: String,
    },
    /// Email and password do not match an active account (deliberately vague).
    #[error("the email or password is wrong, or the account is deactivated")]
    BadCredentials,
    /// No valid session (missing, unknown, ended, expired, or its account deactivated).
    #[error("sign in first: the session is missing, expired or ended")]
    Unauthenticated,
    /// Storage failed; the cause is for the log, not for the caller.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The operating system's random generator failed; nothing can be issued.
    #[error("the operating system's random number generator failed")]
    RandomnessUnavailable,
}

impl CoreError {
    /// One invalid field.
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        CoreError::Invalid(vec![FieldError { field, message: message.into() }])
    }
}

fn describe(fields: &[FieldError]) -> String {
    fields.iter().map(|f| format!("{}: {}", f.field, f.message)).collect::<Vec<_>>().join("; ")
}

/// Decides whether a transaction ended by an error still commits. Some refusals must leave a
/// trace (a failed login, a refused token request): their only write is the audit record of
/// the refusal, and rolling it back would erase the evidence.
pub trait CommitOnError {
    /// Whether the transaction that produced this error commits anyway.
    fn commit_anyway(&self) -> bool;
}

impl CommitOnError for StoreError {
    fn commit_anyway(&self) -> bool {
        false
    }
}

impl CommitOnError for CoreError {
    fn commit_anyway(&self) -> bool {
        matches!(self, CoreError::BadCredentials)
    }
}
