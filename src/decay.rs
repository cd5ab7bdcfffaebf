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

/// `trim` generations in bits 32..63, decay epochs in the low half, and
/// [`DEBUG`](Self::DEBUG) in the top bit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Epochs(pub(crate) u64);

impl Epochs {
    pub(crate) const TRIM: u64 = 1 << 32;

    /// Set for the life of a pool in a test mode (`debug.rs`). A thread
    /// cache's seen epochs never have it, so the fast paths, which compare
    /// the two words, never match, and every operation takes a slow path.
    pub(crate) const DEBUG: u64 = 1 << 63;

    /// The word with `DEBUG` cleared: what a thread cache records as seen.
    pub(crate) fn seen(self) -> Epochs {
        Epochs(self.0 & !Self::DEBUG)
    }

    /// Whether `trim` ran between `self` and `now`.
    pub(crate) fn trimmed_since(self, now: Epochs) -> bool {
        (self.0 & !Self::DEBUG) >> 32 != (now.0 & !Self::DEBUG) >> 32
    }

    /// The next trim generation of `word`, `DEBUG` kept as it was.
    pub(crate) fn next_trim(word: u64) -> u64 {
        (word & Self::DEBUG) | (word.wrapping_add(Self::TRIM) & !Self::DEBUG)
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
