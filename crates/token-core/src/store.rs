//! What the domain needs from storage. `token-store` implements these traits with diesel; an
//! embedding team may implement them over its own database.
//!
//! Methods are coarse: one per unit of work, and every write takes the audit event that
//! records it, so the change and its record are written together. The services in
//! [`crate::service`] expect to be called inside one transaction of the implementation (the
//! `token-store` pool's `transaction` does that), so a check and the write it guards see the
//! same data.

use time::OffsetDateTime;

use crate::audit::AuditAction;
use crate::audit::AuditEvent;
use crate::error::StoreError;
use crate::ids::{AccessTokenId, AccountId, AuditEventId, BearerTokenId, LearningAreaId};
use crate::learning::{
    AreaScope, Attendance, Level, LevelId, LiveSession, LiveSessionId, Registration, RegistrationId,
    RegistrationStatus, Training, TrainingId, User, UserId,
};
use crate::model::{AccessToken, Account, Email, LearningArea, Name, Role, StatusFilter};
use crate::secret::{ClientId, SecretHash};

/// An access token with the things its answers always need: its learning area and its creator
/// (whose state decides whether the token is suspended).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessTokenRecord {
    /// The token.
    pub token: AccessToken,
    /// Its learning area.
    pub learning_area: LearningArea,
    /// The administrator it acts as.
    pub creator: Account,
}

/// A new access token, ready to insert.
#[derive(Debug, Clone)]
pub struct NewAccessToken {
    /// Its learning area.
    pub learning_area_id: LearningAreaId,
    /// Its name.
    pub name: Name,
    /// Its public client id.
    pub client_id: ClientId,
    /// The argon2id hash of its secret.
    pub secret_hash: SecretHash,
    /// Its creator.
    pub created_by: AccountId,
    /// When.
    pub created_at: OffsetDateTime,
    /// When it expires.
    pub expires_at: OffsetDateTime,
}

/// A new account, ready to insert.
#[derive(Debug, Clone)]
pub struct NewAccount {
    /// Login email.
    pub email: Email,
    /// Display name.
    pub display_name: Name,
    /// Role.
    pub role: Role,
    /// argon2id hash of the password.
    pub password_hash: SecretHash,
    /// When.
    pub created_at: OffsetDateTime,
}

/// Which access tokens to list. Newest first (by id, which only grows), `limit` of them, older
/// than the `before` cursor when it is given.
#[derive(Debug, Clone, Default)]
pub struct AccessTokenQuery {
    /// Only tokens with this status at `now`.
    pub status: Option<StatusFilter>,
    /// Only tokens of this learning area.
    pub learning_area_id: Option<LearningAreaId>,
    /// Only tokens expiring (not yet expired) before this instant.
    pub expiring_before: Option<OffsetDateTime>,
    /// Only tokens whose name contains this text, ignoring ASCII case.
    pub name_contains: Option<String>,
    /// Only tokens with a smaller id (the cursor of the previous page).
    pub before: Option<AccessTokenId>,
    /// At most this many.
    pub limit: u32,
}

/// Storage for the admin-side services.
pub trait Store {
    /// One account.
    fn account(&mut self, id: AccountId) -> Result<Option<Account>, StoreError>;
    /// An account and its password hash, by email.
    fn account_credentials(&mut self, email: &Email) -> Result<Option<(Account, SecretHash)>, StoreError>;
    /// All accounts, oldest first.
    fn list_accounts(&mut self) -> Result<Vec<Account>, StoreError>;
    /// How many accounts exist.
    fn count_accounts(&mut self) -> Result<i64, StoreError>;
    /// Inserts an account; the audit event's target id is set to the new id.
    fn insert_account(&mut self, new: &NewAccount, audit: AuditEvent) -> Result<Account, StoreError>;
    /// Writes an account's role, active flag and display name (never its email or password).
    fn update_account(&mut self, account: &Account, audit: AuditEvent) -> Result<(), StoreError>;

    /// One learning area.
    fn learning_area(&mut self, id: LearningAreaId) -> Result<Option<LearningArea>, StoreError>;
    /// All learning areas, oldest first.
    fn list_learning_areas(&mut self) -> Result<Vec<LearningArea>, StoreError>;
    /// How many learning areas exist.
    fn count_learning_areas(&mut self) -> Result<i64, StoreError>;
    /// Inserts a learning area; the audit event's target id is set to the new id.
    fn insert_learning_area(
        &mut self,
        name: &Name,
        created_at: OffsetDateTime,
        audit: AuditEvent,
    ) -> Result<LearningArea, StoreError>;
    /// Renames a learning area.
    fn rename_learning_area(&mut self, id: LearningAreaId, name: &Name, audit: AuditEvent) -> Result<(), StoreError>;

    /// One access token with its area and creator.
    fn access_token(&mut self, id: AccessTokenId) -> Result<Option<AccessTokenRecord>, StoreError>;
    /// A page of access tokens; `now` decides the status filter.
    fn list_access_tokens(
        &mut self,
        query: &AccessTokenQuery,
        now: OffsetDateTime,
    ) -> Result<Vec<AccessTokenRecord>, StoreError>;
    /// Inserts an access token; the audit event's target id is set to the new id.
    fn insert_access_token(&mut self, new: &NewAccessToken, audit: AuditEvent) -> Result<AccessToken, StoreError>;
    /// Writes the mutable fields of an access token: name, expiry, revocation. Never its
    /// learning area, client id, secret hash or creator.
    fn update_access_token(&mut self, token: &AccessToken, audit: AuditEvent) -> Result<(), StoreError>;

    /// Records an event that goes with no change (a refused act).
    fn record_audit(&mut self, audit: AuditEvent) -> Result<(), StoreError>;
    /// A page of audit events, newest first.
    fn list_audit_events(&mut self, query: &AuditQuery) -> Result<Vec<StoredAuditEvent>, StoreError>;

    /// Stores a new admin session with the audit event of the login.
    fn insert_session(&mut self, new: &NewSession, audit: AuditEvent) -> Result<(), StoreError>;
    /// The session with this token hash, with its account.
    fn session(&mut self, token_hash: &[u8; 32]) -> Result<Option<SessionRecord>, StoreError>;
    /// Ends a session (keeps an earlier end).
    fn end_session(&mut self, token_hash: &[u8; 32], at: OffsetDateTime, audit: AuditEvent) -> Result<(), StoreError>;
    /// Deletes sessions that can never work again (expired or signed out by `now`). Returns
    /// how many.
    fn purge_sessions(&mut self, now: OffsetDateTime) -> Result<u64, StoreError>;
}

/// A new admin session: only the SHA-256 of its token is kept.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// SHA-256 of the session token.
    pub token_hash: [u8; 32],
    /// Whose session.
    pub account_id: AccountId,
    /// When it began.
    pub created_at: OffsetDateTime,
    /// When it ends at the latest.
    pub expires_at: OffsetDateTime,
}

/// A stored session with its account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    /// The account signed in.
    pub account: Account,
    /// When it began.
    pub created_at: OffsetDateTime,
    /// When it ends at the latest.
    pub expires_at: OffsetDateTime,
    /// When it was ended by logout.
    pub ended_at: Option<OffsetDateTime>,
}

/// Which audit events to list: newest first, `limit` of them, older than `before`.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Actor kind (`account`, `access_token`, `system`, `anonymous`).
    pub actor_kind: Option<String>,
    /// Actor id.
    pub actor_id: Option<String>,
    /// Target kind (`access_token`, `account`, `learning_area`).
    pub target_kind: Option<String>,
    /// Target id.
    pub target_id: Option<i64>,
    /// Only this action.
    pub action: Option<AuditAction>,
    /// Only events at or after this instant.
    pub from: Option<OffsetDateTime>,
    /// Only events before this instant.
    pub to: Option<OffsetDateTime>,
    /// Only events with a smaller id (the cursor).
    pub before: Option<AuditEventId>,
    /// At most this many.
    pub limit: u32,
}

/// An audit event as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAuditEvent {
    /// Its id.
    pub id: AuditEventId,
    /// When.
    pub occurred_at: OffsetDateTime,
    /// Actor kind.
    pub actor_kind: String,
    /// Actor id.
    pub actor_id: Option<String>,
    /// Action.
    pub action: String,
    /// Target kind.
    pub target_kind: Option<String>,
    /// Target id.
    pub target_id: Option<i64>,
    /// `success` or `failure`.
    pub outcome: String,
    /// The non-secret details, as a JSON object.
    pub details_json: String,
}

/// An access token as an OAuth2 client: with its secret hash, for the one place that verifies.
#[derive(Debug, Clone)]
pub struct ClientRecord {
    /// The access token.
    pub token: AccessToken,
    /// The argon2id hash of its secret.
    pub secret_hash: SecretHash,
    /// Its creator.
    pub creator: Account,
}

/// A new bearer token row: only the SHA-256 of the token is kept.
#[derive(Debug, Clone)]
pub struct NewBearerToken {
    /// SHA-256 of the bearer token.
    pub token_hash: [u8; 32],
    /// The access token it was issued to.
    pub access_token_id: AccessTokenId,
    /// When.
    pub issued_at: OffsetDateTime,
    /// When it stops working (never after the access token's expiry).
    pub expires_at: OffsetDateTime,
}

/// A stored bearer token with everything validation needs, read in one query.
#[derive(Debug, Clone)]
pub struct BearerRecord {
    /// Its row id.
    pub id: BearerTokenId,
    /// When it was issued.
    pub issued_at: OffsetDateTime,
    /// When it stops working.
    pub expires_at: OffsetDateTime,
    /// When it was revoked through `/oauth/revoke`.
    pub revoked_at: Option<OffsetDateTime>,
    /// The access token it was issued to, with area and creator.
    pub access_token: AccessTokenRecord,
}

/// Storage for the OAuth2 grant and bearer validation.
pub trait OAuthStore {
    /// The access token whose client id this is, with its secret hash and creator.
    fn client(&mut self, client_id: &ClientId) -> Result<Option<ClientRecord>, StoreError>;
    /// Stores a new bearer token.
    fn insert_bearer_token(&mut self, new: &NewBearerToken) -> Result<BearerTokenId, StoreError>;
    /// The bearer token with this hash, joined with its access token, area and creator.
    fn bearer_token(&mut self, token_hash: &[u8; 32]) -> Result<Option<BearerRecord>, StoreError>;
    /// Marks a bearer token revoked (keeps an earlier revocation time).
    fn revoke_bearer_token(
        &mut self,
        id: BearerTokenId,
        at: OffsetDateTime,
        audit: AuditEvent,
    ) -> Result<(), StoreError>;
    /// Moves `last_used_at` forward to each given time, for tokens whose recorded last use is
    /// older than that time minus `step` (never back; `step` bounds how often a busy token's
    /// row is rewritten).
    fn touch_access_tokens(
        &mut self,
        last_used: &[(AccessTokenId, OffsetDateTime)],
        step: time::Duration,
    ) -> Result<(), StoreError>;
    /// Deletes bearer tokens that can never work again: expired, revoked, or of a revoked or
    /// expired access token. Returns how many.
    fn purge_bearer_tokens(&mut self, now: OffsetDateTime) -> Result<u64, StoreError>;
    /// Records an event that goes with no change (a refused token request).
    fn record_oauth_audit(&mut self, audit: AuditEvent) -> Result<(), StoreError>;
    /// The credential epoch: a counter the store moves forward, in the same transaction, with
    /// every change that can alter what a bearer validation answers (a revocation, an expiry or
    /// name change, an account deactivated or demoted, an area renamed). Validation caches
    /// are flushed when it moves.
    fn credential_epoch(&mut self) -> Result<i64, StoreError>;
}

/// Hands out an [`OAuthStore`] for one short unit of work. The OAuth2 grant holds no
/// connection while it runs argon2, so it asks for the store twice (look up, then issue)
/// instead of taking one for the whole request.
pub trait OAuthStorage: Send + Sync {
    /// Runs `f` with a store; the connection is released when `f` returns.
    fn with_oauth_store<T>(
        &self,
        f: impl FnOnce(&mut dyn OAuthStore) -> Result<T, StoreError>,
    ) -> Result<T, StoreError>;
    /// Runs `f` in one transaction: its writes commit together when it succeeds, and none
    /// does when it fails.
    fn with_oauth_transaction<T>(
        &self,
        f: impl FnOnce(&mut dyn OAuthStore) -> Result<T, StoreError>,
    ) -> Result<T, StoreError>;
}

/// Which registrations to list: newest first (by id), filtered.
#[derive(Debug, Clone, Default)]
pub struct RegistrationQuery {
    /// Only this training.
    pub training_id: Option<crate::learning::TrainingId>,
    /// Only this user.
    pub user_id: Option<crate::learning::UserId>,
    /// Only this status.
    pub status: Option<crate::learning::RegistrationStatus>,
    /// Only registered at or after.
    pub since: Option<OffsetDateTime>,
    /// Cursor: only smaller ids.
    pub before: Option<i64>,
    /// At most this many.
    pub limit: u32,
}

/// Which live sessions to list: newest first (by id), filtered.
#[derive(Debug, Clone, Default)]
pub struct LiveSessionQuery {
    /// Only this training.
    pub training_id: Option<crate::learning::TrainingId>,
    /// Only sessions starting at or after.
    pub from: Option<OffsetDateTime>,
    /// Only sessions starting before.
    pub to: Option<OffsetDateTime>,
    /// Cursor: only smaller ids.
    pub before: Option<i64>,
    /// At most this many.
    pub limit: u32,
}

/// Storage for a learning area's data. Every method takes the [`AreaScope`] and confines its
/// query to that area; there is no unscoped method.
///
/// [`AreaScope`]: crate::learning::AreaScope
pub trait LearningStore {
    /// Levels of the area, top-down by id.
    fn levels(&mut self, scope: AreaScope) -> Result<Vec<Level>, StoreError>;
    /// One level.
    fn level(&mut self, scope: AreaScope, id: LevelId) -> Result<Option<Level>, StoreError>;
    /// Adds a level.
    fn insert_level(
        &mut self,
        scope: AreaScope,
        parent_id: Option<LevelId>,
        name: &Name,
        at: OffsetDateTime,
    ) -> Result<Level, StoreError>;

    /// Users, newest first, older than `before`.
    fn users(&mut self, scope: AreaScope, before: Option<i64>, limit: u32) -> Result<Vec<User>, StoreError>;
    /// One user.
    fn user(&mut self, scope: AreaScope, id: UserId) -> Result<Option<User>, StoreError>;
    /// The user with this email.
    fn user_by_email(&mut self, scope: AreaScope, email: &Email) -> Result<Option<User>, StoreError>;
    /// Adds a user.
    fn insert_user(
        &mut self,
        scope: AreaScope,
        name: &Name,
        email: &Email,
        level_id: Option<LevelId>,
        at: OffsetDateTime,
    ) -> Result<User, StoreError>;

    /// Trainings, newest first.
    fn trainings(&mut self, scope: AreaScope, before: Option<i64>, limit: u32) -> Result<Vec<Training>, StoreError>;
    /// One training.
    fn training(&mut self, scope: AreaScope, id: TrainingId) -> Result<Option<Training>, StoreError>;
    /// Adds a training.
    fn insert_training(
        &mut self,
        scope: AreaScope,
        title: &Name,
        description: &str,
        level_id: Option<LevelId>,
        at: OffsetDateTime,
    ) -> Result<Training, StoreError>;
    /// (status, score) of every registration to a training.
    fn training_results(
        &mut self,
        scope: AreaScope,
        id: TrainingId,
    ) -> Result<Vec<(RegistrationStatus, Option<u8>)>, StoreError>;

    /// Registrations, newest first.
    fn registrations(&mut self, scope: AreaScope, query: &RegistrationQuery) -> Result<Vec<Registration>, StoreError>;
    /// One registration.
    fn registration(&mut self, scope: AreaScope, id: RegistrationId) -> Result<Option<Registration>, StoreError>;
    /// The registration of a user to a training.
    fn registration_of(
        &mut self,
        scope: AreaScope,
        user_id: UserId,
        training_id: TrainingId,
    ) -> Result<Option<Registration>, StoreError>;
    /// Adds a registration (not started).
    fn insert_registration(
        &mut self,
        scope: AreaScope,
        user_id: UserId,
        training_id: TrainingId,
        at: OffsetDateTime,
    ) -> Result<Registration, StoreError>;
    /// Writes progress, status, score and completion.
    fn update_registration(&mut self, scope: AreaScope, registration: &Registration) -> Result<(), StoreError>;
    /// Completed registrations, newest completion first, after the `(completed_at, id)` cursor.
    fn completions(
        &mut self,
        scope: AreaScope,
        since: Option<OffsetDateTime>,
        before: Option<(OffsetDateTime, RegistrationId)>,
        limit: u32,
    ) -> Result<Vec<Registration>, StoreError>;

    /// Live sessions, newest first, without attendees.
    fn live_sessions(&mut self, scope: AreaScope, query: &LiveSessionQuery) -> Result<Vec<LiveSession>, StoreError>;
    /// One live session with its attendees.
    fn live_session(&mut self, scope: AreaScope, id: LiveSessionId) -> Result<Option<LiveSession>, StoreError>;
    /// Adds a live session.
    fn insert_live_session(
        &mut self,
        scope: AreaScope,
        training_id: TrainingId,
        title: &Name,
        starts_at: OffsetDateTime,
        ends_at: OffsetDateTime,
        at: OffsetDateTime,
    ) -> Result<LiveSession, StoreError>;
    /// Sets a user's attendance of a live session.
    fn set_attendance(
        &mut self,
        scope: AreaScope,
        session: LiveSessionId,
        user_id: UserId,
        attendance: Attendance,
    ) -> Result<(), StoreError>;
}
