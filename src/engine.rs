//! The engine behind a pool: its validated configuration and every piece of
//! state that all threads share.
//!
//! ```text
//!  BufPool ──Arc──► Engine
//!                   ├─ config, budget, clock        read-mostly
//!                   ├─ generations                  trim generations, decay epochs, and their stamp
//!                   ├─ depots[tier]                 the global level (depot.rs)
//!                   ├─ threads: ThreadLocal<stats>  one counter block per thread (stats/cells.rs)
//!                   └─ common: stats                the counters of paths without a thread cache
//! ```
//!
//! The hot path reads `index`, the stamp and the configuration, which only
//! construction, `trim` and the once-per-interval decay tick write, so their
//! line stays shared and clean in every core. Other modules change the
//! engine only through its methods.
//!
//! Each thread's counter block is found through `thread_local::ThreadLocal`,
//! which lets `stats()` walk every block and gives a block whose thread
//! exited to the next thread that reuses the id: its counters are monotonic
//! flows, so the new owner adding to them keeps every sum right (a thread's
//! exit flush is counted in the common block, see `registry.rs`).

use std::sync::OnceLock;

use thread_local::ThreadLocal;

use crate::admission::{Admission, Allowance};
use crate::budget::Budget;
use crate::buffer::Origin;
use crate::config::Config;
use crate::debug::TestModes;
use crate::decay::{Clock, Epochs, Generations};
use crate::depot::Depot;
use crate::layout::{self, DataWord};
use crate::stats::{AdmissionStats, Event, Stats, ThreadStats, Totals};
use crate::sync::statics::Mutex as StaticMutex;
use crate::sync::{Arc, AtomicU64, AtomicUsize, Ordering::Relaxed, Weak};

/// The shared state of one pool.
pub(crate) struct Engine {
    /// Small and reused after the engine drops: where this engine's slot is
    /// in each thread's registry (`registry.rs`). The stamp tells a reused
    /// index from the engine's own.
    index: usize,
    /// `trim` generations and decay epochs, and their stamp
    /// (`decay::Generations`). A thread cache that saw another stamp catches
    /// up on its next use.
    generations: Generations,
    /// Every get and return takes the slow paths: a test mode is on, or
    /// returns are scrubbed. So a fast hit is always of a pool that hands
    /// out pristine guards.
    slow_only: bool,
    config: Config,
    /// The byte budget, if any; `None` does no accounting at all.
    budget: Option<Budget>,
    /// The limit on outstanding bytes, if any (`admission.rs`); `None` does
    /// no accounting at all.
    admission: Option<Admission>,
    /// Where a `BytesMut` keeps its `data` word, if `layout::probe` found it;
    /// `None` sends every exposed return to the full check.
    data_word: Option<DataWord>,
    /// Per tier, the `data` word of a fresh buffer of the tier's size,
    /// recorded from the tier's first allocation (0, which no `data` word
    /// is, until then): what an exposed standard buffer shows while it is
    /// as the pool handed it out (`layout.rs`). Sized for every tier a pool
    /// may have, so that a tier index the return path has checked needs no
    /// second bounds check.
    fresh: [AtomicUsize; crate::MAX_TIERS],
    clock: Clock,
    /// One global depot per tier.
    depots: Box<[Depot]>,
    /// Every thread's counters.
    threads: ThreadLocal<Arc<ThreadStats>>,
    /// The common block: the counters of paths without a thread cache;
    /// updated with `fetch_add`.
    common: ThreadStats,
    /// Lets a thread cache hold the engine weakly, to flush it at thread exit.
    weak_self: Weak<Engine>,
    /// Thread caches made for this pool so far: each seeds its sampling
    /// generator with its number.
    slots_made: AtomicU64,
    /// The sampling rate of `track_callers_sampled`, if on: read on the
    /// clock's check of the fast path, so it sits with the hot fields.
    sample_every: Option<u64>,
    /// The test modes (`debug.rs`), if any is on.
    test_modes: Option<TestModes>,
}

/// Indices of dropped engines, for reuse, and the next fresh one.
fn free_indices() -> &'static StaticMutex<(Vec<usize>, usize)> {
    static FREE: OnceLock<StaticMutex<(Vec<usize>, usize)>> = OnceLock::new();
    FREE.get_or_init(|| StaticMutex::new((Vec::new(), 0)))
}

fn take_index() -> usize {
    let mut free = free_indices().lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    free.0.pop().unwrap_or_else(|| {
        free.1 += 1;
        free.1 - 1
    })
}

impl Drop for Engine {
    fn drop(&mut self) {
        let mut free = free_indices().lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        free.0.push(self.index);
    }
}

// === impl Engine ===

impl Engine {
    pub(crate) fn new(config: Config) -> Arc<Self> {
        let depots = (config.global_queue.iter().enumerate())
            .map(|(t, &c)| Depot::new(c, config.half(t), config.whole(t), config.size(t)))
            .collect();
        let tiers = config.tiers();
        let test_modes = TestModes::new(config.track_callers, config.chaos, config.sample_every);
        Arc::new_cyclic(|weak_self| Engine {
            index: take_index(),
            generations: Generations::new(),
            // A sampling pool keeps the fast paths: its slots leave them for
            // the gets they record (`cache.rs`).
            // A limited pool charges every checkout and settles every return
            // on its slow paths, so an unlimited pool's fast paths carry no
            // test for it.
            slow_only: config.track_callers
                || config.chaos.is_some()
                || config.scrub_on_return
                || config.max_outstanding_bytes.is_some(),
            sample_every: test_modes.as_ref().and_then(TestModes::sample_every),
            slots_made: AtomicU64::new(0),
            test_modes,
            budget: config.max_retained_bytes.map(Budget::new),
            admission: config.max_outstanding_bytes.map(Admission::new),
            data_word: layout::probe(),
            fresh: std::array::from_fn(|_| AtomicUsize::new(0)),
            clock: Clock::new(config.idle_timeout),
            depots,
            threads: ThreadLocal::new(),
            common: ThreadStats::new(tiers),
            weak_self: weak_self.clone(),
            config,
        })
    }

    #[inline]
    pub(crate) fn index(&self) -> usize {
        self.index
    }

    #[inline]
    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    #[inline]
    pub(crate) fn budget(&self) -> Option<&Budget> {
        self.budget.as_ref()
    }

    #[inline]
    pub(crate) fn admission(&self) -> Option<&Admission> {
        self.admission.as_ref()
    }

    /// Whether `buf`, of the capacity of `tier`'s size, holds its storage
    /// as a fresh buffer of that size does: alone, whole, from offset 0
    /// (`layout.rs`). `false` when not known, which sends the return to the
    /// full check.
    #[inline]
    pub(crate) fn is_fresh(&self, tier: usize, buf: &bytes::BytesMut) -> bool {
        match (self.data_word, self.fresh.get(tier)) {
            (Some(data), Some(fresh)) => data.of(buf) == fresh.load(Relaxed),
            _ => false,
        }
    }

    /// Records the `data` word of `buf`, a buffer of `tier` just made by
    /// `BytesMut::with_capacity` of the tier's size.
    pub(crate) fn note_fresh(&self, tier: usize, buf: &bytes::BytesMut) {
        if let (Some(data), Some(fresh)) = (self.data_word, self.fresh.get(tier)) {
            let word = data.of(buf);
            if fresh.load(Relaxed) != word {
                fresh.store(word, Relaxed);
            }
        }
    }

    /// The stamp the fast paths compare (`decay::Generations`).
    #[inline]
    pub(crate) fn stamp(&self) -> u64 {
        self.generations.stamp()
    }

    /// The stamp, then the epochs it covers, for a thread cache catching up.
    pub(crate) fn now(&self) -> (u64, Epochs) {
        self.generations.now()
    }

    /// Whether every get and return takes the slow paths (a test mode, or
    /// `scrub_on_return`).
    pub(crate) fn slow_only(&self) -> bool {
        self.slow_only
    }

    /// The number of the thread cache being made for this pool.
    pub(crate) fn next_slot(&self) -> u64 {
        self.slots_made.fetch_add(1, Relaxed)
    }

    /// The sampling rate of `track_callers_sampled`, if on.
    #[inline]
    pub(crate) fn sample_every(&self) -> Option<u64> {
        self.sample_every
    }

    /// The test modes, if any is on; only slow paths ask.
    pub(crate) fn test_modes(&self) -> Option<&TestModes> {
        self.test_modes.as_ref()
    }

    #[inline]
    pub(crate) fn depot(&self, tier: usize) -> &Depot {
        &self.depots[tier]
    }

    pub(crate) fn weak(&self) -> Weak<Engine> {
        self.weak_self.clone()
    }

    pub(crate) fn idle_timeout(&self) -> Option<std::time::Duration> {
        self.clock.interval()
    }

    /// The calling thread's counter block: its own, or the one a thread that
    /// exited left behind for its id.
    pub(crate) fn thread_stats(&self) -> Arc<ThreadStats> {
        Arc::clone(self.threads.get_or(|| Arc::new(ThreadStats::new(self.config.tiers()))))
    }

    /// Counts `n` events of `origin`'s row on the common block, for the paths
    /// without a thread cache.
    pub(crate) fn count_common(&self, origin: Origin, event: Event, n: u64) {
        self.common.row(origin).add(event, n);
    }

    /// Counts a request of `n` bytes in the common block's histogram
    /// (feature `advice`).
    #[cfg(feature = "advice")]
    pub(crate) fn record_request_common(&self, n: usize) {
        self.common.requests.add(n);
    }

    /// Every request counted so far, by size bucket (feature `advice`).
    #[cfg(feature = "advice")]
    pub(crate) fn requests(&self) -> [u64; crate::stats::REQUEST_BUCKETS] {
        let mut sum = [0; crate::stats::REQUEST_BUCKETS];
        for block in self.threads.iter() {
            block.requests.add_to(&mut sum);
        }
        self.common.requests.add_to(&mut sum);
        sum
    }

    /// Every thread's room under the limit on outstanding bytes, for a
    /// waiter to take back.
    pub(crate) fn allowances(&self) -> impl Iterator<Item = &Allowance> {
        self.threads.iter().map(|block| &block.allowance)
    }

    /// Counts bytes charged or settled with the limit on a path without a
    /// thread cache.
    pub(crate) fn count_limit_common(&self, event: Event, bytes: u64) {
        self.common.limit().add(event, bytes);
    }

    /// Pays for a buffer entering the pool on a path without a thread cache.
    pub(crate) fn spend_direct(&self, cost: usize) -> bool {
        self.budget.as_ref().is_none_or(|budget| budget.reserve_exact(cost))
    }

    /// Gives back the bytes of buffers that left the pool on a path without
    /// a thread cache.
    pub(crate) fn refund_direct(&self, bytes: usize) {
        if let Some(budget) = &self.budget {
            budget.release(bytes);
        }
    }

    /// Checks the decay clock; if an interval has elapsed, starts a new
    /// epoch and reaps the global queues. Thread caches reap themselves when
    /// they see the new epoch.
    #[cold]
    pub(crate) fn tick(&self) {
        self.tick_if_due();
    }

    /// The fast path's check every `TICK_EVERY` hits of a tier: [`tick`](Self::tick),
    /// and the sampling rate of `track_callers_sampled`, if on, for the
    /// slot to schedule its next recorded get.
    #[inline]
    pub(crate) fn check(&self) -> Option<u64> {
        self.tick_if_due();
        self.sample_every
    }

    #[inline(always)]
    fn tick_if_due(&self) {
        if self.clock.tick_due() {
            self.next_epoch();
        }
    }

    /// Ends the current decay interval now, whether or not it has elapsed
    /// (nothing with decay off).
    pub(crate) fn tick_now(&self) {
        if self.clock.restart() {
            self.next_epoch();
        }
    }

    fn next_epoch(&self) {
        self.generations.next_epoch();
        for (tier, depot) in self.depots.iter().enumerate() {
            let (buffers, bytes) = depot.reap();
            self.refund_direct(bytes);
            self.count_common(Origin::tier(tier), Event::Decayed, buffers);
        }
    }

    /// Starts a new `trim` generation, so every thread releases its cache on
    /// its next use, and releases the global queues now; returns the bytes
    /// released.
    pub(crate) fn trim_depots(&self) -> usize {
        self.generations.next_trim();
        let mut released = 0;
        for (tier, depot) in self.depots.iter().enumerate() {
            let (buffers, bytes) = depot.drain();
            released += bytes;
            self.refund_direct(bytes);
            self.count_common(Origin::tier(tier), Event::Trimmed, buffers);
        }
        released
    }

    /// A snapshot of every counter block and depot.
    pub(crate) fn snapshot(&self) -> Stats {
        let mut totals = Totals::new(self.config.tiers());
        for block in self.threads.iter() {
            totals.add_thread(block);
        }
        totals.add_common(&self.common);
        let depot: Vec<_> = self.depots.iter().map(Depot::level).collect();
        let mut stats = totals.snapshot(self.config.sizes(), &self.config.ceilings, &depot);
        stats.max_retained_bytes = self.budget.as_ref().map(Budget::limit);
        stats.admission = self.admission.as_ref().map(|admission| {
            let s = admission.snapshot();
            let rows = self.threads.iter().map(|block| block.limit()).chain([self.common.limit()]);
            let (charged, settled) =
                rows.fold((0u64, 0u64), |(c, t), row| (c + row.get(Event::Charged), t + row.get(Event::Settled)));
            let outstanding = usize::try_from(charged.saturating_sub(settled)).unwrap_or(usize::MAX);
            AdmissionStats {
                limit: s.limit,
                outstanding_bytes: outstanding,
                reserved_bytes: (s.limit + s.debt).saturating_sub(s.available + outstanding),
                overdrawn_bytes: s.debt,
                overdrafts: s.overdrafts,
                overdraft_bytes_total: s.overdrawn_bytes,
                waits: s.waits,
                wait_time: s.wait_time,
                would_wait: s.would_wait,
                waiting: s.waiting,
            }
        });
        stats
    }
}

impl core::fmt::Debug for Engine {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let c = &self.config;
        f.debug_struct("BufPool")
            .field("tiers", &c.sizes())
            .field("ceilings", &c.ceilings)
            .field("thread_cache", &c.thread_cache)
            .field("global_queue", &c.global_queue)
            .field("max_request", &c.max_request)
            .field("max_retained_bytes", &c.max_retained_bytes)
            .field("idle_timeout", &c.idle_timeout)
            .field("scrub_on_return", &c.scrub_on_return)
            .finish_non_exhaustive()
    }
}
