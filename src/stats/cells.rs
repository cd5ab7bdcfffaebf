//! The counters behind [`Stats`](super::Stats): one block per thread per
//! pool, plus one common block per pool.
//!
//! A thread's block is written only by that thread, with a relaxed load and
//! a store (no read-modify-write, so no locked instruction and no line
//! bouncing); `stats()` reads it from anywhere. The pool's common block is
//! for the paths that have no thread cache (thread exit, TLS teardown,
//! `trim`, `prefill`, the decay of the global queues) and is updated with
//! `fetch_add` from any thread.
//!
//! Counters are monotonic flows. The hot path touches exactly one of them:
//! a cache hit counts a [`FastPop`](Event::FastPop), a return into the cache
//! a [`FastPush`](Event::FastPush). Everything else is derived when a
//! snapshot is taken (`super::Totals::snapshot`): gets from hits, global hits
//! and misses; a thread cache's level from what moved in and out of it.

use crossbeam_utils::CachePadded;

use crate::admission::Allowance;
use crate::buffer::Origin;
use crate::sync::{Arc, AtomicU64, Ordering::Relaxed};

/// Something that happened to buffers of one tier, counted in that tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
pub(crate) enum Event {
    /// A get served by this thread's cache, on the fast path.
    FastPop,
    /// A return pooled in this thread's cache, on the fast path (the tier it
    /// came from, standard, never exposed).
    FastPush,
    /// A get served by this thread's cache on a slow path.
    SlowPop,
    /// A buffer entering this thread's cache on a slow path (a return that
    /// was checked in full, an adoption), counted in the tier it entered.
    SlowPush,
    /// Buffers moved from the global queue into this thread's cache.
    Refilled,
    /// Buffers moved from this thread's cache to the global queue.
    Spilled,
    /// Bytes above their tier's size of the odd-sized buffers that entered,
    /// and that left, this thread's cache.
    ExtraIn,
    ExtraOut,
    /// Buffers of a thread cache moved to the global queue when its thread
    /// exited (common block only), and their bytes above the tier's size.
    Exited,
    ExitedExtra,
    /// A get served from the global queue.
    GlobalHit,
    /// A get that allocated.
    Miss,
    /// A guard that ended with its buffer pooled, on a slow path (counted in
    /// the tier it came from).
    Returned,
    /// Of those, the ones pooled in another tier.
    Retiered,
    /// A guard whose buffer's real capacity was above every ceiling.
    AboveCeiling,
    /// A guard whose storage was still shared, or had nothing to reclaim.
    Shared,
    /// A guard whose buffer's real capacity was below the smallest tier.
    TooSmall,
    /// A guard whose buffer would have taken the pool over its byte budget.
    OverBudget,
    /// Pooled buffers dropped because the global queue was full.
    GlobalFull,
    /// A guard detached from the pool.
    Detached,
    /// Pooled buffers released by `trim`, from a thread cache (thread blocks)
    /// or a global queue (common block).
    Trimmed,
    /// Pooled buffers released after a whole decay interval unused, from a
    /// thread cache or a global queue, as for `Trimmed`.
    Decayed,
    /// A buffer given to `BufPool::put` and accepted, counted in the tier it
    /// entered (as for `Returned`, a full global queue may still drop it,
    /// counted in `GlobalFull`). Those refused are counted by reason in the
    /// foreign row.
    Adopted,
    /// A buffer `BufPool::prefill` allocated and pooled (common block).
    Prefilled,
    /// Fast hits added to `FastPop` without a get, so that a sampling pool's
    /// next check comes at a random hit (`cache.rs`); every sum of
    /// `FastPop` subtracts them.
    Skipped,
    /// A guard's return dropped by chaos (`Builder::chaos`).
    Chaos,
    /// Bytes charged to, and settled with, the limit on outstanding bytes
    /// (`admission.rs`), in the block's `limit` row only.
    Charged,
    Settled,
}

pub(crate) const EVENTS: usize = Event::Settled as usize + 1;

/// The events of one tier. Padded, so that two tiers, and two threads'
/// blocks, never share a cache line pair.
#[derive(Debug, Default)]
pub(crate) struct TierCells {
    events: CachePadded<[AtomicU64; EVENTS]>,
}

impl TierCells {
    /// Counts `n` events; only the block's thread calls this. Returns the new
    /// count.
    #[inline]
    pub(crate) fn bump(&self, event: Event, n: u64) -> u64 {
        let cell = &self.events[event as usize];
        let new = cell.load(Relaxed).wrapping_add(n);
        cell.store(new, Relaxed);
        new
    }

    /// The count of `event` so far.
    pub(crate) fn get(&self, event: Event) -> u64 {
        self.events[event as usize].load(Relaxed)
    }

    /// Counts `n` events from any thread (the common block).
    pub(crate) fn add(&self, event: Event, n: u64) {
        if n > 0 {
            self.events[event as usize].fetch_add(n, Relaxed);
        }
    }

    pub(crate) fn get_index(&self, index: usize) -> u64 {
        self.events[index].load(Relaxed)
    }
}

/// Requests by size, feature `advice`: bucket `b` counts the requests of
/// `(2^(b-1), 2^b]` bytes (bucket 0: 0 and 1 byte). Written like the event
/// cells: by its thread alone, or with `fetch_add` in the common block.
#[cfg(feature = "advice")]
#[derive(Debug)]
pub(crate) struct Requests {
    buckets: CachePadded<[AtomicU64; REQUEST_BUCKETS]>,
}

#[cfg(feature = "advice")]
impl Default for Requests {
    fn default() -> Self {
        Self { buckets: CachePadded::new(core::array::from_fn(|_| AtomicU64::new(0))) }
    }
}

/// One bucket per bit length of a request, 0 to 64.
#[cfg(feature = "advice")]
pub(crate) const REQUEST_BUCKETS: usize = usize::BITS as usize + 1;

#[cfg(feature = "advice")]
impl Requests {
    /// The bucket of a request of `n` bytes.
    #[inline]
    pub(crate) fn bucket(n: usize) -> usize {
        (usize::BITS - n.saturating_sub(1).leading_zeros()) as usize
    }

    /// Counts a request of `n` bytes; only the block's thread calls this.
    #[inline]
    pub(crate) fn record(&self, n: usize) {
        let cell = &self.buckets[Self::bucket(n)];
        cell.store(cell.load(Relaxed).wrapping_add(1), Relaxed);
    }

    /// Counts a request of `n` bytes from any thread (the common block).
    pub(crate) fn add(&self, n: usize) {
        self.buckets[Self::bucket(n)].fetch_add(1, Relaxed);
    }

    /// Adds this block's counts to `sum`.
    pub(crate) fn add_to(&self, sum: &mut [u64; REQUEST_BUCKETS]) {
        for (s, cell) in sum.iter_mut().zip(self.buckets.iter()) {
            *s += cell.load(Relaxed);
        }
    }
}

/// The counters of one thread (or the paths without a thread cache: the common block) for one pool.
#[derive(Debug)]
pub(crate) struct ThreadStats {
    /// Each tier's cells, in their own allocation, so each thread-cache
    /// magazine holds its own and reaches it with one load.
    tiers: Box<[Arc<TierCells>]>,
    /// Requests above the largest tier: `Miss` (each one allocates),
    /// `AboveCeiling` (the guard's end: never pooled) and `Detached`.
    oversize: TierCells,
    /// Buffers given to `BufPool::put` and discarded, by reason.
    foreign: TierCells,
    /// `Charged` and `Settled`: bytes counted against the limit on
    /// outstanding bytes, and back.
    limit: TierCells,
    /// The thread's room under the limit on outstanding bytes, which a
    /// waiter takes back (`admission.rs`).
    pub(crate) allowance: Allowance,
    /// Requests by size (feature `advice`).
    #[cfg(feature = "advice")]
    pub(crate) requests: Requests,
}

impl ThreadStats {
    pub(crate) fn new(tiers: usize) -> Self {
        let tiers = (0..tiers).map(|_| Arc::default()).collect();
        Self {
            tiers,
            oversize: TierCells::default(),
            foreign: TierCells::default(),
            limit: TierCells::default(),
            allowance: Allowance::default(),
            #[cfg(feature = "advice")]
            requests: Requests::default(),
        }
    }

    /// The cells a guard of `origin` is counted in.
    pub(crate) fn row(&self, origin: Origin) -> &TierCells {
        match origin.tier_index() {
            Some(tier) => &self.tiers[tier],
            None if origin == Origin::FOREIGN => &self.foreign,
            None => &self.oversize,
        }
    }

    /// The cells of `tier`, for its thread-cache magazine to hold.
    pub(crate) fn cells(&self, tier: usize) -> Arc<TierCells> {
        Arc::clone(&self.tiers[tier])
    }

    pub(crate) fn tiers(&self) -> impl Iterator<Item = &TierCells> {
        self.tiers.iter().map(|c| &**c)
    }

    pub(crate) fn oversize(&self) -> &TierCells {
        &self.oversize
    }

    pub(crate) fn foreign(&self) -> &TierCells {
        &self.foreign
    }

    /// The row of the limit on outstanding bytes.
    pub(crate) fn limit(&self) -> &TierCells {
        &self.limit
    }
}
