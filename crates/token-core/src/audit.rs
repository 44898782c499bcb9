//! Audit events: who did what to which thing, and whether it worked. Written by the store in the
//! same transaction as the change they record. Never a secret: details are chosen facts, built
//! here, not free-form copies of requests.

use std::fmt;

use time::OffsetDateTime;

use crate::ids::{AccessTokenId, AccountId};

/// Who acted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A signed-in account.
    Account(AccountId),
    /// An access token acting through OAuth2.
    AccessToken(AccessTokenId),
    /// tokend itself or its command line (bootstrap, CLI, purge).
    System,
    /// Someone not (yet) identified, such as a failed login or token request.
    Anonymous,
}

impl Actor {
    /// (kind, id) as stored.
    pub fn parts(&self) -> (&'static str, Option<String>) {
        match self {
            Actor::Account(id) => ("account", Some(id.to_string())),
            Actor::AccessToken(id) => ("access_token", Some(id.to_string())),
            Actor::System => ("system", None),
            Actor::Anonymous => ("anonymous", None),
        }
    }
}

/// What was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditAction {
    /// A learning area was created.
    LearningAreaCreate,
    /// A learning area was renamed.
    LearningAreaRename,
    /// An account was created.
    AccountCreate,
    /// An account was deactivated.
    AccountDeactivate,
    /// An account's role changed.
    AccountRoleChange,
    /// Someone signed in, or tried to.
    SessionLogin,
    /// A session was ended.
    SessionLogout,
    /// An access token was created.
    AccessTokenCreate,
    /// An access token's name or expiry changed.
    AccessTokenEdit,
    /// An access token was revoked.
    AccessTokenRevoke,
    /// `/oauth/token` issued a bearer token, or refused to.
    OAuthTokenRequest,
    /// A bearer token was revoked through `/oauth/revoke`.
    OAuthBearerRevoke,
}

impl AuditAction {
    /// Every action, for parsing and documentation.
    pub const ALL: [AuditAction; 12] = [
        Self::LearningAreaCreate,
        Self::LearningAreaRename,
        Self::AccountCreate,
        Self::AccountDeactivate,
        Self::AccountRoleChange,
        Self::SessionLogin,
        Self::SessionLogout,
        Self::AccessTokenCreate,
        Self::AccessTokenEdit,
        Self::AccessTokenRevoke,
        Self::OAuthTokenRequest,
        Self::OAuthBearerRevoke,
    ];

    /// The stored and wire spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::LearningAreaCreate => "learning_area.create",
            Self::LearningAreaRename => "learning_area.rename",
            Self::AccountCreate => "account.create",
            Self::AccountDeactivate => "account.deactivate",
            Self::AccountRoleChange => "account.role_change",
            Self::SessionLogin => "session.login",
            Self::SessionLogout => "session.logout",
            Self::AccessTokenCreate => "access_token.create",
            Self::AccessTokenEdit => "access_token.edit",
            Self::AccessTokenRevoke => "access_token.revoke",
            Self::OAuthTokenRequest => "oauth.token",
            Self::OAuthBearerRevoke => "oauth.revoke",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == raw)
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The kind of thing acted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    /// A learning area.
    LearningArea,
    /// An account.
    Account,
    /// An access token.
    AccessToken,
}

impl TargetKind {
    /// The stored spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            TargetKind::LearningArea => "learning_area",
            TargetKind::Account => "account",
            TargetKind::AccessToken => "access_token",
        }
    }
}

/// The thing acted on. `id` is `None` for a row being inserted: the store fills in the new id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Its kind.
    pub kind: TargetKind,
    /// Its id, once known.
    pub id: Option<i64>,
}

/// Whether the act succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// It was done.
    Success,
    /// It was refused; `details` says which rule refused it.
    Failure,
}

impl Outcome {
    /// The stored spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
        }
    }
}

/// One audit record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// When.
    pub occurred_at: OffsetDateTime,
    /// Who.
    pub actor: Actor,
    /// What.
    pub action: AuditAction,
    /// To which thing.
    pub target: Option<Target>,
    /// Whether it worked.
    pub outcome: Outcome,
    /// Non-secret facts: which fields changed, which rule refused, the public client id.
    pub details: Vec<(&'static str, String)>,
}

impl AuditEvent {
    /// A successful act on `target`.
    pub fn success(occurred_at: OffsetDateTime, actor: Actor, action: AuditAction, target: Option<Target>) -> Self {
        Self { occurred_at, actor, action, target, outcome: Outcome::Success, details: Vec::new() }
    }

    /// A refused act; `reason` names the rule.
    pub fn failure(
        occurred_at: OffsetDateTime,
        actor: Actor,
        action: AuditAction,
        target: Option<Target>,
        reason: &str,
    ) -> Self {
        Self {
            occurred_at,
            actor,
            action,
            target,
            outcome: Outcome::Failure,
            details: vec![("reason", reason.to_owned())],
        }
    }

    /// Adds one non-secret fact.
    pub fn with(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.details.push((key, value.into()));
        self
    }
}
