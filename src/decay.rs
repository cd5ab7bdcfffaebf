//! Idle decay: buffers unused for a whole interval are released, without a
//! background thread.
//!
//! This is Bonwick's working-set reap. Each magazine, and each global queue,
//! remembers its *low-water mark*: the fewest buffers it held since the last
//! tick. The buffers below that mark were not touched during the whole
//! interval, so at the next tick exactly that many are released: the bottom
//! of a magazine, the head of a global queue, both the coldest.
//!
//! Nothing runs in the background. Operations advance the clock: every
//! [`TICK_EVERY`] cache hits on a thread, every [`TRANSFER_TICK_EVERY`]
//! refills and spills, every miss, and
//! [`BufPool::decay`](crate::BufPool::decay) check whether an interval has
//! elapsed. If so, it bumps the *epoch* and reaps the global
//! queues. Each thread reaps its own cache the next time it uses the pool and
//! sees the new epoch. A thread idle for a whole interval has a low-water
//! mark equal to everything it caches, so it releases all of it.
//!
//! The epoch shares one word with `trim`'s generation (`Epochs`), so the hot
//! path still makes a single relaxed load of a line that is written only
//! once per interval.

use std::time::{Duration, Instant};

use crate::sync::{AtomicU64, Ordering::Relaxed};

/// How many cache hits a thread makes between clock checks.
pub(crate) const TICK_EVERY: u32 = 1024;

/// How many refills and spills a thread makes between clock checks (every
/// miss checks it too). Reading the clock costs about as much as moving a
/// batch (docs/design.md has the measurement).
pub(crate) const TRANSFER_TICK_EVERY: u32 = 8;

/// `trim` generations in the high half, decay epochs in the low half.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Epochs(pub(crate) u64);

impl Epochs {
    pub(crate) const TRIM: u64 = 1 << 32;

    /// Whether `trim` ran between `self` and `now`.
    pub(crate) fn trimmed_since(self, now: Epochs) -> bool {
        self.0 >> 32 != now.0 >> 32
    }
}

/// The pool's decay clock.
#[derive(Debug)]
pub(crate) struct Clock {
    interval: Option<Duration>,
    start: Instant,
    /// Nanoseconds since `start` at which the next tick is due.
    next_tick: AtomicU64,
}

impl Clock {
    pub(crate) fn new(interval: Option<Duration>) -> Self {
        let first = interval.map_or(u64::MAX, nanos);
        Self { interval, start: Instant::now(), next_tick: AtomicU64::new(first) }
    }

    pub(crate) fn interval(&self) -> Option<Duration> {
        self.interval
    }

    /// `true` once per elapsed interval, for exactly one caller.
    pub(crate) fn tick_due(&self) -> bool {
        let Some(interval) = self.interval else { return false };
        let now = nanos(self.start.elapsed());
        let due = self.next_tick.load(Relaxed);
        now >= due
            && self.next_tick.compare_exchange(due, now.saturating_add(nanos(interval)), Relaxed, Relaxed).is_ok()
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}
