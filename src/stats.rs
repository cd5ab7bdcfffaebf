//! Statistics that cost nothing shared on the hot path.
//!
//! Each thread that uses a pool owns a [`ThreadStats`] block. Only that thread
//! writes it, with plain relaxed loads and stores (no read-modify-write, so no
//! locked instruction and no cache line bouncing). [`BufPool::stats`] sums the
//! blocks of live threads, the totals folded in from exited threads, and one
//! shared block that the rare paths without a thread cache update with
//! `fetch_add` (thread teardown, `trim`).
//!
//! Counters are monotonic; the only gauges are the per-thread cached counts.
//! A snapshot taken while other threads run is a sum of relaxed reads: each
//! counter is exact, but counters may be from slightly different instants.
//!
//! [`BufPool::stats`]: crate::BufPool::stats

use crate::sync::{Arc, AtomicU64, AtomicUsize, Ordering::Relaxed};

/// Something that happened to a buffer, counted per tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(usize)]
pub(crate) enum Event {
    /// A get served from the thread cache.
    CacheHit,
    /// A get served from the global queue (refilling the thread cache).
    GlobalHit,
    /// A get that allocated.
    Miss,
    /// A guard that ended with its buffer pooled.
    Returned,
    /// A pooled return that went to another tier than it came from.
    Retiered,
    /// A guard whose buffer's capacity was above every ceiling.
    AboveCeiling,
    /// A guard whose storage was still shared, or had nothing to reclaim.
    Shared,
    /// A guard whose buffer's capacity was below the smallest tier.
    TooSmall,
    /// A pooled buffer dropped because the global queue was full.
    GlobalFull,
    /// A guard detached from the pool.
    Detached,
    /// A pooled buffer released by `trim`.
    Trimmed,
    /// A pooled buffer released after a whole decay interval unused.
    Decayed,
    /// A guard whose buffer would have taken the pool over its byte budget.
    OverBudget,
}

const EVENTS: usize = Event::OverBudget as usize + 1;

/// A counter that a single thread writes.
#[derive(Debug, Default)]
struct Counter(AtomicU64);

impl Counter {
    /// Adds `n`. Only the owning thread calls this, so a load and a store
    /// suffice: no read-modify-write, no lock prefix.
    #[inline]
    fn bump(&self, n: u64) -> u64 {
        let new = self.0.load(Relaxed).wrapping_add(n);
        self.0.store(new, Relaxed);
        new
    }

    /// Adds `n` from any thread (the shared block).
    fn add(&self, n: u64) {
        self.0.fetch_add(n, Relaxed);
    }

    fn get(&self) -> u64 {
        self.0.load(Relaxed)
    }
}

/// One tier's counters within a [`ThreadStats`]. Aligned so that two tiers'
/// counters, and two threads' blocks, never share a cache line pair. Each
/// thread-cache magazine holds its tier's cells directly, so the hot path
/// reaches them with one load and no bounds check.
#[derive(Debug, Default)]
#[repr(align(128))]
pub(crate) struct TierCells {
    events: [Counter; EVENTS],
    /// Buffers in this thread's cache for this tier (a gauge).
    cached_buffers: AtomicUsize,
    /// Bytes of real capacity in this thread's cache for this tier.
    cached_bytes: AtomicUsize,
}

/// The counters of one thread for one pool. Index `tiers` (one past the last
/// tier) holds the unpooled, oversize requests.
#[derive(Debug)]
pub(crate) struct ThreadStats {
    tiers: Box<[Arc<TierCells>]>,
}

impl TierCells {
    /// Counts `n` events; owner thread only. Returns the new count.
    #[inline]
    pub(crate) fn bump(&self, event: Event, n: u64) -> u64 {
        self.events[event as usize].bump(n)
    }

    /// Publishes the size of the owner's cache for this tier; owner only.
    #[inline]
    pub(crate) fn set_cached(&self, buffers: usize, bytes: usize) {
        self.cached_buffers.store(buffers, Relaxed);
        self.cached_bytes.store(bytes, Relaxed);
    }
}

impl ThreadStats {
    pub(crate) fn new(tiers: usize) -> Self {
        Self { tiers: (0..=tiers).map(|_| Arc::default()).collect() }
    }

    /// The cells of `tier`, for its thread-cache magazine to hold.
    pub(crate) fn cells(&self, tier: usize) -> Arc<TierCells> {
        Arc::clone(&self.tiers[tier])
    }

    /// Counts `n` events for `tier`; owner thread only. Returns the new count.
    #[inline]
    pub(crate) fn bump(&self, tier: usize, event: Event, n: u64) -> u64 {
        self.tiers[tier].bump(event, n)
    }

    /// Counts `n` events from any thread; for the pool's shared block only.
    pub(crate) fn add(&self, tier: usize, event: Event, n: u64) {
        if n > 0 {
            self.tiers[tier].events[event as usize].add(n);
        }
    }

    /// Publishes the size of this thread's cache for `tier`; owner only.
    #[inline]
    pub(crate) fn set_cached(&self, tier: usize, buffers: usize, bytes: usize) {
        self.tiers[tier].set_cached(buffers, bytes);
    }

    /// Adds this block's counters into `totals`.
    pub(crate) fn fold_into(&self, totals: &mut Totals) {
        for (sum, cells) in totals.tiers.iter_mut().zip(self.tiers.iter()) {
            for (s, c) in sum.events.iter_mut().zip(&cells.events) {
                *s += c.get();
            }
            sum.cached_buffers += cells.cached_buffers.load(Relaxed) as u64;
            sum.cached_bytes += cells.cached_bytes.load(Relaxed) as u64;
        }
    }
}

/// Plain sums of [`ThreadStats`] blocks: what exited threads leave behind, and
/// the scratch space of a snapshot.
#[derive(Debug, Clone)]
pub(crate) struct Totals {
    tiers: Vec<TierTotals>,
}

#[derive(Debug, Clone, Default)]
struct TierTotals {
    events: [u64; EVENTS],
    cached_buffers: u64,
    cached_bytes: u64,
}

impl Totals {
    pub(crate) fn new(tiers: usize) -> Self {
        Self { tiers: vec![TierTotals::default(); tiers + 1] }
    }

    /// Adds an exited thread's counters. Its caches were flushed first, so
    /// its gauges must not be carried over.
    pub(crate) fn retire(&mut self, stats: &ThreadStats) {
        let mut scratch = Totals::new(self.tiers.len() - 1);
        stats.fold_into(&mut scratch);
        for (sum, t) in self.tiers.iter_mut().zip(scratch.tiers) {
            for (s, e) in sum.events.iter_mut().zip(t.events) {
                *s += e;
            }
        }
    }

    /// Builds the public snapshot. `depot` gives each tier's global-queue
    /// length and bytes; `sizes` and `ceilings` label the tiers.
    pub(crate) fn snapshot(&self, sizes: &[usize], ceilings: &[usize], depot: &[(usize, usize)]) -> Stats {
        let e = |t: &TierTotals, ev: Event| t.events[ev as usize];
        let tiers: Vec<TierStats> = sizes
            .iter()
            .zip(ceilings)
            .zip(&self.tiers)
            .zip(depot)
            .map(|(((&size, &ceiling), t), &(queued, queued_bytes))| TierStats {
                size,
                ceiling,
                gets: e(t, Event::CacheHit) + e(t, Event::GlobalHit) + e(t, Event::Miss),
                cache_hits: e(t, Event::CacheHit),
                global_hits: e(t, Event::GlobalHit),
                misses: e(t, Event::Miss),
                returns: e(t, Event::Returned),
                retiered: e(t, Event::Retiered),
                discards: Discards {
                    above_ceiling: e(t, Event::AboveCeiling),
                    shared: e(t, Event::Shared),
                    too_small: e(t, Event::TooSmall),
                    global_full: e(t, Event::GlobalFull),
                    over_budget: e(t, Event::OverBudget),
                },
                detached: e(t, Event::Detached),
                trimmed: e(t, Event::Trimmed),
                decayed: e(t, Event::Decayed),
                retained_buffers: queued as u64 + t.cached_buffers,
                retained_bytes: queued_bytes as u64 + t.cached_bytes,
            })
            .collect();
        let o = &self.tiers[sizes.len()];
        let oversize = OversizeStats {
            gets: e(o, Event::Miss),
            discarded: e(o, Event::AboveCeiling),
            detached: e(o, Event::Detached),
        };
        let handed_out: u64 = tiers.iter().map(|t| t.gets).sum::<u64>() + oversize.gets;
        let ended: u64 = tiers.iter().map(TierStats::ended).sum::<u64>() + oversize.discarded + oversize.detached;
        Stats { outstanding: handed_out.saturating_sub(ended), tiers, oversize, max_retained_bytes: None }
    }
}

/// A snapshot of a pool's counters, from [`BufPool::stats`](crate::BufPool::stats).
///
/// Each counter is exact, but the snapshot is a sum of relaxed reads. While
/// other threads use the pool, counters may come from slightly different
/// instants, and a buffer moving between a thread cache and a global queue
/// can be seen in both or in neither. Once those threads are joined, or
/// otherwise synchronised with the reader, the snapshot is exact.
///
/// # Examples
///
/// ```
/// let pool = tierpool::BufPool::new();
/// drop(pool.get(100));
/// drop(pool.get(100));
/// let stats = pool.stats();
/// assert_eq!(stats.tiers[0].gets, 2);
/// assert_eq!(stats.tiers[0].misses, 1);
/// assert_eq!(stats.tiers[0].cache_hits, 1);
/// assert_eq!(stats.outstanding, 0);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// One entry per tier, smallest first.
    pub tiers: Vec<TierStats>,
    /// Requests above the largest tier, served unpooled.
    pub oversize: OversizeStats,
    /// Guards handed out and not yet ended (returned, discarded or detached).
    /// A buffer behind an `into_shared` `Bytes` counts until the last clone
    /// drops.
    pub outstanding: u64,
    /// The pool's byte budget, if it has one
    /// ([`Builder::max_retained_bytes`](crate::Builder::max_retained_bytes)).
    pub max_retained_bytes: Option<usize>,
}

impl Stats {
    /// Bytes of real capacity retained by the pool: its global queues and
    /// every thread cache.
    #[must_use]
    pub fn retained_bytes(&self) -> u64 {
        self.tiers.iter().map(|t| t.retained_bytes).sum()
    }

    /// Buffers retained by the pool.
    #[must_use]
    pub fn retained_buffers(&self) -> u64 {
        self.tiers.iter().map(|t| t.retained_buffers).sum()
    }

    /// Discards summed over all tiers.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tierpool::BufPool::new();
    /// let mut buf = pool.get(10);
    /// buf.reserve(10_000); // past its 8 KiB ceiling, below the 64 KiB tier
    /// drop(buf);
    /// assert_eq!(pool.stats().discards().above_ceiling, 1);
    /// ```
    #[must_use]
    pub fn discards(&self) -> Discards {
        self.tiers.iter().fold(Discards::default(), |sum, t| Discards {
            above_ceiling: sum.above_ceiling + t.discards.above_ceiling,
            shared: sum.shared + t.discards.shared,
            too_small: sum.too_small + t.discards.too_small,
            global_full: sum.global_full + t.discards.global_full,
            over_budget: sum.over_budget + t.discards.over_budget,
        })
    }

    /// All gets, pooled and oversize.
    #[must_use]
    pub fn gets(&self) -> u64 {
        self.tiers.iter().map(|t| t.gets).sum::<u64>() + self.oversize.gets
    }

    /// The fraction of pooled gets served without allocating, in `0.0..=1.0`
    /// (1.0 when there were none).
    #[must_use]
    pub fn hit_rate(&self) -> f64 {
        let gets: u64 = self.tiers.iter().map(|t| t.gets).sum();
        let misses: u64 = self.tiers.iter().map(|t| t.misses).sum();
        if gets == 0 { 1.0 } else { (gets - misses) as f64 / gets as f64 }
    }
}

/// One tier's counters.
///
/// Counters about a guard's end (`returns`, `discards` other than
/// `global_full`, `detached`) are counted in the tier the buffer was handed
/// out from. `global_full`, `trimmed`, `decayed` and the retained figures are
/// counted in the tier the buffer was pooled in.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TierStats {
    /// The tier's size in bytes.
    pub size: usize,
    /// The tier's ceiling in bytes.
    pub ceiling: usize,
    /// Buffers handed out: `cache_hits + global_hits + misses`.
    pub gets: u64,
    /// Gets served from the calling thread's cache.
    pub cache_hits: u64,
    /// Gets served from the global queue.
    pub global_hits: u64,
    /// Gets that allocated a new buffer.
    pub misses: u64,
    /// Guards whose buffer went back into the pool.
    pub returns: u64,
    /// Of `returns`, those pooled in another tier because their real capacity
    /// had changed (e.g. a 4 KiB buffer grown to 70 KiB goes back as 64 KiB).
    pub retiered: u64,
    /// Buffers dropped instead of pooled, by reason.
    pub discards: Discards,
    /// Guards taken out of the pool for good with `detach`.
    pub detached: u64,
    /// Pooled buffers released by `trim`.
    pub trimmed: u64,
    /// Pooled buffers released by idle decay: unused for a whole interval.
    pub decayed: u64,
    /// Buffers held in the global queue and all thread caches.
    pub retained_buffers: u64,
    /// Bytes of real capacity held in the global queue and all thread caches.
    pub retained_bytes: u64,
}

impl TierStats {
    /// Guards from this tier that have ended: returned, discarded at return,
    /// or detached.
    fn ended(&self) -> u64 {
        self.returns + self.discards.at_return() + self.detached
    }
}

/// Buffers dropped instead of pooled, by reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Discards {
    /// Real capacity above every ceiling it could fit under (grown too far).
    pub above_ceiling: u64,
    /// Storage still shared with another `Bytes`/`BytesMut` (e.g. after
    /// `split().freeze()`), or nothing left to reclaim (e.g. after
    /// `mem::take`).
    pub shared: u64,
    /// Real capacity below the smallest tier.
    pub too_small: u64,
    /// Pooled, but dropped when a spill found the global queue full.
    pub global_full: u64,
    /// Would have taken the pool over its byte budget.
    pub over_budget: u64,
}

impl Discards {
    /// All discards.
    #[must_use]
    pub fn total(&self) -> u64 {
        self.at_return() + self.global_full
    }

    fn at_return(&self) -> u64 {
        self.above_ceiling + self.shared + self.too_small + self.over_budget
    }
}

/// Counters for requests above the largest tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct OversizeStats {
    /// Oversize gets (each allocated an exact-size buffer).
    pub gets: u64,
    /// Oversize guards that ended and were dropped.
    pub discarded: u64,
    /// Oversize guards detached.
    pub detached: u64,
}
