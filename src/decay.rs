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
//! The epoch shares one word with `trim`'s generation (`Epochs`). Every
//! change of that word also gives the pool a new *stamp* ([`Generations`]),
//! a value no pool in the process ever had before, and the fast paths
//! compare only the stamp: one load of a word written once per interval
//! tells them both that a thread cache is this pool's and that it is up to
//! date.

use std::time::{Duration, Instant};

use crate::sync::statics::AtomicU64 as StaticU64;
use crate::sync::{
    AtomicU64,
    Ordering::{AcqRel, Acquire, Relaxed},
};

/// How many cache hits a thread makes between clock checks.
pub(crate) const TICK_EVERY: u32 = 1024;

/// How many refills and spills a thread makes between clock checks (every
/// miss checks it too): reading the clock on every transfer cost as much as
/// the transfer (notes/benchmarks-notebook.md, *Engine history*).
pub(crate) const TRANSFER_TICK_EVERY: u32 = 8;

/// `trim` generations in bits 32..63, decay epochs in the low half.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Epochs(pub(crate) u64);

impl Epochs {
    pub(crate) const TRIM: u64 = 1 << 32;

    /// Whether `trim` ran between `self` and `now`.
    pub(crate) fn trimmed_since(self, now: Epochs) -> bool {
        self.0 >> 32 != now.0 >> 32
    }
}

/// Stamps are drawn from one process-wide counter, so none repeats (64 bits
/// do not wrap in the life of a process), and 0 is never one.
static NEXT_STAMP: StaticU64 = StaticU64::new(1);

fn fresh_stamp() -> u64 {
    NEXT_STAMP.fetch_add(1, Relaxed)
}

/// A pool's [`Epochs`] and its stamp.
///
/// The protocol, which `loom_models.rs` checks:
/// - a writer changes the epochs word, then swaps in a fresh stamp;
/// - a reader catching up loads the stamp, then the epochs ([`now`](Self::now)),
///   and keeps both;
/// - a fast path proceeds only if the stamp it loads is the one kept.
///
/// The stamp is swapped (a read-modify-write, acquire and release), not
/// stored: so a reader that loads the last stamp sees every epochs change
/// whose stamp came before it, by whichever thread. With a plain store, a
/// decay tick's stamp could land after a concurrent `trim`'s while its
/// epochs change landed before, and a reader could keep the newest stamp
/// with the trim unseen, and never release its cache.
#[derive(Debug)]
pub(crate) struct Generations {
    epochs: AtomicU64,
    stamp: AtomicU64,
}

impl Generations {
    pub(crate) fn new() -> Self {
        Self { epochs: AtomicU64::new(0), stamp: AtomicU64::new(fresh_stamp()) }
    }

    /// The current stamp: what the fast paths compare. Relaxed: a fast path
    /// that finds the stamp it kept reads nothing else the writers wrote.
    #[inline]
    pub(crate) fn stamp(&self) -> u64 {
        self.stamp.load(Relaxed)
    }

    /// The stamp, then the epochs it covers: what a thread cache records
    /// when it catches up.
    pub(crate) fn now(&self) -> (u64, Epochs) {
        let stamp = self.stamp.load(Acquire);
        (stamp, Epochs(self.epochs.load(Relaxed)))
    }

    /// Starts the next decay epoch.
    pub(crate) fn next_epoch(&self) {
        self.epochs.fetch_add(1, Relaxed);
        self.restamp();
    }

    /// Starts the next `trim` generation.
    pub(crate) fn next_trim(&self) {
        self.epochs.fetch_add(Epochs::TRIM, Relaxed);
        self.restamp();
    }

    fn restamp(&self) {
        self.stamp.swap(fresh_stamp(), AcqRel);
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

    /// Makes the next interval start now, as if one had just elapsed;
    /// `false` with decay off.
    pub(crate) fn restart(&self) -> bool {
        let Some(interval) = self.interval else { return false };
        let now = nanos(self.start.elapsed());
        self.next_tick.store(now.saturating_add(nanos(interval)), Relaxed);
        true
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
