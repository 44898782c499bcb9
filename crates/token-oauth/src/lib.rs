//! OAuth2 for tokend: the client_credentials grant (RFC 6749 §4.4), bearer validation
//! (RFC 6750), introspection (RFC 7662) and revocation (RFC 7009). Plain request structs in,
//! plain results out: no web framework, no JSON. `token-api` adapts it to HTTP; an embedding
//! team can call [`Authority::validate_bearer`] from its own server.

mod error;
pub mod guard;
mod lease;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, PoisonError};

use time::{Duration, OffsetDateTime};
use token_core::StoreError;
use token_core::audit::{Actor, AuditAction, AuditEvent};
use token_core::clock::Clock;
use token_core::ids::{AccessTokenId, AccountId};
use token_core::model::{LearningArea, Name, TokenStatus};
use token_core::secret::{ClientId, ClientSecret, SecretHash, SecretHasher, TokenFormat, fast_hash};
use token_core::store::{ClientRecord, NewBearerToken, OAuthStorage};

pub use error::{BearerError, OAuthError};
use guard::{FailureThrottle, ThrottleConfig, VerificationBudget, VerifiedCache, VerifierSlots};
pub use lease::{LeaseConfig, LeaseKeeper};

/// How far `last_used_at` may lag behind a token's real last use.
pub const LAST_USED_STEP: Duration = Duration::minutes(1);

/// Tuning of the authorization server.
#[derive(Debug, Clone)]
pub struct OAuthConfig {
    /// Bearer token lifetime (never past the access token's expiry). Default: one hour.
    pub bearer_lifetime: Duration,
    /// argon2 verifications allowed at once. Default: half the cores, at least one.
    pub max_concurrent_verifications: usize,
    /// How long a token request waits for a verification slot before `slow_down` (429); short,
    /// because a waiting request holds a blocking thread that bearer validation needs.
    pub verification_wait: std::time::Duration,
    /// Failure throttling per client id.
    pub throttle: ThrottleConfig,
    /// Clients remembered by the verified-secret cache.
    pub verified_cache_entries: usize,
    /// argon2 verifications allowed per second in this process (cached ones are free). Beyond
    /// it, token requests get `slow_down` (429, `Retry-After: 1`) without hashing.
    pub max_verifications_per_second: u32,
    /// How validations are cached between polls of the credential epoch.
    pub lease: LeaseConfig,
}

impl Default for OAuthConfig {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            bearer_lifetime: Duration::hours(1),
            max_concurrent_verifications: (cores / 2).max(1),
            verification_wait: std::time::Duration::from_millis(50),
            throttle: ThrottleConfig::default(),
            verified_cache_entries: 100_000,
            max_verifications_per_second: 8,
            lease: LeaseConfig::default(),
        }
    }
}

/// How the client presented its credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMethod {
    /// `client_secret_basic`: HTTP Basic.
    Basic,
    /// `client_secret_post`: `client_id` and `client_secret` in the form body.
    Post,
}

/// Credentials as presented, not yet checked.
#[derive(Clone)]
pub struct ClientCredentials {
    /// The presented client id.
    pub client_id: String,
    /// The presented secret.
    pub client_secret: String,
    /// How they came.
    pub method: AuthMethod,
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("method", &self.method)
            .finish()
    }
}

/// A token request (RFC 6749 §4.4.2), its parameters already parsed from the form.
#[derive(Debug, Clone)]
pub struct TokenRequest {
    /// `grant_type`.
    pub grant_type: String,
    /// `scope`; empty counts as absent.
    pub scope: Option<String>,
    /// The client's credentials.
    pub credentials: ClientCredentials,
}

/// A bearer token in plaintext: exists only in the token response.
#[derive(Clone, PartialEq, Eq)]
pub struct BearerToken(String);

impl BearerToken {
    /// The plaintext, for the response body.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerToken(<redacted>)")
    }
}

/// A successful token response (RFC 6749 §5.1). `token_type` is always `Bearer`; no refresh
/// token is issued for client credentials (§4.4.3).
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// The bearer token.
    pub access_token: BearerToken,
    /// Seconds until it expires.
    pub expires_in: i64,
    /// The granted scope.
    pub scope: String,
}

/// Who a valid bearer token speaks for: one access token, in one learning area, acting as the
/// administrator who created it. Integration handlers receive only this.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The access token.
    pub access_token_id: AccessTokenId,
    /// Its public client id.
    pub client_id: ClientId,
    /// Its name.
    pub token_name: Name,
    /// The learning area every query is confined to.
    pub learning_area: LearningArea,
    /// The administrator it acts as.
    pub acts_as: AccountId,
    /// When the access token expires.
    pub access_token_expires_at: OffsetDateTime,
    /// When this bearer token was issued.
    pub issued_at: OffsetDateTime,
    /// When this bearer token expires.
    pub expires_at: OffsetDateTime,
}

impl Principal {
    /// The OAuth2 scope of this principal (`area:<id>`).
    pub fn scope(&self) -> String {
        scope_of(&self.learning_area)
    }

    /// The learning area every query of this principal's requests is confined to.
    pub fn area_scope(&self) -> token_core::learning::AreaScope {
        token_core::learning::AreaScope::of(self.learning_area.id)
    }
}

/// An introspection answer (RFC 7662 §2.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Introspection {
    /// The token is active and was issued to the asking client.
    Active(Principal),
    /// Anything else: unknown, expired, revoked, or another client's.
    Inactive,
}

/// The scope string for a learning area: `area:<id>`.
pub fn scope_of(area: &LearningArea) -> String {
    scope_for(area.id)
}

/// The scope string for a learning area id: `area:<id>`, the only scope a token may ask for.
pub fn scope_for(area: token_core::ids::LearningAreaId) -> String {
    format!("area:{area}")
}

/// The authorization server: holds the hasher and the in-memory guards; share one per process.
#[derive(Debug)]
pub struct Authority {
    config: OAuthConfig,
    hasher: SecretHasher,
    throttle: FailureThrottle,
    slots: VerifierSlots,
    cache: VerifiedCache,
    budget: VerificationBudget,
    validations: lease::ValidationCache,
    usage: Mutex<HashMap<AccessTokenId, OffsetDateTime>>,
}

/// Why client authentication failed, for the audit log only (the client always sees
/// `invalid_client`).
#[derive(Debug, Clone, Copy)]
enum ClientRefusal {
    Malformed,
    UnknownClient,
    WrongSecret,
    Status(TokenStatus),
}

impl ClientRefusal {
    fn reason(self) -> &'static str {
        match self {
            ClientRefusal::Malformed => "malformed_credentials",
            ClientRefusal::UnknownClient => "unknown_client",
            ClientRefusal::WrongSecret => "wrong_secret",
            ClientRefusal::Status(TokenStatus::Revoked) => "access_token_revoked",
            ClientRefusal::Status(TokenStatus::Expired) => "access_token_expired",
            ClientRefusal::Status(TokenStatus::Suspended(_)) => "access_token_suspended",
            ClientRefusal::Status(TokenStatus::Active) => "active",
        }
    }
}

/// A verification's outcome: the client, or why it was refused and which token it named.
type Verified = Result<ClientRecord, (ClientRefusal, Option<AccessTokenId>)>;

impl Authority {
    /// An authority with `config`, hashing with `hasher` (whose parameters must match those
    /// the secrets were hashed with; argon2 reads them from each PHC string anyway).
    pub fn new(config: OAuthConfig, hasher: SecretHasher) -> Result<Self, OAuthError> {
        Ok(Self {
            throttle: FailureThrottle::new(config.throttle),
            slots: VerifierSlots::new(config.max_concurrent_verifications, config.verification_wait),
            cache: VerifiedCache::new(config.verified_cache_entries).map_err(|_| OAuthError::Randomness)?,
            budget: VerificationBudget::new(config.max_verifications_per_second),
            validations: lease::ValidationCache::new(config.lease),
            usage: Mutex::new(HashMap::new()),
            config,
            hasher,
        })
    }

    /// The checks of a token request that need no store, for a caller on an event loop before
    /// it hands the request to a thread that may block: an unsupported grant type, a client id
    /// locked by the failure throttle, and — when this process's argon2 budget is spent — a
    /// secret this process has not verified before are refused here. Everything else, and
    /// every check again, happens in [`Authority::issue_token`].
    pub fn admit_token_request(&self, clock: &dyn Clock, request: &TokenRequest) -> Result<(), OAuthError> {
        if request.grant_type != "client_credentials" {
            return Err(OAuthError::UnsupportedGrantType);
        }
        self.admit_client(clock, &request.credentials)
    }

    /// [`Authority::admit_token_request`]'s client checks, for introspection and revocation.
    pub fn admit_client(&self, clock: &dyn Clock, credentials: &ClientCredentials) -> Result<(), OAuthError> {
        if let Err(retry_after_secs) = self.throttle.check(&credentials.client_id, clock.now()) {
            return Err(OAuthError::TooManyAttempts { retry_after_secs });
        }
        let well_formed = ClientId::parse(&credentials.client_id).is_some()
            && ClientSecret::parse(&credentials.client_secret).is_some();
        if well_formed
            && self.budget.is_spent()
            && !self.cache.may_vouch_for(&credentials.client_id, &credentials.client_secret)
        {
            return Err(OAuthError::TooManyAttempts { retry_after_secs: 1 });
        }
        Ok(())
    }

    /// Verifies an admin's password (or the decoy, for `None`) in one of the bounded
    /// verification slots and its reused working memory, as client secrets are: sign-ins cannot
    /// take more cores or memory than token requests may. `None` when no slot frees up within
    /// the short wait (answer "try again in a second"). Blocking; holds no database connection.
    pub fn verify_password(&self, hash: Option<&SecretHash>, password: &str) -> Option<bool> {
        let mut slot = self.slots.acquire()?;
        Some(self.hasher.verify_in(hash, password, slot.memory()))
    }

    /// Authenticates a client: throttle, format check, lookup, verify (cache or argon2), status.
    /// Every refusal is audited and answered `invalid_client`.
    pub fn authenticate_client(
        &self,
        storage: &impl OAuthStorage,
        clock: &dyn Clock,
        credentials: &ClientCredentials,
    ) -> Result<ClientRecord, OAuthError> {
        let now = clock.now();
        let basic = credentials.method == AuthMethod::Basic;
        if let Err(retry_after_secs) = self.throttle.check(&credentials.client_id, now) {
            return Err(OAuthError::TooManyAttempts { retry_after_secs });
        }
        let client_id = ClientId::parse(&credentials.client_id);
        let secret = ClientSecret::parse(&credentials.client_secret);
        let outcome = match (&client_id, &secret) {
            (Some(client_id), Some(secret)) => self.verify(storage, now, client_id, secret)?,
            // A malformed id or secret is refused without a lookup or a hash: the checksum
            // already proves it is not one tokend issued, whatever the id.
            _ => Err((ClientRefusal::Malformed, None)),
        };
        match outcome {
            Ok(record) => {
                self.throttle.record_success(&credentials.client_id);
                Ok(record)
            }
            Err((refusal, token_id)) => {
                self.throttle.record_failure(&credentials.client_id, now);
                let actor = token_id.map_or(Actor::Anonymous, Actor::AccessToken);
                let mut audit = AuditEvent::failure(now, actor, AuditAction::OAuthTokenRequest, None, refusal.reason());
                if let Some(client_id) = &client_id {
                    audit = audit.with("client_id", client_id.as_str());
                }
                storage.with_oauth_store(|s| s.record_oauth_audit(audit))?;
                Err(OAuthError::InvalidClient { basic })
            }
        }
    }

    fn verify(
        &self,
        storage: &impl OAuthStorage,
        now: OffsetDateTime,
        client_id: &ClientId,
        secret: &ClientSecret,
    ) -> Result<Verified, OAuthError> {
        let record = storage.with_oauth_store(|s| s.client(client_id))?;
        let phc = record.as_ref().map(|r| r.secret_hash.as_phc());
        let vouched = phc.is_some_and(|phc| self.cache.vouches_for(client_id.as_str(), secret.expose(), phc));
        let verified = vouched || {
            if !self.budget.take() {
                return Err(OAuthError::TooManyAttempts { retry_after_secs: 1 });
            }
            // Every slot busy: throttling, not a server fault; the client retries after a second.
            let mut slot = self.slots.acquire().ok_or(OAuthError::TooManyAttempts { retry_after_secs: 1 })?;
            self.hasher.verify_in(record.as_ref().map(|r| &r.secret_hash), secret.expose(), slot.memory())
        };
        let Some(record) = record else { return Ok(Err((ClientRefusal::UnknownClient, None))) };
        if !verified {
            return Ok(Err((ClientRefusal::WrongSecret, Some(record.token.id))));
        }
        if !vouched {
            self.cache.remember(client_id.as_str(), secret.expose(), record.secret_hash.as_phc());
        }
        let status = record.token.status(now, &record.creator);
        if !status.grants_access() {
            return Ok(Err((ClientRefusal::Status(status), Some(record.token.id))));
        }
        Ok(Ok(record))
    }

    /// The client_credentials grant: authenticates the client and issues a bearer token.
    pub fn issue_token(
        &self,
        storage: &impl OAuthStorage,
        clock: &dyn Clock,
        request: &TokenRequest,
    ) -> Result<IssuedToken, OAuthError> {
        if request.grant_type != "client_credentials" {
            return Err(OAuthError::UnsupportedGrantType);
        }
        let client = self.authenticate_client(storage, clock, &request.credentials)?;
        let allowed = scope_for(client.token.learning_area_id);
        if let Some(scope) = request.scope.as_deref().map(str::trim).filter(|s| !s.is_empty())
            && scope.split(' ').filter(|s| !s.is_empty()).any(|s| s != allowed)
        {
            return Err(OAuthError::InvalidScope { allowed });
        }
        let now = clock.now();
        let expires_at = (now + self.config.bearer_lifetime).min(client.token.expires_at);
        let plaintext = TokenFormat::BEARER.generate().map_err(|_| OAuthError::Randomness)?;
        let new = NewBearerToken {
            token_hash: fast_hash(&plaintext),
            access_token_id: client.token.id,
            issued_at: now,
            expires_at,
        };
        storage.with_oauth_store(|s| s.insert_bearer_token(&new))?;
        self.note_use(client.token.id, now);
        Ok(IssuedToken {
            access_token: BearerToken(plaintext),
            expires_in: (expires_at - now).whole_seconds(),
            scope: allowed,
        })
    }

    /// Validates a bearer token on an integration request: from memory while the validation
    /// lease holds (see [`LeaseConfig`]), otherwise by one indexed read that joins the bearer
    /// token to its access token and creator. Either way a revocation, expiry or suspension
    /// that another instance reported done is seen by the very next request. `last_used_at` is
    /// noted in memory and written by [`Authority::flush_usage`].
    pub fn validate_bearer(
        &self,
        storage: &impl OAuthStorage,
        clock: &dyn Clock,
        presented: Option<&str>,
    ) -> Result<Principal, BearerError> {
        if let Some(answer) = self.validate_bearer_in_memory(clock, presented) {
            return answer;
        }
        let presented = presented.ok_or(BearerError::Missing)?;
        let now = clock.now();
        let hash = fast_hash(presented);
        let read_at = self.validations.generation();
        let record = storage.with_oauth_store(|s| s.bearer_token(&hash))?.ok_or(BearerError::InvalidToken)?;
        let access = &record.access_token;
        let live = record.revoked_at.is_none()
            && now < record.expires_at
            && access.token.status(now, &access.creator).grants_access();
        if !live {
            return Err(BearerError::InvalidToken);
        }
        self.note_use(access.token.id, now);
        let principal = Principal {
            access_token_id: access.token.id,
            client_id: access.token.client_id.clone(),
            token_name: access.token.name.clone(),
            learning_area: access.learning_area.clone(),
            acts_as: access.token.created_by,
            access_token_expires_at: access.token.expires_at,
            issued_at: record.issued_at,
            expires_at: record.expires_at,
        };
        let valid_until = record.expires_at.min(access.token.expires_at);
        self.validations.insert(read_at, hash, &principal, valid_until);
        Ok(principal)
    }

    /// The part of [`Authority::validate_bearer`] that needs no store: a missing or malformed
    /// token is refused, a token validated while the lease holds is accepted. `None` means
    /// "ask the store" — so a caller on an event loop can answer most requests without moving
    /// to a thread that may block.
    pub fn validate_bearer_in_memory(
        &self,
        clock: &dyn Clock,
        presented: Option<&str>,
    ) -> Option<Result<Principal, BearerError>> {
        let Some(presented) = presented else { return Some(Err(BearerError::Missing)) };
        if !TokenFormat::BEARER.is_well_formed(presented) {
            return Some(Err(BearerError::InvalidToken));
        }
        let now = clock.now();
        let hit = self.validations.get(&fast_hash(presented), now)?;
        if hit.first_this_second {
            self.note_use(hit.principal.access_token_id, now);
        }
        Some(Ok(hit.principal))
    }

    /// One poll of the credential epoch (see [`LeaseConfig`]); [`LeaseKeeper`] calls it every
    /// [`LeaseConfig::renew_every`]. Until it is called, every validation reads the store.
    pub fn renew_lease(&self, storage: &impl OAuthStorage, clock: &dyn Clock) -> Result<(), StoreError> {
        self.validations.renew(storage, clock.now())
    }

    /// The validation lease's settings.
    pub fn lease_config(&self) -> &LeaseConfig {
        self.validations.config()
    }

    /// How long a write that moved the credential epoch must wait, after its commit, before it
    /// reports success: by then no instance can still answer from a cache filled before it.
    pub fn revocation_fence(&self) -> std::time::Duration {
        self.validations.config().fence()
    }

    /// Validations remembered now (for metrics and tests).
    pub fn cached_validations(&self) -> usize {
        self.validations.len()
    }

    /// RFC 7662: a client asks about a bearer token. Only its own active tokens introspect as
    /// active.
    pub fn introspect(
        &self,
        storage: &impl OAuthStorage,
        clock: &dyn Clock,
        credentials: &ClientCredentials,
        token: &str,
    ) -> Result<Introspection, OAuthError> {
        let client = self.authenticate_client(storage, clock, credentials)?;
        match self.validate_bearer(storage, clock, Some(token)) {
            Ok(principal) if principal.access_token_id == client.token.id => Ok(Introspection::Active(principal)),
            Ok(_) | Err(BearerError::InvalidToken | BearerError::Missing) => Ok(Introspection::Inactive),
            Err(BearerError::Store(e)) => Err(e.into()),
        }
    }

    /// RFC 7009: a client revokes one of its bearer tokens. Unknown, foreign or already revoked
    /// tokens are answered the same way, with success.
    pub fn revoke(
        &self,
        storage: &impl OAuthStorage,
        clock: &dyn Clock,
        credentials: &ClientCredentials,
        token: &str,
    ) -> Result<(), OAuthError> {
        let client = self.authenticate_client(storage, clock, credentials)?;
        if !TokenFormat::BEARER.is_well_formed(token) {
            return Ok(());
        }
        let now = clock.now();
        let hash = fast_hash(token);
        let revoked = storage.with_oauth_transaction(|s| {
            let Some(record) = s.bearer_token(&hash)? else { return Ok(false) };
            if record.access_token.token.id != client.token.id || record.revoked_at.is_some() {
                return Ok(false);
            }
            let audit =
                AuditEvent::success(now, Actor::AccessToken(client.token.id), AuditAction::OAuthBearerRevoke, None)
                    .with("bearer_token_id", record.id.to_string());
            s.revoke_bearer_token(record.id, now, audit).map(|()| true)
        })?;
        if revoked {
            // Blocking, like the store call above: the answer must not come before every
            // instance's cached validation of this token has lapsed.
            std::thread::sleep(self.revocation_fence());
        }
        Ok(())
    }

    /// Drops what this process remembers about a client (after its access token is revoked).
    pub fn forget_client(&self, client_id: &ClientId) {
        self.cache.forget(client_id.as_str());
    }

    fn note_use(&self, id: AccessTokenId, at: OffsetDateTime) {
        self.usage.lock().unwrap_or_else(PoisonError::into_inner).insert(id, at);
    }

    /// Writes the noted `last_used_at` times in one transaction (a background job calls this
    /// every few seconds, so a busy integration costs no write per request). A token's row is
    /// rewritten only when its recorded last use is more than [`LAST_USED_STEP`] older: "last
    /// used" is shown to the minute, and ten thousand busy tokens would otherwise rewrite ten
    /// thousand rows every few seconds.
    pub fn flush_usage(&self, storage: &impl OAuthStorage) -> Result<usize, StoreError> {
        let noted: Vec<_> = {
            let mut usage = self.usage.lock().unwrap_or_else(PoisonError::into_inner);
            // Keeps the capacity: the map refills to about the same size before the next flush.
            let capacity = usage.len();
            std::mem::replace(&mut *usage, HashMap::with_capacity(capacity)).into_iter().collect()
        };
        if noted.is_empty() {
            return Ok(0);
        }
        storage.with_oauth_transaction(|s| s.touch_access_tokens(&noted, LAST_USED_STEP))?;
        Ok(noted.len())
    }

    /// Deletes bearer tokens that can never work again.
    pub fn purge(&self, storage: &impl OAuthStorage, clock: &dyn Clock) -> Result<u64, StoreError> {
        storage.with_oauth_store(|s| s.purge_bearer_tokens(clock.now()))
    }
}
