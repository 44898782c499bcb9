//! Time as a parameter: the domain never reads the system clock itself, so every expiry rule can
//! be tested by moving a [`ManualClock`].

use std::sync::{Arc, Mutex, PoisonError};

use time::{Duration, OffsetDateTime};

/// Where "now" comes from. Implementations return UTC instants truncated to whole seconds, the
/// precision tokend stores and shows (RFC 3339 without fractions).
pub trait Clock: Send + Sync {
    /// The current instant, UTC, whole seconds.
    fn now(&self) -> OffsetDateTime;
}

/// The real clock. The one sanctioned place in the domain that reads the system time.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    #[expect(clippy::disallowed_methods, reason = "the single place the domain reads real time")]
    fn now(&self) -> OffsetDateTime {
        truncate_to_seconds(OffsetDateTime::now_utc())
    }
}

/// A clock that only moves when told to; shared by clones, so a test can hand one copy to the
/// service and keep another to advance time.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<OffsetDateTime>>,
}

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: OffsetDateTime) -> Self {
        Self { now: Arc::new(Mutex::new(truncate_to_seconds(start))) }
    }

    /// Moves the clock forward (or back, with a negative duration).
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        *now += by;
    }

    /// Sets the clock to `to`.
    pub fn set(&self, to: OffsetDateTime) {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner) = truncate_to_seconds(to);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Drops sub-second precision and normalises the offset to UTC.
pub fn truncate_to_seconds(at: OffsetDateTime) -> OffsetDateTime {
    let at = at.to_offset(time::UtcOffset::UTC);
    at.replace_nanosecond(0).unwrap_or(at)
}
