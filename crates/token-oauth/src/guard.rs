//! The three defences of the token endpoint against argon2's cost: a failure throttle per
//! client id, a bounded number of concurrent verifications, and a cache of recent successful
//! verifications (see `docs/decisions/0001-verifier-cache.md`).

use std::collections::HashMap;
use std::sync::{Condvar, Mutex, PoisonError};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use time::{Duration, OffsetDateTime};
use token_core::secret::VerifyMemory;

/// How many failures lock a client id, for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleConfig {
    /// Failures allowed in one window.
    pub max_failures: u32,
    /// The window; after the last allowed failure, attempts wait until it ends.
    pub window: Duration,
    /// Most client ids tracked at once (bounds memory under a flood of random ids).
    pub max_tracked: usize,
}

impl ThrottleConfig {
    /// For admin sign-ins: five failures per email, then fifteen minutes of refusal.
    pub fn logins() -> Self {
        Self { max_failures: 5, window: Duration::minutes(15), max_tracked: 100_000 }
    }
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        Self { max_failures: 5, window: Duration::minutes(1), max_tracked: 100_000 }
    }
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    window_start: OffsetDateTime,
}

/// Counts failed authentications per client id and refuses attempts, without hashing, once a
/// client id has failed too often in the current window.
#[derive(Debug)]
pub struct FailureThrottle {
    config: ThrottleConfig,
    entries: Mutex<HashMap<String, Failures>>,
}

impl FailureThrottle {
    /// A throttle with `config`.
    pub fn new(config: ThrottleConfig) -> Self {
        Self { config, entries: Mutex::new(HashMap::new()) }
    }

    /// `Err(seconds)` when `client_id` must wait that many whole seconds (at least 1).
    pub fn check(&self, client_id: &str, now: OffsetDateTime) -> Result<(), u64> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        match entries.get(client_id) {
            Some(f) if f.count >= self.config.max_failures && now < f.window_start + self.config.window => {
                let wait = (f.window_start + self.config.window - now).whole_seconds().max(1);
                Err(wait.unsigned_abs())
            }
            _ => Ok(()),
        }
    }

    /// Counts one failure.
    pub fn record_failure(&self, client_id: &str, now: OffsetDateTime) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= self.config.max_tracked && !entries.contains_key(client_id) {
            let window = self.config.window;
            entries.retain(|_, f| now < f.window_start + window);
            if entries.len() >= self.config.max_tracked {
                return;
            }
        }
        let entry = entries.entry(client_id.to_owned()).or_insert(Failures { count: 0, window_start: now });
        if now >= entry.window_start + self.config.window {
            *entry = Failures { count: 0, window_start: now };
        }
        entry.count += 1;
    }

    /// How many failures `key` has in its current window.
    pub fn failures(&self, key: &str) -> u32 {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner).get(key).map_or(0, |f| f.count)
    }

    /// Forgets the failures of a client that just authenticated.
    pub fn record_success(&self, client_id: &str) {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner).remove(client_id);
    }
}

/// At most `n` argon2 verifications run at once, so a flood of token requests cannot take
/// every core from the requests that only validate bearer tokens. Each slot owns the working
/// memory of one verification (19 MiB at the default parameters), allocated once and reused:
/// memory stays at `n` × that, however many verifications run.
#[derive(Debug)]
pub struct VerifierSlots {
    free: Mutex<Vec<VerifyMemory>>,
    released: Condvar,
    wait: std::time::Duration,
}

/// A held slot with its memory; released on drop.
#[derive(Debug)]
pub struct Slot<'a> {
    slots: &'a VerifierSlots,
    memory: Option<VerifyMemory>,
}

impl Slot<'_> {
    /// The slot's verification memory.
    pub fn memory(&mut self) -> &mut VerifyMemory {
        self.memory.get_or_insert_with(VerifyMemory::default)
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let memory = self.memory.take().unwrap_or_default();
        self.slots.free.lock().unwrap_or_else(PoisonError::into_inner).push(memory);
        self.slots.released.notify_one();
    }
}

impl VerifierSlots {
    /// `n` slots; a caller waits at most `wait` for one.
    pub fn new(n: usize, wait: std::time::Duration) -> Self {
        let free = (0..n.max(1)).map(|_| VerifyMemory::default()).collect();
        Self { free: Mutex::new(free), released: Condvar::new(), wait }
    }

    /// A slot, or `None` when none freed up in time.
    pub fn acquire(&self) -> Option<Slot<'_>> {
        let free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
        let (mut free, _) = self
            .released
            .wait_timeout_while(free, self.wait, |free| free.is_empty())
            .unwrap_or_else(PoisonError::into_inner);
        let memory = free.pop()?;
        Some(Slot { slots: self, memory: Some(memory) })
    }
}

/// A per-process budget of argon2 verifications per second. The throttle stops one client id
/// from being guessed at; this stops many ids (or many wrong secrets) from together taking the
/// cores from bearer validation. Verifications the cache vouches for cost no budget, so clients
/// already verified keep working during a flood; only first verifications wait.
#[derive(Debug)]
pub struct VerificationBudget {
    per_second: u32,
    window: Mutex<(std::time::Instant, u32)>,
}

impl VerificationBudget {
    /// At most `per_second` verifications in any one-second window.
    pub fn new(per_second: u32) -> Self {
        Self { per_second: per_second.max(1), window: Mutex::new((std::time::Instant::now(), 0)) }
    }

    /// Whether this second's budget is spent, without taking from it.
    pub fn is_spent(&self) -> bool {
        let window = self.window.lock().unwrap_or_else(PoisonError::into_inner);
        window.1 >= self.per_second && window.0.elapsed() < std::time::Duration::from_secs(1)
    }

    /// Takes one verification from the budget; `false` when this second's budget is spent.
    pub fn take(&self) -> bool {
        let mut window = self.window.lock().unwrap_or_else(PoisonError::into_inner);
        let now = std::time::Instant::now();
        if now.duration_since(window.0) >= std::time::Duration::from_secs(1) {
            *window = (now, 0);
        }
        if window.1 >= self.per_second {
            return false;
        }
        window.1 += 1;
        true
    }
}

/// Remembers, per client id, an HMAC of the last secret that verified against the stored
/// argon2id hash, keyed with a random per-process key. A repeat request with the same secret
/// is then checked with one HMAC instead of one argon2 verify. The MAC covers the stored hash
/// too, so an entry can only ever vouch for the hash it was made against; the token's status
/// is still read from the database on every request, so revocation needs no cache invalidation
/// to be effective (entries are dropped on revoke anyway, to keep memory tidy).
pub struct VerifiedCache {
    key: [u8; 32],
    entries: Mutex<HashMap<String, Vouch>>,
    max_entries: usize,
}

/// One client's entry: the stored hash its secret verified against, and the MAC.
struct Vouch {
    stored_hash: std::sync::Arc<str>,
    mac: [u8; 32],
}

impl std::fmt::Debug for VerifiedCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedCache").field("max_entries", &self.max_entries).finish_non_exhaustive()
    }
}

type HmacSha256 = Hmac<Sha256>;

impl VerifiedCache {
    /// An empty cache with a fresh random key.
    pub fn new(max_entries: usize) -> Result<Self, getrandom::Error> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key)?;
        Ok(Self { key, entries: Mutex::new(HashMap::new()), max_entries })
    }

    fn mac(&self, client_id: &str, secret: &str, stored_hash: &str) -> [u8; 32] {
        let Ok(mut mac) = HmacSha256::new_from_slice(&self.key) else { return [0; 32] };
        for part in [client_id, secret, stored_hash] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part.as_bytes());
        }
        mac.finalize().into_bytes().into()
    }

    /// Whether this exact secret verified against this exact stored hash before.
    pub fn vouches_for(&self, client_id: &str, secret: &str, stored_hash: &str) -> bool {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(known) = entries.get(client_id) else { return false };
        let presented = self.mac(client_id, secret, stored_hash);
        bool::from(known.mac.ct_eq(&presented))
    }

    /// Whether this secret verified before against the hash stored *at that time*: the
    /// request will most likely be vouched for once the current hash is read, so it needs no
    /// argon2 budget. Needs no store read, so it can refuse a flood before one.
    pub fn may_vouch_for(&self, client_id: &str, secret: &str) -> bool {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(known) = entries.get(client_id) else { return false };
        let presented = self.mac(client_id, secret, &known.stored_hash);
        bool::from(known.mac.ct_eq(&presented))
    }

    /// Remembers a successful verification.
    pub fn remember(&self, client_id: &str, secret: &str, stored_hash: &str) {
        let mac = self.mac(client_id, secret, stored_hash);
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= self.max_entries && !entries.contains_key(client_id) {
            entries.clear();
        }
        entries.insert(client_id.to_owned(), Vouch { stored_hash: stored_hash.into(), mac });
    }

    /// Forgets a client (its token was revoked).
    pub fn forget(&self, client_id: &str) {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner).remove(client_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const T0: OffsetDateTime = datetime!(2026-01-01 0:00 UTC);

    #[test]
    fn a_client_id_is_locked_after_repeated_failures_until_the_window_passes() {
        let throttle = FailureThrottle::new(ThrottleConfig::default());
        for _ in 0..5 {
            assert_eq!(throttle.check("tkc_a", T0), Ok(()));
            throttle.record_failure("tkc_a", T0);
        }
        assert_eq!(throttle.check("tkc_a", T0 + Duration::seconds(10)), Err(50));
        assert_eq!(throttle.check("tkc_b", T0), Ok(()), "other ids are not affected");
        assert_eq!(throttle.check("tkc_a", T0 + Duration::minutes(1)), Ok(()));
    }

    #[test]
    fn a_success_clears_the_failures() {
        let throttle = FailureThrottle::new(ThrottleConfig::default());
        for _ in 0..4 {
            throttle.record_failure("tkc_a", T0);
        }
        throttle.record_success("tkc_a");
        throttle.record_failure("tkc_a", T0);
        assert_eq!(throttle.check("tkc_a", T0), Ok(()));
    }

    #[test]
    fn the_throttle_tracks_a_bounded_number_of_ids() {
        let throttle = FailureThrottle::new(ThrottleConfig { max_tracked: 3, ..Default::default() });
        for i in 0..10 {
            throttle.record_failure(&format!("tkc_{i}"), T0);
        }
        assert!(throttle.entries.lock().unwrap().len() <= 3);
    }

    #[test]
    fn the_cache_vouches_only_for_the_same_secret_and_hash() {
        let cache = VerifiedCache::new(10).unwrap();
        cache.remember("tkc_a", "tks_secret", "$argon2id$hash");
        assert!(cache.vouches_for("tkc_a", "tks_secret", "$argon2id$hash"));
        assert!(!cache.vouches_for("tkc_a", "tks_other", "$argon2id$hash"));
        assert!(!cache.vouches_for("tkc_a", "tks_secret", "$argon2id$other"));
        assert!(!cache.vouches_for("tkc_b", "tks_secret", "$argon2id$hash"));
        cache.forget("tkc_a");
        assert!(!cache.vouches_for("tkc_a", "tks_secret", "$argon2id$hash"));
    }

    #[test]
    fn the_budget_allows_so_many_verifications_per_second() {
        let budget = VerificationBudget::new(3);
        assert!((0..3).all(|_| budget.take()));
        assert!(!budget.take());
    }

    #[test]
    fn slots_bound_concurrent_verifications() {
        let slots = VerifierSlots::new(1, std::time::Duration::from_millis(10));
        let held = slots.acquire().unwrap();
        assert!(slots.acquire().is_none());
        drop(held);
        assert!(slots.acquire().is_some());
    }
}
