//! Statistics that cost the hot path no write another thread reads: the public snapshot
//! types, and how a snapshot is derived from the counter blocks
//! (`cells.rs`).
//!
//! A snapshot taken while other threads run is a sum of relaxed reads: each
//! counter is exact, but counters may be from slightly different instants.

mod cells;
mod check;

pub(crate) use cells::{Event, ThreadStats, TierCells};
#[cfg(feature = "advice")]
pub(crate) use cells::{REQUEST_BUCKETS, Requests};
pub use check::{Broken, Identity};

use cells::EVENTS;

/// The sums of counter blocks that a snapshot is derived from: the threads'
/// blocks apart from the common block, because a thread cache's level is
/// derived from what its own thread moved, less what its exit flushed
/// (which the common block counts).
#[derive(Debug)]
pub(crate) struct Totals {
    threads: Vec<[u64; EVENTS]>,
    common: Vec<[u64; EVENTS]>,
    oversize: [u64; EVENTS],
    foreign: [u64; EVENTS],
}

impl Totals {
    pub(crate) fn new(tiers: usize) -> Self {
        Self {
            threads: vec![[0; EVENTS]; tiers],
            common: vec![[0; EVENTS]; tiers],
            oversize: [0; EVENTS],
            foreign: [0; EVENTS],
        }
    }

    /// Adds a thread's block.
    pub(crate) fn add_thread(&mut self, block: &ThreadStats) {
        for (sum, cells) in self.threads.iter_mut().zip(block.tiers()) {
            add(sum, cells);
        }
        self.add_rows(block);
    }

    /// Adds the pool's common block.
    pub(crate) fn add_common(&mut self, block: &ThreadStats) {
        for (sum, cells) in self.common.iter_mut().zip(block.tiers()) {
            add(sum, cells);
        }
        self.add_rows(block);
    }

    fn add_rows(&mut self, block: &ThreadStats) {
        add(&mut self.oversize, block.oversize());
        add(&mut self.foreign, block.foreign());
    }

    /// Builds the public snapshot. `depot` gives each tier's global-queue
    /// length and bytes; `sizes` and `ceilings` label the tiers.
    pub(crate) fn snapshot(&self, sizes: &[usize], ceilings: &[usize], depot: &[(usize, usize)]) -> Stats {
        use Event::*;
        let mut tiers = Vec::with_capacity(sizes.len());
        for (t, &size) in sizes.iter().enumerate() {
            let (th, sh) = (&self.threads[t], &self.common[t]);
            let all = |e: Event| th[e as usize] + sh[e as usize];
            let threads = |events: &[Event]| events.iter().map(|&e| th[e as usize]).sum::<u64>();
            // What the thread caches hold: what entered them, less what left.
            let out = threads(&[FastPop, SlowPop, Spilled, Trimmed, Decayed]) - threads(&[Skipped]);
            let cached = threads(&[FastPush, SlowPush, Refilled]).saturating_sub(out + sh[Exited as usize]);
            let extra = th[ExtraIn as usize].saturating_sub(th[ExtraOut as usize] + sh[ExitedExtra as usize]);
            let (queued, queued_bytes) = depot[t];
            let cache_hits = all(FastPop) + all(SlowPop) - all(Skipped);
            tiers.push(TierStats {
                size,
                ceiling: ceilings[t],
                gets: cache_hits + all(GlobalHit) + all(Miss),
                cache_hits,
                global_hits: all(GlobalHit),
                misses: all(Miss),
                returns: all(FastPush) + all(Returned),
                retiered: all(Retiered),
                discards: Discards {
                    above_ceiling: all(AboveCeiling),
                    shared: all(Shared),
                    too_small: all(TooSmall),
                    global_full: all(GlobalFull),
                    over_budget: all(OverBudget),
                    chaos: all(Chaos),
                },
                detached: all(Detached),
                trimmed: all(Trimmed),
                decayed: all(Decayed),
                adopted: all(Adopted),
                prefilled: all(Prefilled),
                retained_buffers: queued as u64 + cached,
                retained_bytes: queued_bytes as u64 + cached * size as u64 + extra,
            });
        }
        let o = &self.oversize;
        let oversize = OversizeStats {
            gets: o[Miss as usize],
            discarded: o[AboveCeiling as usize],
            detached: o[Detached as usize],
        };
        let f = &self.foreign;
        let put_discards = Discards {
            above_ceiling: f[AboveCeiling as usize],
            shared: f[Shared as usize],
            too_small: f[TooSmall as usize],
            global_full: 0,
            over_budget: f[OverBudget as usize],
            chaos: 0,
        };
        let handed_out: u64 = tiers.iter().map(|t| t.gets).sum::<u64>() + oversize.gets;
        let ended: u64 = tiers.iter().map(TierStats::ended).sum::<u64>() + oversize.discarded + oversize.detached;
        Stats {
            outstanding: handed_out.saturating_sub(ended),
            tiers,
            oversize,
            put_discards,
            max_retained_bytes: None,
            admission: None,
        }
    }
}

fn add(sum: &mut [u64; EVENTS], cells: &TierCells) {
    for (i, s) in sum.iter_mut().enumerate() {
        *s += cells.get_index(i);
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
/// # The contract
///
/// An exact snapshot keeps these identities, which [`check`](Self::check)
/// tests ([`Identity`] names each):
///
/// 1. per tier, `gets = cache_hits + global_hits + misses`;
/// 2. per tier, `retiered <= returns`;
/// 3. per tier, `retained_buffers × size <= retained_bytes <=
///    retained_buffers × ceiling`;
/// 4. guards end at most once: over the tiers and the oversize row,
///    `returns + discards at return + detached <= gets`, and
///    `outstanding` is the difference (`discards at return`: every reason
///    but `global_full`, which drops buffers already pooled);
/// 5. every pooled buffer is accounted for, summed over the tiers:
///    `retained_buffers = prefilled + returns + adopted − cache_hits −
///    global_hits − global_full − trimmed − decayed` (a return or an
///    adoption may enter another tier than it is counted in, so the sum
///    holds, not each tier's);
/// 6. with a byte budget, `retained_bytes() <= max_retained_bytes`;
/// 7. with a limit on outstanding bytes ([`AdmissionStats`]),
///    `outstanding_bytes <= limit + overdrawn_bytes`, and with no guard out
///    (`outstanding == 0`), no bytes are out or owed.
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
    /// drops. [`BufPool::put`](crate::BufPool::put) is not a get, and does
    /// not change it.
    pub outstanding: u64,
    /// Buffers given to [`BufPool::put`](crate::BufPool::put) and discarded,
    /// by reason (`global_full` is counted in the tier, as for returns).
    /// Those pooled are each tier's [`adopted`](TierStats::adopted).
    pub put_discards: Discards,
    /// The pool's byte budget, if it has one
    /// ([`Builder::max_retained_bytes`](crate::Builder::max_retained_bytes)).
    pub max_retained_bytes: Option<usize>,
    /// The pool's limit on outstanding bytes, if it has one
    /// ([`Builder::max_outstanding_bytes`](crate::Builder::max_outstanding_bytes)).
    pub admission: Option<AdmissionStats>,
}

/// The limit on outstanding bytes
/// ([`Builder::max_outstanding_bytes`](crate::Builder::max_outstanding_bytes)):
/// what is handed out, and who waited or went past it.
///
/// The gauges are derived from counters that other threads change while the
/// snapshot is taken, so they are exact only when the pool is quiet. With
/// nothing handed out, `outstanding_bytes` is 0.
///
/// # Examples
///
/// ```
/// let pool = tierpool::BufPool::builder().max_outstanding_bytes(64 * 1024).build()?;
/// let a = pool.get(64 * 1024);
/// let b = pool.get(100); // `get` never waits: it goes past the limit, counted
/// let stats = pool.stats().admission.unwrap();
/// assert_eq!((stats.outstanding_bytes, stats.overdrafts), (64 * 1024 + 4096, 1));
/// drop((a, b));
/// assert_eq!(pool.stats().admission.unwrap().outstanding_bytes, 0);
/// # Ok::<(), tierpool::ConfigError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct AdmissionStats {
    /// The limit, in bytes.
    pub limit: usize,
    /// Real capacity handed out and not yet back: guards, chain chunks and
    /// room a chain charged ahead, and buffers behind `into_shared`.
    pub outstanding_bytes: usize,
    /// Room that threads took from the limit in batches and have not yet
    /// charged to a buffer (at most 1/32 of the limit per thread).
    pub reserved_bytes: usize,
    /// Bytes forced past the limit by gets that do not wait, not yet repaid
    /// (returns repay them before anyone waiting is served).
    pub overdrawn_bytes: usize,
    /// Checkouts that went past the limit (`get`, and the chain's writes
    /// that cannot fail).
    pub overdrafts: u64,
    /// Bytes those checkouts went past the limit by, in total.
    pub overdraft_bytes_total: u64,
    /// `acquire`s (and `tokio::read_chain`'s chunks) that had to wait,
    /// counted when the wait ends, granted or cancelled.
    pub waits: u64,
    /// Time spent in those waits, in total, cancelled ones included.
    pub wait_time: std::time::Duration,
    /// `try_acquire`s and `try_extend_from_slice`s refused for room.
    pub would_wait: u64,
    /// Futures waiting now.
    pub waiting: usize,
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
            chaos: sum.chaos + t.discards.chaos,
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
    /// Buffers given to [`BufPool::put`](crate::BufPool::put) and accepted
    /// into this tier. They are not guards, so they are not in `returns`.
    /// As for `returns`, a full global queue may still drop one, counted in
    /// `discards.global_full` (and `put` then says `Discarded(GlobalFull)`).
    pub adopted: u64,
    /// Buffers [`BufPool::prefill`](crate::BufPool::prefill) allocated and
    /// pooled in this tier.
    pub prefilled: u64,
    /// Buffers held in the global queue and all thread caches.
    pub retained_buffers: u64,
    /// Bytes of real capacity held in the global queue and all thread caches.
    pub retained_bytes: u64,
}

impl TierStats {
    /// Guards from this tier that have ended: returned, discarded at return,
    /// or detached.
    pub(crate) fn ended(&self) -> u64 {
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
    /// Dropped by [`Builder::chaos`](crate::Builder::chaos), which drops one
    /// return in four.
    pub chaos: u64,
}

impl Discards {
    /// All discards.
    #[must_use]
    pub fn total(&self) -> u64 {
        self.at_return() + self.global_full
    }

    fn at_return(&self) -> u64 {
        self.above_ceiling + self.shared + self.too_small + self.over_budget + self.chaos
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

/// What became of a buffer given to [`BufPool::put`](crate::BufPool::put).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Put {
    /// Pooled in the tier of this size.
    Pooled {
        /// The tier's size in bytes.
        tier_size: usize,
    },
    /// Dropped instead, for this reason (and counted in
    /// [`Stats::put_discards`]).
    Discarded(Discard),
}

/// Why a buffer was dropped instead of pooled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Discard {
    /// Its storage is still shared with another `Bytes` or `BytesMut`, or
    /// there was nothing to reclaim (an empty `BytesMut::new()`).
    Shared,
    /// Its allocation is below the smallest tier.
    TooSmall,
    /// Its allocation is above the ceiling of every tier it could belong to.
    AboveCeiling,
    /// Pooling it would have taken the pool over its byte budget.
    OverBudget,
    /// The tier's global queue was full.
    GlobalFull,
}

impl Discard {
    pub(crate) fn from_event(event: Event) -> Self {
        match event {
            Event::Shared => Discard::Shared,
            Event::TooSmall => Discard::TooSmall,
            Event::AboveCeiling => Discard::AboveCeiling,
            Event::OverBudget => Discard::OverBudget,
            _ => Discard::GlobalFull,
        }
    }
}
