//! The operations the admin API and the command line both call. Each is written against
//! [`Store`] and expects to run inside one transaction (see [`crate::store`]). The actor is
//! re-read inside that transaction, so a deactivation that commits first is always seen.

use time::{Duration, OffsetDateTime};

use crate::audit::{Actor, AuditAction, AuditEvent, Target, TargetKind};
use crate::clock::Clock;
use crate::error::{CoreError, Entity, FieldError};
use crate::ids::{AccessTokenId, AccountId, LearningAreaId};
use crate::model::{AccessToken, Account, Email, ExpiryPolicy, LearningArea, Name, Role, StatusFilter, TokenStatus};
use crate::secret::{ClientId, ClientSecret, Password, SecretHash, SecretHasher};
use crate::store::{AccessTokenQuery, AccessTokenRecord, NewAccessToken, NewAccount, Store};

/// Who asks for an operation: an account, or tokend's own command line (which runs with the
/// operator's access to the machine and the database, so it acts as the system).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// A signed-in account; checked on every call.
    Account(AccountId),
    /// The command line on the server itself.
    System,
}

impl Caller {
    fn actor(self) -> Actor {
        match self {
            Caller::Account(id) => Actor::Account(id),
            Caller::System => Actor::System,
        }
    }
}

/// An access token with its status at the instant it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessTokenDetails {
    /// The token, its area and its creator.
    pub record: AccessTokenRecord,
    /// Its status.
    pub status: TokenStatus,
}

impl AccessTokenDetails {
    fn at(record: AccessTokenRecord, now: OffsetDateTime) -> Self {
        let status = record.token.status(now, &record.creator);
        Self { record, status }
    }
}

/// The answer to a create: the only time the plaintext secret exists outside the caller.
#[derive(Debug)]
pub struct CreatedAccessToken {
    /// The new token.
    pub details: AccessTokenDetails,
    /// Its secret, to be shown once.
    pub client_secret: ClientSecret,
}

/// What an administrator fills in to create an access token.
#[derive(Debug, Clone, Default)]
pub struct CreateAccessToken {
    /// The learning area the token will be bound to.
    pub learning_area_id: Option<LearningAreaId>,
    /// Its name.
    pub name: String,
    /// Its expiry; one year from now when absent.
    pub expires_at: Option<OffsetDateTime>,
}

/// What an edit may change. A learning area, if given, must equal the token's own: anything
/// else is refused with [`CoreError::LearningAreaImmutable`].
#[derive(Debug, Clone, Default)]
pub struct EditAccessToken {
    /// New name.
    pub name: Option<String>,
    /// New expiry.
    pub expires_at: Option<OffsetDateTime>,
    /// A learning area the caller tried to set.
    pub learning_area_id: Option<LearningAreaId>,
}

/// The list parameters an administrator gives.
#[derive(Debug, Clone, Default)]
pub struct ListAccessTokens {
    /// Status filter.
    pub status: Option<StatusFilter>,
    /// Learning area filter.
    pub learning_area_id: Option<LearningAreaId>,
    /// Only tokens that expire within this many days (and have not expired).
    pub expiring_within_days: Option<u32>,
    /// Name contains.
    pub q: Option<String>,
    /// Cursor: the last id of the previous page.
    pub before: Option<AccessTokenId>,
    /// Page size, 1 to 500 (default 50).
    pub limit: Option<u32>,
}

/// A page of a list and the cursor for the next one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Pass as `before` to get the next page; `None` on the last page.
    pub next_cursor: Option<i64>,
}

/// Default page size.
pub const DEFAULT_LIMIT: u32 = 50;
/// Largest page size.
pub const MAX_LIMIT: u32 = 500;

/// Checks a requested page size.
pub fn page_limit(limit: Option<u32>) -> Result<u32, CoreError> {
    match limit {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(_) => Err(CoreError::invalid("limit", format!("must be between 1 and {MAX_LIMIT}"))),
    }
}

/// The caller's account if it is an active administrator. The one place the rule "only an
/// active administrator may manage access tokens" is decided.
pub(crate) fn require_administrator<S: Store + ?Sized>(
    store: &mut S,
    caller: Caller,
) -> Result<Option<Account>, CoreError> {
    match caller {
        Caller::System => Ok(None),
        Caller::Account(id) => match store.account(id)? {
            Some(account) if account.is_active_administrator() => Ok(Some(account)),
            _ => Err(CoreError::Forbidden),
        },
    }
}

/// The caller's account if it is active (any role): enough to read learning areas.
fn require_active<S: Store + ?Sized>(store: &mut S, caller: Caller) -> Result<(), CoreError> {
    match caller {
        Caller::System => Ok(()),
        Caller::Account(id) => match store.account(id)? {
            Some(account) if account.active => Ok(()),
            _ => Err(CoreError::Forbidden),
        },
    }
}

fn collect<T>(result: Result<T, FieldError>, errors: &mut Vec<FieldError>) -> Option<T> {
    result.map_err(|e| errors.push(e)).ok()
}

fn field_errors(result: Result<OffsetDateTime, CoreError>, errors: &mut Vec<FieldError>) -> Option<OffsetDateTime> {
    match result {
        Ok(at) => Some(at),
        Err(CoreError::Invalid(mut fields)) => {
            errors.append(&mut fields);
            None
        }
        Err(_) => None,
    }
}

// ---------------------------------------------------------------- learning areas

/// Creates a learning area (administrators only).
pub fn create_learning_area<S: Store + ?Sized>(
    store: &mut S,
    clock: &dyn Clock,
    caller: Caller,
    name: &str,
) -> Result<LearningArea, CoreError> {
    require_administrator(store, caller)?;
    let name = Name::parse("name", name).map_err(|e| CoreError::Invalid(vec![e]))?;
    let now = clock.now();
    let audit = AuditEvent::success(
        now,
        caller.actor(),
        AuditAction::LearningAreaCreate,
        Some(Target { kind: TargetKind::LearningArea, id: None }),
    )
    .with("name", name.as_str());
    Ok(store.insert_learning_area(&name, now, audit)?)
}

/// Renames a learning area (administrators only). Its tokens stay bound to it.
pub fn rename_learning_area<S: Store + ?Sized>(
    store: &mut S,
    clock: &dyn Clock,
    caller: Caller,
    id: LearningAreaId,
    name: &str,
) -> Result<LearningArea, CoreError> {
    require_administrator(store, caller)?;
    let name = Name::parse("name", name).map_err(|e| CoreError::Invalid(vec![e]))?;
    let mut area = store.learning_area(id)?.ok_or(CoreError::NotFound(Entity::LearningArea))?;
    let audit = AuditEvent::success(
        clock.now(),
        caller.actor(),
        AuditAction::LearningAreaRename,
        Some(Target { kind: TargetKind::LearningArea, id: Some(id.get()) }),
    )
    .with("old_name", area.name.as_str())
    .with("name", name.as_str());
    store.rename_learning_area(id, &name, audit)?;
    area.name = name;
    Ok(area)
}

/// All learning areas (any active account).
pub fn list_learning_areas<S: Store + ?Sized>(store: &mut S, caller: Caller) -> Result<Vec<LearningArea>, CoreError> {
    require_active(store, caller)?;
    Ok(store.list_learning_areas()?)
}

/// One learning area (any active account).
pub fn get_learning_area<S: Store + ?Sized>(
    store: &mut S,
    caller: Caller,
    id: LearningAreaId,
) -> Result<LearningArea, CoreError> {
    require_active(store, caller)?;
    store.learning_area(id)?.ok_or(CoreError::NotFound(Entity::LearningArea))
}

// ---------------------------------------------------------------- accounts

/// What is needed to create an account.
#[derive(Debug, Clone)]
pub struct CreateAccount {
    /// Login email.
    pub email: String,
    /// Display name.
    pub display_name: String,
    /// Role.
    pub role: Role,
    /// Initial password.
    pub password: Password,
}

/// Creates an account (administrators, or the system for bootstrap).
pub fn create_account<S: Store + ?Sized>(
    store: &mut S,
    clock: &dyn Clock,
    hasher: &SecretHasher,
    caller: Caller,
    new: CreateAccount,
) -> Result<Account, CoreError> {
    require_administrator(store, caller)?;
    let mut errors = Vec::new();
    let email = collect(Email::parse("email", &new.email), &mut errors);
    let display_name = collect(Name::parse("display_name", &new.display_name), &mut errors);
    let (Some(email), Some(display_name)) = (email, display_name) else {
        return Err(CoreError::Invalid(errors));
    };
    if store.account_credentials(&email)?.is_some() {
        return Err(CoreError::Conflict { field: "email", message: "an account with this email exists".to_owned() });
    }
    let now = clock.now();
    let password_hash = hasher.hash_password(&new.password)?;
    let audit = AuditEvent::success(
        now,
        caller.actor(),
        AuditAction::AccountCreate,
        Some(Target { kind: TargetKind::Account, id: None }),
    )
    .with("email", email.as_str())
    .with("role", new.role.as_str());
    let account = NewAccount { email, display_name, role: new.role, password_hash, created_at: now };
    Ok(store.insert_account(&account, audit)?)
}

/// Deactivates an account. Its sessions end and the access tokens it created are suspended
/// (they stop granting access at once; the status is derived, so nothing else is written).
pub fn deactivate_account<S: Store + ?Sized>(
    store: &mut S,
    clock: &dyn Clock,
    caller: Caller,
    id: AccountId,
) -> Result<Account, CoreError> {
    require_administrator(store, caller)?;
    let mut account = store.account(id)?.ok_or(CoreError::NotFound(Entity::Account))?;
    if !account.active {
        return Ok(account);
    }
    account.active = false;
    let audit = AuditEvent::success(
        clock.now(),
        caller.actor(),
        AuditAction::AccountDeactivate,
        Some(Target { kind: TargetKind::Account, id: Some(id.get()) }),
    );
    store.update_account(&account, audit)?;
    Ok(account)
}

/// Changes an account's role. Demoting an administrator suspends the tokens it created.
pub fn change_role<S: Store + ?Sized>(
    store: &mut S,
    clock: &dyn Clock,
    caller: Caller,
    id: AccountId,
    role: Role,
) -> Result<Account, CoreError> {
    require_administrator(store, caller)?;
    let mut account = store.account(id)?.ok_or(CoreError::NotFound(Entity::Account))?;
    if account.role == role {
        return Ok(account);
    }
    let audit = AuditEvent::success(
        clock.now(),
        caller.actor(),
        AuditAction::AccountRoleChange,
        Some(Target { kind: TargetKind::Account, id: Some(id.get()) }),
    )
    .with("old_role", account.role.as_str())
    .with("role", role.as_str());
    account.role = role;
    store.update_account(&account, audit)?;
    Ok(account)
}

/// All accounts (administrators only).
pub fn list_accounts<S: Store + ?Sized>(store: &mut S, caller: Caller) -> Result<Vec<Account>, CoreError> {
    require_administrator(store, caller)?;
    Ok(store.list_accounts()?)
}

// ---------------------------------------------------------------- access tokens

/// Creates an access token bound to a learning area. The plaintext secret is in the answer
/// and nowhere else; only its argon2id hash is stored.
pub fn create_access_token<S: Store + ?Sized>(
    store: &mut S,
    clock: &dyn Clock,
    hasher: &SecretHasher,
    policy: &ExpiryPolicy,
    caller: Caller,
    request: CreateAccessToken,
) -> Result<CreatedAccessToken, CoreError> {
    let creator = require_administrator(store, caller)?;
    let Some(creator) = creator else {
        return Err(CoreError::invalid("created_by", "an access token must be created by an administrator"));
    };
    let now = clock.now();
    let mut errors = Vec::new();
    let name = collect(Name::parse("name", &request.name), &mut errors);
    let expires_at = field_errors(policy.resolve(now, now, request.expires_at), &mut errors);
    let area = match request.learning_area_id {
        None => {
            if store.count_learning_areas()? == 0 {
                return Err(CoreError::NoLearningAreas);
            }
            errors.push(FieldError { field: "learning_area_id", message: "is required".to_owned() });
            None
        }
        Some(id) => match store.learning_area(id)? {
            Some(area) => Some(area),
            None if store.count_learning_areas()? == 0 => return Err(CoreError::NoLearningAreas),
            None => {
                errors.push(FieldError {
                    field: "learning_area_id",
                    message: format!("no learning area has the id {id}"),
                });
                None
            }
        },
    };
    let (Some(name), Some(expires_at), Some(area), true) = (name, expires_at, area, errors.is_empty()) else {
        return Err(CoreError::Invalid(errors));
    };
    let client_id = ClientId::generate()?;
    let client_secret = ClientSecret::generate()?;
    let secret_hash = hasher.hash_secret(&client_secret)?;
    let audit = AuditEvent::success(
        now,
        Actor::Account(creator.id),
        AuditAction::AccessTokenCreate,
        Some(Target { kind: TargetKind::AccessToken, id: None }),
    )
    .with("name", name.as_str())
    .with("client_id", client_id.as_str())
    .with("learning_area_id", area.id.to_string())
    .with("expires_at", rfc3339(expires_at));
    let new = NewAccessToken {
        learning_area_id: area.id,
        name,
        client_id,
        secret_hash,
        created_by: creator.id,
        created_at: now,
        expires_at,
    };
    let token = store.insert_access_token(&new, audit)?;
    let record = AccessTokenRecord { token, learning_area: area, creator };
    Ok(CreatedAccessToken { details: AccessTokenDetails::at(record, now), client_secret })
}

/// One access token (administrators only).
pub fn get_access_token<S: Store + ?Sized>(
    store: &mut S,
    clock: &dyn Clock,
    caller: Caller,
    id: AccessTokenId,
) -> Result<AccessTokenDetails, CoreError> {
    require_administrator(store, caller)?;
    let record = store.access_token(id)?.ok_or(CoreError::NotFound(Entity::AccessToken))?;
    Ok(AccessTokenDetails::at(record, clock.now()))
}

/// A page of access tokens, newest first (administrators only).
pub fn list_access_tokens<S: Store + ?Sized>(
    store: &mut S,
    clock: &dyn Clock,
    caller: Caller,
    request: ListAccessTokens,
) -> Result<Page<AccessTokenDetails>, CoreError> {
    require_administrator(store, caller)?;
    let limit = page_limit(request.limit)?;
    let now = clock.now();
    let expiring_before = match request.expiring_within_days {
        None => None,
        Some(days) if days <= 3650 => Some(now + Duration::days(i64::from(days))),
        Some(_) => return Err(CoreError::invalid("expiring_within_days", "must be between 0 and 3650")),
    };
    let query = AccessTokenQuery {
        status: request.status,
        learning_area_id: request.learning_area_id,
        expiring_before,
        name_contains: request.q.map(|q| q.trim().to_owned()).filter(|q| !q.is_empty()),
        before: request.before,
        limit: limit + 1,
    };
    let mut records = store.list_access_tokens(&query, now)?;
    let has_more = records.len() > limit as usize;
    records.truncate(limit as usize);
    let next_cursor = if has_more { records.last().map(|r| r.token.id.get()) } else { None };
    let items = records.into_iter().map(|r| AccessTokenDetails::at(r, now)).collect();
    Ok(Page { items, next_cursor })
}

/// Changes an access token's name or expiry. The learning area never changes, and an expired
/// or revoked token cannot be edited back to life.
pub fn edit_access_token<S: Store + ?Sized>(
    store: &mut S,
    clock: &dyn Clock,
    policy: &ExpiryPolicy,
    caller: Caller,
    id: AccessTokenId,
    edit: EditAccessToken,
) -> Result<AccessTokenDetails, CoreError> {
    require_administrator(store, caller)?;
    let now = clock.now();
    let mut record = store.access_token(id)?.ok_or(CoreError::NotFound(Entity::AccessToken))?;
    if edit.learning_area_id.is_some_and(|area| area != record.token.learning_area_id) {
        return Err(CoreError::LearningAreaImmutable);
    }
    match record.token.status(now, &record.creator) {
        status @ (TokenStatus::Expired | TokenStatus::Revoked) => {
            return Err(CoreError::NotEditable { status: status.as_str() });
        }
        TokenStatus::Active | TokenStatus::Suspended(_) => {}
    }
    let mut errors = Vec::new();
    let name = edit.name.as_deref().and_then(|raw| collect(Name::parse("name", raw), &mut errors));
    let expires_at = edit
        .expires_at
        .and_then(|at| field_errors(policy.resolve(now, record.token.created_at, Some(at)), &mut errors));
    if !errors.is_empty() {
        return Err(CoreError::Invalid(errors));
    }
    let mut audit = AuditEvent::success(
        now,
        caller.actor(),
        AuditAction::AccessTokenEdit,
        Some(Target { kind: TargetKind::AccessToken, id: Some(id.get()) }),
    );
    let token = &mut record.token;
    let mut changed = false;
    if let Some(name) = name.filter(|name| *name != token.name) {
        audit = audit.with("old_name", token.name.as_str()).with("name", name.as_str());
        token.name = name;
        changed = true;
    }
    if let Some(expires_at) = expires_at.filter(|at| *at != token.expires_at) {
        audit = audit.with("old_expires_at", rfc3339(token.expires_at)).with("expires_at", rfc3339(expires_at));
        token.expires_at = expires_at;
        changed = true;
    }
    if changed {
        store.update_access_token(token, audit)?;
    }
    Ok(AccessTokenDetails::at(record, now))
}

/// Revokes an access token: immediate, irreversible and idempotent. Its bearer tokens stop
/// working with it, because validation reads the access token's revocation on every request.
pub fn revoke_access_token<S: Store + ?Sized>(
    store: &mut S,
    clock: &dyn Clock,
    caller: Caller,
    id: AccessTokenId,
) -> Result<AccessTokenDetails, CoreError> {
    let admin = require_administrator(store, caller)?;
    let now = clock.now();
    let mut record = store.access_token(id)?.ok_or(CoreError::NotFound(Entity::AccessToken))?;
    if record.token.revoked_at.is_none() {
        revoke(&mut record.token, now, admin.map(|a| a.id));
        let audit = AuditEvent::success(
            now,
            caller.actor(),
            AuditAction::AccessTokenRevoke,
            Some(Target { kind: TargetKind::AccessToken, id: Some(id.get()) }),
        )
        .with("client_id", record.token.client_id.as_str());
        store.update_access_token(&record.token, audit)?;
    }
    Ok(AccessTokenDetails::at(record, now))
}

/// The revocation rule: the first revocation's time and author stick.
fn revoke(token: &mut AccessToken, now: OffsetDateTime, by: Option<AccountId>) {
    if token.revoked_at.is_none() {
        token.revoked_at = Some(now);
        token.revoked_by = by;
    }
}

/// Formats an instant as RFC 3339 UTC, the way tokend shows every time.
pub fn rfc3339(at: OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC).format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

// ---------------------------------------------------------------- sessions and audit

/// How long an admin session lasts at most.
pub const SESSION_LIFETIME: Duration = Duration::hours(12);

/// A successful login: the session token exists only in this answer.
#[derive(Debug)]
pub struct LoginSession {
    /// The session token to send as `Authorization: Bearer …` (or in the session cookie).
    pub token: crate::secret::SessionToken,
    /// When the session ends at the latest.
    pub expires_at: OffsetDateTime,
    /// Who signed in.
    pub account: Account,
}

/// Signs in with email and password. Unknown email, wrong password and deactivated account get
/// the same [`CoreError::BadCredentials`] after the same argon2 work; the audit log records
/// which it was. [`find_login`] and [`complete_login`] are the same in two steps, so that a
/// server can run the argon2 verification between them without holding a transaction.
pub fn login<S: Store + ?Sized>(
    store: &mut S,
    clock: &dyn Clock,
    hasher: &SecretHasher,
    email: &str,
    password: &Password,
) -> Result<LoginSession, CoreError> {
    let candidate = find_login(store, email)?;
    let verified = hasher.verify(candidate.password_hash(), password.expose());
    complete_login(store, clock, candidate, verified)
}

/// A sign-in's first step, read without a transaction: the account the email names, if any,
/// with its password hash.
#[derive(Debug)]
pub struct LoginCandidate {
    email: Option<Email>,
    found: Option<(Account, SecretHash)>,
}

impl LoginCandidate {
    /// The hash to verify the presented password against; `None` means "verify against the
    /// decoy" ([`SecretHasher::verify`] and `verify_in` do), so an unknown email costs the same.
    pub fn password_hash(&self) -> Option<&SecretHash> {
        self.found.as_ref().map(|(_, hash)| hash)
    }
}

/// Looks up the account an email names, for [`complete_login`].
pub fn find_login<S: Store + ?Sized>(store: &mut S, email: &str) -> Result<LoginCandidate, CoreError> {
    let email = Email::parse("email", email).ok();
    let found = match &email {
        Some(email) => store.account_credentials(email)?,
        None => None,
    };
    Ok(LoginCandidate { email, found })
}

/// A sign-in's second step, in one transaction: given whether the password verified against
/// [`LoginCandidate::password_hash`], opens the session or records the refusal. The account is
/// read again, so a deactivation or password change since [`find_login`] is honoured.
pub fn complete_login<S: Store + ?Sized>(
    store: &mut S,
    clock: &dyn Clock,
    candidate: LoginCandidate,
    verified: bool,
) -> Result<LoginSession, CoreError> {
    let now = clock.now();
    let LoginCandidate { email, found } = candidate;
    let current = match (&email, &found) {
        (Some(email), Some(_)) => store.account_credentials(email)?,
        _ => None,
    };
    // Verified against the hash read then; it must still be the stored one.
    let same_hash = matches!((&found, &current), (Some((_, then)), Some((_, now))) if then.as_phc() == now.as_phc());
    let refusal = match &current {
        None => Some("unknown_email"),
        Some(_) if !verified || !same_hash => Some("wrong_password"),
        Some((account, _)) if !account.active => Some("account_deactivated"),
        Some(_) => None,
    };
    let target = current.as_ref().map(|(a, _)| Target { kind: TargetKind::Account, id: Some(a.id.get()) });
    let actor = current.as_ref().map_or(Actor::Anonymous, |(a, _)| Actor::Account(a.id));
    let (account, _) = match (refusal, current) {
        (None, Some(current)) => current,
        (reason, _) => {
            let mut audit =
                AuditEvent::failure(now, actor, AuditAction::SessionLogin, target, reason.unwrap_or("unknown_email"));
            if let Some(email) = &email {
                audit = audit.with("email", email.as_str());
            }
            store.record_audit(audit)?;
            return Err(CoreError::BadCredentials);
        }
    };
    let token = crate::secret::SessionToken::generate()?;
    let expires_at = now + SESSION_LIFETIME;
    let new = crate::store::NewSession {
        token_hash: crate::secret::fast_hash(token.expose()),
        account_id: account.id,
        created_at: now,
        expires_at,
    };
    let audit = AuditEvent::success(now, Actor::Account(account.id), AuditAction::SessionLogin, target);
    store.insert_session(&new, audit)?;
    Ok(LoginSession { token, expires_at, account })
}

/// The account behind a session token, if the session is live: not ended, not expired, and its
/// account still active (deactivating an account ends its sessions).
pub fn authenticate_session<S: Store + ?Sized>(
    store: &mut S,
    clock: &dyn Clock,
    presented: &str,
) -> Result<Account, CoreError> {
    if !crate::secret::TokenFormat::SESSION.is_well_formed(presented) {
        return Err(CoreError::Unauthenticated);
    }
    let session = store.session(&crate::secret::fast_hash(presented))?.ok_or(CoreError::Unauthenticated)?;
    let live = session.ended_at.is_none() && clock.now() < session.expires_at && session.account.active;
    if live { Ok(session.account) } else { Err(CoreError::Unauthenticated) }
}

/// Deletes admin sessions that can never work again (expired or signed out): a background
/// job's work, so the sessions table holds only live sessions.
pub fn purge_sessions<S: Store + ?Sized>(store: &mut S, clock: &dyn Clock) -> Result<u64, CoreError> {
    Ok(store.purge_sessions(clock.now())?)
}

/// Ends a session.
pub fn logout<S: Store + ?Sized>(store: &mut S, clock: &dyn Clock, presented: &str) -> Result<(), CoreError> {
    let account = authenticate_session(store, clock, presented)?;
    let now = clock.now();
    let audit = AuditEvent::success(
        now,
        Actor::Account(account.id),
        AuditAction::SessionLogout,
        Some(Target { kind: TargetKind::Account, id: Some(account.id.get()) }),
    );
    store.end_session(&crate::secret::fast_hash(presented), now, audit)?;
    Ok(())
}

/// The audit filters an administrator gives.
#[derive(Debug, Clone, Default)]
pub struct ListAuditEvents {
    /// `account:3`, `access_token:7`, `system` or `anonymous`.
    pub actor: Option<String>,
    /// `access_token:7`, `account:3` or `learning_area:2`.
    pub target: Option<String>,
    /// An action such as `access_token.revoke`.
    pub action: Option<String>,
    /// From this instant (inclusive).
    pub from: Option<OffsetDateTime>,
    /// To this instant (exclusive).
    pub to: Option<OffsetDateTime>,
    /// Cursor.
    pub before: Option<i64>,
    /// Page size.
    pub limit: Option<u32>,
}

/// A page of the audit log, newest first (administrators only).
pub fn list_audit_events<S: Store + ?Sized>(
    store: &mut S,
    caller: Caller,
    request: ListAuditEvents,
) -> Result<Page<crate::store::StoredAuditEvent>, CoreError> {
    require_administrator(store, caller)?;
    let limit = page_limit(request.limit)?;
    let mut errors = Vec::new();
    let split = |field: &'static str,
                 raw: Option<String>,
                 errors: &mut Vec<FieldError>|
     -> (Option<String>, Option<String>) {
        let Some(raw) = raw else { return (None, None) };
        match raw.split_once(':') {
            Some((kind, id)) if !kind.is_empty() && !id.is_empty() => (Some(kind.to_owned()), Some(id.to_owned())),
            None if !raw.is_empty() => (Some(raw), None),
            _ => {
                errors.push(FieldError { field, message: "must look like kind or kind:id, e.g. account:3".to_owned() });
                (None, None)
            }
        }
    };
    let (actor_kind, actor_id) = split("actor", request.actor, &mut errors);
    let (target_kind, target_id) = split("target", request.target, &mut errors);
    let target_id = match target_id.map(|id| id.parse::<i64>()) {
        None => None,
        Some(Ok(id)) => Some(id),
        Some(Err(_)) => {
            errors.push(FieldError { field: "target", message: "the id after : must be a number".to_owned() });
            None
        }
    };
    let action = match request.action.as_deref().map(AuditAction::parse) {
        None => None,
        Some(Some(action)) => Some(action),
        Some(None) => {
            errors.push(FieldError { field: "action", message: "is not a known action".to_owned() });
            None
        }
    };
    if !errors.is_empty() {
        return Err(CoreError::Invalid(errors));
    }
    let query = crate::store::AuditQuery {
        actor_kind,
        actor_id,
        target_kind,
        target_id,
        action,
        from: request.from,
        to: request.to,
        before: request.before.map(crate::ids::AuditEventId::new),
        limit: limit + 1,
    };
    let mut items = store.list_audit_events(&query)?;
    let has_more = items.len() > limit as usize;
    items.truncate(limit as usize);
    let next_cursor = if has_more { items.last().map(|e| e.id.get()) } else { None };
    Ok(Page { items, next_cursor })
}
