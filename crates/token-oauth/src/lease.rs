//! The validation lease: bearer validations answered from memory, without giving up "a
//! revocation is seen by the next request on every instance" (see
//! `docs/decisions/0002-validation-lease.md`).
//!
//! The store keeps a *credential epoch* that moves, in the same transaction, with every change
//! that can alter a validation's answer. Each instance polls it ([`LeaseKeeper`]) and flushes its
//! cache when it moves. A cached answer is used only while the last poll *started* less than
//! [`LeaseConfig::lease`] ago, and a write that moved the epoch reports success only after the
//! [`revocation fence`](crate::Authority::revocation_fence) (the lease, plus a margin) has passed.
//! So a request that arrives after the revocation call returned can only be answered from a
//! cache that polled after the commit, and that poll flushed it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use time::OffsetDateTime;
use token_core::StoreError;
use token_core::store::{OAuthStorage, OAuthStore};

use crate::{Authority, Principal};

/// How long validations may be answered from memory between polls of the credential epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseConfig {
    /// How long a poll's answer stays good. Zero turns the cache off: every validation reads
    /// the store, and writes need no fence. Default: 100 ms.
    pub lease: Duration,
    /// How often [`LeaseKeeper`] polls. Several polls fit in one lease, so one slow poll does
    /// not empty the cache. Default: 20 ms.
    pub renew_every: Duration,
    /// Most validations remembered (a few hundred bytes each). Default: 50 000.
    pub max_entries: usize,
}

impl LeaseConfig {
    /// The cache off: every validation reads the store.
    pub fn disabled() -> Self {
        Self { lease: Duration::ZERO, ..Self::default() }
    }

    /// A lease of `lease`, polled five times within it.
    pub fn with_lease(lease: Duration) -> Self {
        Self { lease, renew_every: lease / 5, ..Self::default() }
    }

    /// Whether validations are cached at all.
    pub fn enabled(&self) -> bool {
        !self.lease.is_zero()
    }

    /// How long a write that moved the credential epoch waits before it reports success: the
    /// lease plus a margin for scheduling, zero when the cache is off.
    pub fn fence(&self) -> Duration {
        if self.enabled() { self.lease + Duration::from_millis(5) } else { Duration::ZERO }
    }

    /// Runs `write` inside the caller's transaction between two reads of the credential
    /// epoch, and returns its value with how long to wait after the commit before reporting
    /// success: the fence if the write moved the epoch, zero otherwise (and zero, without the
    /// reads, when the cache is off).
    pub fn fenced<S, T, E>(&self, store: &mut S, write: impl FnOnce(&mut S) -> Result<T, E>) -> Result<(T, Duration), E>
    where
        S: OAuthStore + ?Sized,
        E: From<StoreError>,
    {
        if !self.enabled() {
            return write(store).map(|value| (value, Duration::ZERO));
        }
        let before = store.credential_epoch()?;
        let value = write(store)?;
        let moved = store.credential_epoch()? != before;
        Ok((value, if moved { self.fence() } else { Duration::ZERO }))
    }
}

impl Default for LeaseConfig {
    fn default() -> Self {
        Self { lease: Duration::from_millis(100), renew_every: Duration::from_millis(20), max_entries: 50_000 }
    }
}

/// A remembered successful validation.
#[derive(Debug)]
struct Entry {
    principal: Principal,
    /// The earlier of the bearer token's and the access token's expiry.
    valid_until: OffsetDateTime,
    /// The second (Unix time) of the last use served from here, so a busy token's use is
    /// noted once a second rather than on every request.
    noted_second: AtomicI64,
}

/// A validation served from memory.
#[derive(Debug)]
pub(crate) struct Hit {
    pub(crate) principal: Principal,
    /// Whether this is the first use served from memory in this second (to be noted).
    pub(crate) first_this_second: bool,
}

#[derive(Debug, Default)]
struct Inner {
    /// The epoch the entries were read under; `None` before the first poll.
    epoch: Option<i64>,
    /// Moves with every flush, so a read that began before a flush cannot insert after it.
    generation: u64,
    entries: HashMap<[u8; 32], Entry>,
}

/// Validations by bearer hash, good while the lease is.
#[derive(Debug)]
pub(crate) struct ValidationCache {
    config: LeaseConfig,
    base: Instant,
    /// When the last applied poll started, in nanoseconds after `base` plus one; 0: never.
    confirmed: AtomicU64,
    inner: RwLock<Inner>,
    /// One poll at a time, so an older answer never overwrites a newer one.
    renewing: Mutex<()>,
}

/// A snapshot of the flush generation taken before a store read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Generation(u64);

impl ValidationCache {
    pub(crate) fn new(config: LeaseConfig) -> Self {
        Self {
            config,
            base: Instant::now(),
            confirmed: AtomicU64::new(0),
            inner: RwLock::new(Inner::default()),
            renewing: Mutex::new(()),
        }
    }

    pub(crate) fn config(&self) -> &LeaseConfig {
        &self.config
    }

    fn ticks(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.base).as_nanos()).unwrap_or(u64::MAX - 1) + 1
    }

    /// Whether a poll started less than a lease ago.
    fn fresh(&self) -> bool {
        let confirmed = self.confirmed.load(Ordering::Acquire);
        confirmed != 0 && self.ticks(Instant::now()).saturating_sub(confirmed) < self.lease_nanos()
    }

    fn lease_nanos(&self) -> u64 {
        u64::try_from(self.config.lease.as_nanos()).unwrap_or(u64::MAX)
    }

    /// The remembered principal for `hash`, if the lease holds and it has not expired.
    pub(crate) fn get(&self, hash: &[u8; 32], now: OffsetDateTime) -> Option<Hit> {
        if !self.config.enabled() || !self.fresh() {
            return None;
        }
        let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
        let entry = inner.entries.get(hash).filter(|e| now < e.valid_until)?;
        let second = now.unix_timestamp();
        let first_this_second = entry.noted_second.swap(second, Ordering::Relaxed) != second;
        Some(Hit { principal: entry.principal.clone(), first_this_second })
    }

    /// Taken before reading the store for a miss; see [`ValidationCache::insert`].
    pub(crate) fn generation(&self) -> Generation {
        Generation(self.inner.read().unwrap_or_else(PoisonError::into_inner).generation)
    }

    /// Remembers a validation read from the store, unless a flush happened since `read_at`
    /// was taken (the read may predate the change that caused it) or the cache is full.
    pub(crate) fn insert(
        &self,
        read_at: Generation,
        hash: [u8; 32],
        principal: &Principal,
        valid_until: OffsetDateTime,
    ) {
        if !self.config.enabled() {
            return;
        }
        let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        if inner.epoch.is_none() || inner.generation != read_at.0 || inner.entries.len() >= self.config.max_entries {
            return;
        }
        let noted_second = AtomicI64::new(i64::MIN);
        inner.entries.insert(hash, Entry { principal: principal.clone(), valid_until, noted_second });
    }

    /// One poll: reads the epoch, flushes if it moved, then extends the lease from the moment
    /// the poll started (not ended: the read may have waited for a connection).
    pub(crate) fn renew(&self, storage: &impl OAuthStorage, now: OffsetDateTime) -> Result<(), StoreError> {
        if !self.config.enabled() {
            return Ok(());
        }
        let _one_at_a_time = self.renewing.lock().unwrap_or_else(PoisonError::into_inner);
        let started = Instant::now();
        let epoch = storage.with_oauth_store(|s| s.credential_epoch())?;
        let unchanged = {
            let inner = self.inner.read().unwrap_or_else(PoisonError::into_inner);
            inner.epoch == Some(epoch) && inner.entries.len() < self.config.max_entries
        };
        // The usual poll changes nothing and takes no write lock, so validations never wait for it.
        if !unchanged {
            let mut inner = self.inner.write().unwrap_or_else(PoisonError::into_inner);
            if inner.epoch != Some(epoch) {
                inner.entries.clear();
                inner.generation += 1;
                inner.epoch = Some(epoch);
            } else if inner.entries.len() >= self.config.max_entries {
                inner.entries.retain(|_, e| now < e.valid_until);
            }
        }
        self.confirmed.fetch_max(self.ticks(started), Ordering::AcqRel);
        Ok(())
    }

    /// Entries held now.
    pub(crate) fn len(&self) -> usize {
        self.inner.read().unwrap_or_else(PoisonError::into_inner).entries.len()
    }
}

/// A thread that renews an [`Authority`]'s validation lease every
/// [`LeaseConfig::renew_every`] until dropped. Without one, validations always read the store.
#[derive(Debug)]
pub struct LeaseKeeper {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl LeaseKeeper {
    /// Starts polling `storage` for `authority`. Failed polls are logged (without details that
    /// could carry secrets: store errors never do) and retried; meanwhile the lease runs out
    /// and validations read the store.
    pub fn spawn<S: OAuthStorage + 'static>(
        authority: Arc<Authority>,
        storage: S,
        clock: Arc<dyn token_core::clock::Clock>,
    ) -> std::io::Result<Self> {
        let every = authority.lease_config().renew_every.max(Duration::from_millis(1));
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new().name("tokend-lease".into()).spawn(move || {
            let mut failing = false;
            loop {
                match authority.renew_lease(&storage, &*clock) {
                    Ok(()) if failing => {
                        failing = false;
                        tracing::info!("validation lease renewed again");
                    }
                    Ok(()) => {}
                    Err(e) if !failing => {
                        failing = true;
                        tracing::warn!(error = %e, "cannot renew the validation lease; validating from the store");
                    }
                    Err(_) => {}
                }
                match stopped.recv_timeout(every) {
                    Err(RecvTimeoutError::Timeout) => {}
                    Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
                }
            }
        })?;
        Ok(Self { stop: Some(stop), thread: Some(thread) })
    }
}

impl Drop for LeaseKeeper {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests: a panic is the failure report")]

    use time::macros::datetime;
    use token_core::audit::AuditEvent;
    use token_core::ids::{AccessTokenId, AccountId, BearerTokenId, LearningAreaId};
    use token_core::model::{LearningArea, Name};
    use token_core::secret::{ClientId, fast_hash};
    use token_core::store::{BearerRecord, ClientRecord, NewBearerToken, OAuthStore};

    use super::*;

    const NOW: OffsetDateTime = datetime!(2026-03-01 12:00 UTC);

    /// A store that only knows the credential epoch: the lease reads nothing else.
    #[derive(Default)]
    struct Epoch(AtomicI64);

    impl Epoch {
        fn bump(&self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    impl OAuthStore for &Epoch {
        fn client(&mut self, _: &ClientId) -> Result<Option<ClientRecord>, StoreError> {
            unreachable!("the lease reads only the epoch")
        }
        fn insert_bearer_token(&mut self, _: &NewBearerToken) -> Result<BearerTokenId, StoreError> {
            unreachable!("the lease reads only the epoch")
        }
        fn bearer_token(&mut self, _: &[u8; 32]) -> Result<Option<BearerRecord>, StoreError> {
            unreachable!("the lease reads only the epoch")
        }
        fn revoke_bearer_token(
            &mut self,
            _: BearerTokenId,
            _: OffsetDateTime,
            _: AuditEvent,
        ) -> Result<(), StoreError> {
            unreachable!("the lease reads only the epoch")
        }
        fn touch_access_tokens(
            &mut self,
            _: &[(AccessTokenId, OffsetDateTime)],
            _: time::Duration,
        ) -> Result<(), StoreError> {
            unreachable!("the lease reads only the epoch")
        }
        fn purge_bearer_tokens(&mut self, _: OffsetDateTime) -> Result<u64, StoreError> {
            unreachable!("the lease reads only the epoch")
        }
        fn record_oauth_audit(&mut self, _: AuditEvent) -> Result<(), StoreError> {
            unreachable!("the lease reads only the epoch")
        }
        fn credential_epoch(&mut self) -> Result<i64, StoreError> {
            Ok(self.0.load(Ordering::SeqCst))
        }
    }

    impl OAuthStorage for Epoch {
        fn with_oauth_store<T>(
            &self,
            f: impl FnOnce(&mut dyn OAuthStore) -> Result<T, StoreError>,
        ) -> Result<T, StoreError> {
            f(&mut &*self)
        }

        fn with_oauth_transaction<T>(
            &self,
            f: impl FnOnce(&mut dyn OAuthStore) -> Result<T, StoreError>,
        ) -> Result<T, StoreError> {
            f(&mut &*self)
        }
    }

    fn principal() -> Principal {
        Principal {
            access_token_id: AccessTokenId::new(1),
            client_id: ClientId::generate().unwrap(),
            token_name: Name::parse("name", "Zapier").unwrap(),
            learning_area: LearningArea {
                id: LearningAreaId::new(7),
                name: Name::parse("name", "Sales").unwrap(),
                created_at: NOW,
            },
            acts_as: AccountId::new(1),
            access_token_expires_at: NOW + time::Duration::days(30),
            issued_at: NOW,
            expires_at: NOW + time::Duration::hours(1),
        }
    }

    fn cache(lease_ms: u64) -> ValidationCache {
        ValidationCache::new(LeaseConfig::with_lease(Duration::from_millis(lease_ms)))
    }

    fn remember(cache: &ValidationCache, name: &str) {
        let read_at = cache.generation();
        cache.insert(read_at, fast_hash(name), &principal(), NOW + time::Duration::hours(1));
    }

    #[test]
    fn nothing_is_remembered_before_the_first_poll() {
        let cache = cache(1_000);
        remember(&cache, "bearer");
        assert_eq!(cache.len(), 0);
        assert!(cache.get(&fast_hash("bearer"), NOW).is_none());
    }

    #[test]
    fn a_validation_is_served_while_the_lease_holds_and_not_after() {
        let (store, cache) = (Epoch::default(), cache(50));
        cache.renew(&store, NOW).unwrap();
        remember(&cache, "bearer");
        let served = cache.get(&fast_hash("bearer"), NOW).unwrap();
        assert_eq!(
            (served.principal.access_token_id, served.principal.learning_area.id),
            (AccessTokenId::new(1), LearningAreaId::new(7))
        );
        assert!(served.first_this_second);
        assert!(!cache.get(&fast_hash("bearer"), NOW).unwrap().first_this_second, "noted once a second");
        assert!(cache.get(&fast_hash("bearer"), NOW + time::Duration::seconds(1)).unwrap().first_this_second);
        assert!(cache.get(&fast_hash("another"), NOW).is_none());
        std::thread::sleep(Duration::from_millis(60));
        assert!(cache.get(&fast_hash("bearer"), NOW).is_none(), "no poll within the lease: ask the store");
        cache.renew(&store, NOW).unwrap();
        assert!(cache.get(&fast_hash("bearer"), NOW).is_some(), "a poll that saw no change renews it");
    }

    #[test]
    fn a_moved_epoch_empties_the_cache() {
        let (store, cache) = (Epoch::default(), cache(1_000));
        cache.renew(&store, NOW).unwrap();
        remember(&cache, "bearer");
        store.bump();
        cache.renew(&store, NOW).unwrap();
        assert_eq!(cache.len(), 0);
        assert!(cache.get(&fast_hash("bearer"), NOW).is_none());
    }

    #[test]
    fn a_store_read_older_than_a_flush_is_not_remembered() {
        let (store, cache) = (Epoch::default(), cache(1_000));
        cache.renew(&store, NOW).unwrap();
        let read_at = cache.generation();
        // The store is read here; meanwhile a revocation commits and a poll flushes.
        store.bump();
        cache.renew(&store, NOW).unwrap();
        cache.insert(read_at, fast_hash("bearer"), &principal(), NOW + time::Duration::hours(1));
        assert!(cache.get(&fast_hash("bearer"), NOW).is_none());
    }

    #[test]
    fn an_expired_validation_is_not_served() {
        let (store, cache) = (Epoch::default(), cache(1_000));
        cache.renew(&store, NOW).unwrap();
        remember(&cache, "bearer");
        assert!(cache.get(&fast_hash("bearer"), NOW + time::Duration::minutes(59)).is_some());
        assert!(cache.get(&fast_hash("bearer"), NOW + time::Duration::hours(1)).is_none());
    }

    #[test]
    fn a_full_cache_remembers_no_more_until_expired_entries_go() {
        let store = Epoch::default();
        let cache =
            ValidationCache::new(LeaseConfig { max_entries: 1, ..LeaseConfig::with_lease(Duration::from_secs(1)) });
        cache.renew(&store, NOW).unwrap();
        remember(&cache, "first");
        remember(&cache, "second");
        assert_eq!(cache.len(), 1);
        cache.renew(&store, NOW + time::Duration::hours(2)).unwrap();
        assert_eq!(cache.len(), 0, "a poll drops expired entries when the cache is full");
    }

    #[test]
    fn only_a_write_that_moves_the_epoch_waits_for_the_fence() {
        let store = Epoch::default();
        let lease = LeaseConfig::default();
        let (_, quiet) = lease.fenced(&mut &store, |_| Ok::<_, StoreError>(())).unwrap();
        assert_eq!(quiet, Duration::ZERO);
        let bump = |s: &mut &Epoch| {
            s.bump();
            Ok::<_, StoreError>(())
        };
        let (_, moved) = lease.fenced(&mut &store, bump).unwrap();
        assert_eq!(moved, lease.fence());
        let (_, off) = LeaseConfig::disabled().fenced(&mut &store, bump).unwrap();
        assert_eq!(off, Duration::ZERO, "no cache, no fence");
    }

    #[test]
    fn a_zero_lease_caches_nothing_and_needs_no_fence() {
        let (store, cache) = (Epoch::default(), cache(0));
        cache.renew(&store, NOW).unwrap();
        remember(&cache, "bearer");
        assert!(cache.get(&fast_hash("bearer"), NOW).is_none());
        assert_eq!(cache.config().fence(), Duration::ZERO);
        assert_eq!(LeaseConfig::default().fence(), Duration::from_millis(105));
    }
}
