//! The things tokend keeps, and the rules that are properties of one thing.

use std::fmt;

use time::{Duration, OffsetDateTime};

use crate::error::{CoreError, FieldError};
use crate::ids::{AccessTokenId, AccountId, LearningAreaId};
use crate::secret::ClientId;

/// A learning area: the scope an access token is bound to for life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LearningArea {
    /// Its id.
    pub id: LearningAreaId,
    /// Its display name.
    pub name: Name,
    /// When it was created.
    pub created_at: OffsetDateTime,
}

/// What an account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Manages everything, including access tokens.
    Administrator,
    /// May log in and read learning areas; may not touch access tokens.
    Manager,
}

impl Role {
    /// The wire and storage spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Administrator => "administrator",
            Role::Manager => "manager",
        }
    }

    /// Parses the wire spelling.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "administrator" => Some(Role::Administrator),
            "manager" => Some(Role::Manager),
            _ => None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A person who signs in to the admin API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Its id.
    pub id: AccountId,
    /// Login email, stored lower-cased.
    pub email: Email,
    /// Name shown in lists.
    pub display_name: Name,
    /// What the account may do.
    pub role: Role,
    /// Deactivated accounts cannot sign in, and tokens they created stop granting access.
    pub active: bool,
    /// When it was created.
    pub created_at: OffsetDateTime,
}

impl Account {
    /// The one test for "may manage access tokens", and for "do its tokens still grant access".
    pub fn is_active_administrator(&self) -> bool {
        self.active && self.role == Role::Administrator
    }
}

/// An access token: OAuth2 client credentials bound to one learning area, acting as the
/// administrator who created it. Its secret hash is not part of it: only the OAuth2 grant
/// reads that, through its own store method.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessToken {
    /// Its id.
    pub id: AccessTokenId,
    /// Fixed at creation; no edit changes it.
    pub learning_area_id: LearningAreaId,
    /// Descriptive label.
    pub name: Name,
    /// Public OAuth2 client id.
    pub client_id: ClientId,
    /// The administrator it acts as.
    pub created_by: AccountId,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// When it stops granting access.
    pub expires_at: OffsetDateTime,
    /// When it was revoked, if it was.
    pub revoked_at: Option<OffsetDateTime>,
    /// Who revoked it.
    pub revoked_by: Option<AccountId>,
    /// Last successful use (token exchange or integration request), kept approximately.
    pub last_used_at: Option<OffsetDateTime>,
}

/// Why a token that is neither revoked nor expired still grants nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SuspendReason {
    /// The administrator who created it was deactivated.
    CreatorDeactivated,
    /// The administrator who created it is no longer an administrator.
    CreatorNotAdministrator,
}

impl SuspendReason {
    /// The wire spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            SuspendReason::CreatorDeactivated => "creator_deactivated",
            SuspendReason::CreatorNotAdministrator => "creator_not_administrator",
        }
    }
}

/// An access token's state at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenStatus {
    /// Grants access.
    Active,
    /// Past its expiry; never revived.
    Expired,
    /// Revoked; final.
    Revoked,
    /// Its creator can no longer grant what the token would act with.
    Suspended(SuspendReason),
}

impl TokenStatus {
    /// The wire spelling: `active`, `expired`, `revoked` or `suspended`.
    pub const fn as_str(self) -> &'static str {
        match self {
            TokenStatus::Active => "active",
            TokenStatus::Expired => "expired",
            TokenStatus::Revoked => "revoked",
            TokenStatus::Suspended(_) => "suspended",
        }
    }

    /// Whether the token grants access.
    pub const fn grants_access(self) -> bool {
        matches!(self, TokenStatus::Active)
    }
}

/// A status without the suspension reason, for filtering lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusFilter {
    /// Grants access.
    Active,
    /// Past expiry, not revoked.
    Expired,
    /// Revoked.
    Revoked,
    /// Not revoked, not expired, but its creator cannot grant access.
    Suspended,
}

impl StatusFilter {
    /// Parses the wire spelling.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "active" => Some(Self::Active),
            "expired" => Some(Self::Expired),
            "revoked" => Some(Self::Revoked),
            "suspended" => Some(Self::Suspended),
            _ => None,
        }
    }

    /// Whether a status falls under this filter.
    pub fn matches(self, status: TokenStatus) -> bool {
        matches!(
            (self, status),
            (Self::Active, TokenStatus::Active)
                | (Self::Expired, TokenStatus::Expired)
                | (Self::Revoked, TokenStatus::Revoked)
                | (Self::Suspended, TokenStatus::Suspended(_))
        )
    }
}

impl AccessToken {
    /// The status at `now`, given the account that created the token. Revocation wins over
    /// expiry (it is the stronger, deliberate act), expiry over suspension.
    pub fn status(&self, now: OffsetDateTime, creator: &Account) -> TokenStatus {
        if self.revoked_at.is_some() {
            TokenStatus::Revoked
        } else if now >= self.expires_at {
            TokenStatus::Expired
        } else if !creator.active {
            TokenStatus::Suspended(SuspendReason::CreatorDeactivated)
        } else if creator.role != Role::Administrator {
            TokenStatus::Suspended(SuspendReason::CreatorNotAdministrator)
        } else {
            TokenStatus::Active
        }
    }
}

/// A display name (of a token, an area, an account): trimmed, 1 to 100 characters, no control
/// characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name(String);

impl Name {
    /// Longest accepted name, in characters.
    pub const MAX_CHARS: usize = 100;

    /// Validates `raw` as the value of `field`.
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, FieldError> {
        let trimmed = raw.trim();
        let message = if trimmed.is_empty() {
            "is required".to_owned()
        } else if trimmed.chars().count() > Self::MAX_CHARS {
            format!("must be at most {} characters", Self::MAX_CHARS)
        } else if trimmed.chars().any(char::is_control) {
            "must not contain control characters".to_owned()
        } else {
            return Ok(Self(trimmed.to_owned()));
        };
        Err(FieldError { field, message })
    }

    /// Wraps a value read back from storage.
    pub fn from_stored(raw: String) -> Self {
        Self(raw)
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A login email: trimmed, lower-cased, one `@` with text on both sides, at most 254 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// Validates `raw` as the value of `field`.
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, FieldError> {
        let email = raw.trim().to_lowercase();
        let valid = email.len() <= 254
            && !email.chars().any(|c| c.is_whitespace() || c.is_control())
            && matches!(email.split_once('@'), Some((local, domain))
                if !local.is_empty() && !domain.is_empty() && !domain.contains('@'));
        if valid {
            Ok(Self(email))
        } else {
            Err(FieldError { field, message: "must be an email address such as admin@example.com".to_owned() })
        }
    }

    /// Wraps a value read back from storage.
    pub fn from_stored(raw: String) -> Self {
        Self(raw)
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How long access tokens live: the default when none is asked for, and the most allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpiryPolicy {
    /// Lifetime when the creator gives no expiry (the guide: one year).
    pub default_lifetime: Duration,
    /// Longest lifetime, counted from creation, that create or edit may set.
    pub max_lifetime: Duration,
}

impl Default for ExpiryPolicy {
    fn default() -> Self {
        Self { default_lifetime: Duration::days(365), max_lifetime: Duration::days(730) }
    }
}

impl ExpiryPolicy {
    /// The expiry of a token created at `created_at`, asked for as `requested` at `now`.
    pub fn resolve(
        &self,
        now: OffsetDateTime,
        created_at: OffsetDateTime,
        requested: Option<OffsetDateTime>,
    ) -> Result<OffsetDateTime, CoreError> {
        let expires_at = match requested {
            None => created_at + self.default_lifetime,
            Some(at) => crate::clock::truncate_to_seconds(at),
        };
        if expires_at <= now {
            return Err(CoreError::invalid("expires_at", "must be in the future"));
        }
        if expires_at - created_at > self.max_lifetime {
            return Err(CoreError::invalid(
                "expires_at",
                format!("may be at most {} days after the token's creation", self.max_lifetime.whole_days()),
            ));
        }
        Ok(expires_at)
    }
}
