//! The thread-cache level: per thread, per pool, per tier, a small LIFO stack
//! of buffers (a *magazine*, after Bonwick & Adams) in front of the global
//! queues.
//!
//! A thread's caches live in one `std::thread_local!` registry holding a
//! [`Slot`] for every pool the thread has used. A get or return that hits the
//! cache touches only this thread's memory, plus one relaxed load of the
//! pool's `epochs` word, which only `trim` and the once-per-interval decay
//! tick write. There are no shared atomics, no locks and no reference
//! counts. The budget is paid from thread-local credit (see `budget.rs`).
//!
//! Batches, not buffers, cross to the global level. A full magazine spills its
//! colder half (the bottom of the stack) and keeps the hot half on top. An
//! empty magazine refills one such batch. DPDK's mempool cache moves to the
//! same half-flush policy to cut the miss rate. Each batch crosses as one unit
//! (see `depot.rs`).
//!
//! Pooled buffers live in boxes (`recycle::Pooled`), so a hit or a return
//! moves one pointer. The fast paths ([`take`], [`put`]) are inlined into the
//! caller and handle only a cache hit, or a return with room, on an up-to-date
//! slot; every other case starts over in a cold function.
//!
//! Thread exit: the registry's destructor flushes every slot to its pool's
//! global queue, if the pool is still alive. It then returns the thread's
//! budget credit and folds its counters into the pool's totals, so nothing
//! is stranded by exited threads. During TLS teardown, after the registry is
//! gone, gets and returns fall back to the global queue directly (see
//! [`put_slow`]).

use core::cell::RefCell;

use crate::budget::Credit;
use crate::decay::{Epochs, TICK_EVERY, TRANSFER_TICK_EVERY};
use crate::depot::Depot;
use crate::pool::Inner;
use crate::recycle::Pooled;
use crate::stats::{Event, ThreadStats, TierCells};
use crate::sync::{Arc, Weak};

thread_local! {
    static CACHES: Caches = const { Caches { slots: RefCell::new(Vec::new()) } };
}

/// This thread's caches, one slot per pool used. Pools are few per thread, so
/// a linear search by id is the fastest lookup.
struct Caches {
    slots: RefCell<Vec<Slot>>,
}

impl Drop for Caches {
    fn drop(&mut self) {
        for slot in self.slots.get_mut().drain(..) {
            slot.retire();
        }
    }
}

/// One thread's cache for one pool.
struct Slot {
    /// The pool's unique id: identifies the pool without touching its memory.
    pool_id: u64,
    /// For flushing at thread exit, and for noticing that the pool is gone.
    pool: Weak<Inner>,
    /// The pool's `epochs` when this cache last caught up. A newer trim
    /// generation means "release everything"; a newer decay epoch means
    /// "release what stayed below the low-water mark".
    seen: Epochs,
    /// Bytes reserved from the pool's budget and not backing a buffer.
    credit: Credit,
    /// Refills and spills so far, to check the decay clock every
    /// `TRANSFER_TICK_EVERY` of them.
    transfers: u32,
    /// One magazine per tier.
    mags: Box<[Magazine]>,
    /// This thread's counters for the pool; only this thread writes them.
    stats: Arc<ThreadStats>,
}

/// A LIFO stack of pooled buffers for one tier.
///
/// Invariants:
/// - `bufs.len() <= cap`;
/// - `bufs` was allocated with capacity `cap` and never grows (no
///   allocation on the hot path);
/// - `bytes` is the sum of the buffers' capacities;
/// - `low <= bufs.len()` is the fewest buffers held since the last decay
///   epoch, so the bottom `low` buffers went untouched all that time;
/// - every buffer satisfies the pooled-buffer invariants of `recycle`.
struct Magazine {
    bufs: Vec<Pooled>,
    cap: usize,
    bytes: usize,
    low: usize,
    /// Buffers moved per spill or refill (`Config::batch`).
    batch: usize,
    /// This thread's counters for this tier (shared with `Slot::stats`).
    cells: Arc<TierCells>,
}

/// A buffer of tier `tier`: cache, then global queue, then a new allocation
/// (counted as a miss).
///
/// Inlined into the caller is only the cache hit on the thread's slot for
/// `inner`; anything else (no slot yet, an epoch to catch up with, an empty
/// magazine, a thread without a cache) starts over in [`take_slow`].
#[inline]
pub(crate) fn take(inner: &Inner, tier: usize) -> Pooled {
    match with_ready_slot(inner, |slot| slot.take(inner, tier)) {
        Some(Some(buf)) => buf,
        _ => take_slow(inner, tier),
    }
}

/// Everything [`take`]'s fast path does not handle.
#[cold]
#[inline(never)]
fn take_slow(inner: &Inner, tier: usize) -> Pooled {
    with_slot(inner, |slot, inner| slot.take(inner, tier).unwrap_or_else(|| slot.refill_or_miss(inner, tier)))
        .unwrap_or_else(|| take_without_cache(inner, tier))
}

/// Runs `f` on this thread's slot for `inner` if it has one and it is up to
/// date with the pool's epochs; `None` otherwise (the caller takes its slow
/// path, which handles every other case). Threads use few pools, so the
/// search is a short linear scan, usually of one slot.
#[inline]
fn with_ready_slot<R>(inner: &Inner, f: impl FnOnce(&mut Slot) -> R) -> Option<R> {
    CACHES
        .try_with(|caches| {
            let mut slots = caches.slots.try_borrow_mut().ok()?;
            let slot = slots.iter_mut().find(|slot| slot.pool_id == inner.id)?;
            (slot.seen == inner.epochs()).then(|| f(slot))
        })
        .ok()
        .flatten()
}

/// Like [`take`], but `None` instead of allocating (for `try_get`, which
/// allocates fallibly and counts the miss itself).
pub(crate) fn take_cached(inner: &Inner, tier: usize) -> Option<Pooled> {
    with_slot(inner, |slot, inner| slot.take(inner, tier).or_else(|| slot.take_global(inner, tier)))
        .unwrap_or_else(|| take_shared(inner, tier))
}

/// [`take`] without a thread cache: the global queue, else a miss.
#[cold]
fn take_without_cache(inner: &Inner, tier: usize) -> Pooled {
    take_shared(inner, tier).unwrap_or_else(|| {
        inner.shared_stats.add(tier, Event::Miss, 1);
        crate::recycle::new_pooled(inner.config.sizes[tier])
    })
}

/// A get without a thread cache (TLS teardown, or re-entry): straight from
/// the global queue, paid back to the budget directly.
#[cold]
fn take_shared(inner: &Inner, tier: usize) -> Option<Pooled> {
    let buf = inner.depots[tier].pop()?;
    inner.refund_shared(buf.capacity());
    inner.shared_stats.add(tier, Event::GlobalHit, 1);
    Some(buf)
}

/// Pools `buf`, handed out by tier `tier` and returning to it unchanged.
///
/// Inlined into the caller is only the common case: the thread's slot for
/// `inner` is up to date, has room and (with a budget) enough credit.
/// Anything else goes to [`put_slow`].
#[inline]
pub(crate) fn put(inner: &Inner, tier: usize, buf: Pooled) {
    let mut buf = Some(buf);
    if with_ready_slot(inner, |slot| slot.put_fast(inner, tier, &mut buf)) != Some(true)
        && let Some(buf) = buf
    {
        put_slow(inner, tier, tier, buf);
    }
}

/// Pools `buf` (handed out by tier `from`, now belonging to tier `tier`) in
/// the calling thread's cache, spilling if it is full; without a cache, in
/// the global queue.
#[cold]
#[inline(never)]
pub(crate) fn put_slow(inner: &Inner, from: usize, tier: usize, buf: Pooled) {
    let mut buf = Some(buf);
    with_slot(inner, |slot, inner| slot.put(inner, from, tier, &mut buf));
    let Some(buf) = buf else { return };
    // No thread cache: TLS is being torn down, or the registry is borrowed.
    let stats = &inner.shared_stats;
    let cost = buf.capacity();
    if !inner.spend_shared(cost) {
        drop(buf);
        return stats.add(from, Event::OverBudget, 1);
    }
    stats.add(from, Event::Returned, 1);
    stats.add(from, Event::Retiered, u64::from(from != tier));
    if !inner.depots[tier].push(buf) {
        inner.refund_shared(cost);
        stats.add(tier, Event::GlobalFull, 1);
    }
}

/// Counts `event` for `tier` on the calling thread's counters.
#[inline]
pub(crate) fn count(inner: &Inner, tier: usize, event: Event) {
    if with_slot(inner, |slot, _| slot.stats.bump(tier, event, 1)).is_none() {
        inner.shared_stats.add(tier, event, 1);
    }
}

/// Releases the calling thread's cache for `inner`; returns bytes released.
pub(crate) fn release(inner: &Inner) -> usize {
    with_slot(inner, |slot, inner| slot.release_all(inner)).unwrap_or(0)
}

/// Catches the calling thread's cache up with the pool's epochs now, which
/// reaps it if a decay tick happened.
pub(crate) fn sync(inner: &Inner) {
    with_slot(inner, |_, _| ());
}

/// Runs `f` on this thread's slot for `inner`, creating it on first use,
/// after catching it up with the pool's epochs. Returns `None`, without
/// running `f`, when the registry is unavailable: during TLS teardown, or if
/// re-entered.
fn with_slot<R>(inner: &Inner, f: impl FnOnce(&mut Slot, &Inner) -> R) -> Option<R> {
    CACHES
        .try_with(|caches| {
            let mut slots = caches.slots.try_borrow_mut().ok()?;
            let index = match slots.iter().position(|s| s.pool_id == inner.id) {
                Some(index) => index,
                None => register(&mut slots, inner)?,
            };
            let slot = &mut slots[index];
            slot.sync(inner);
            Some(f(slot, inner))
        })
        .ok()
        .flatten()
}

/// Adds a slot for `inner`; first retires slots whose pool is gone, so a
/// thread that outlives many pools does not keep their buffers.
#[cold]
fn register(slots: &mut Vec<Slot>, inner: &Inner) -> Option<usize> {
    let mut i = 0;
    while i < slots.len() {
        if slots[i].pool.strong_count() == 0 {
            slots.swap_remove(i).retire();
        } else {
            i += 1;
        }
    }
    let pool = inner.weak_self.clone();
    pool.upgrade()?; // the pool is being dropped: use the fallback path
    let stats = Arc::new(ThreadStats::new(inner.config.tiers()));
    inner.registry().live.push(Arc::clone(&stats));
    let mags = (inner.config.thread_cache.iter().enumerate())
        .map(|(tier, &cap)| Magazine {
            bufs: Vec::with_capacity(cap),
            cap,
            bytes: 0,
            low: 0,
            batch: inner.config.batch(tier),
            cells: stats.cells(tier),
        })
        .collect();
    let seen = inner.epochs();
    slots.push(Slot { pool_id: inner.id, pool, seen, credit: Credit::default(), transfers: 0, mags, stats });
    Some(slots.len() - 1)
}

// === impl Slot ===

impl Slot {
    /// Per-operation housekeeping: one relaxed load. (The decay clock is
    /// checked every `TICK_EVERY` cache hits and on every slow path.)
    #[inline]
    fn sync(&mut self, inner: &Inner) {
        let now = inner.epochs();
        if now != self.seen {
            self.catch_up(inner, now);
        }
    }

    /// The pool moved on: after a `trim`, release everything; after decay
    /// ticks, release what stayed below each magazine's low-water mark.
    #[cold]
    fn catch_up(&mut self, inner: &Inner, now: Epochs) {
        let trimmed = self.seen.trimmed_since(now);
        self.seen = now;
        if trimmed {
            self.release_all(inner);
        } else {
            self.release_where(inner, Event::Decayed, |mag| mag.low);
        }
    }

    /// Drops every cached buffer (for `trim`); returns the bytes released.
    fn release_all(&mut self, inner: &Inner) -> usize {
        self.release_where(inner, Event::Trimmed, |mag| mag.bufs.len())
    }

    /// Drops the bottom `count(mag)` buffers of each magazine, counting them as
    /// `event`; returns the bytes released.
    fn release_where(&mut self, inner: &Inner, event: Event, count: impl Fn(&Magazine) -> usize) -> usize {
        let mut released = 0;
        for (tier, mag) in self.mags.iter_mut().enumerate() {
            let n = count(mag);
            released += mag.release_bottom(n);
            self.stats.bump(tier, event, n as u64);
            self.stats.set_cached(tier, mag.bufs.len(), mag.bytes);
        }
        refund(&mut self.credit, inner, released);
        released
    }

    /// A cache hit, or `None` if the magazine is empty.
    #[inline]
    fn take(&mut self, inner: &Inner, tier: usize) -> Option<Pooled> {
        let mag = self.mags.get_mut(tier)?;
        let buf = mag.pop()?;
        let hits = mag.cells.bump(Event::CacheHit, 1);
        mag.cells.set_cached(mag.bufs.len(), mag.bytes);
        refund(&mut self.credit, inner, buf.capacity());
        if hits % u64::from(TICK_EVERY) == 0 {
            inner.tick();
        }
        Some(buf)
    }

    /// Counts a refill or spill, and checks the decay clock every
    /// `TRANSFER_TICK_EVERY` of them.
    fn transfer_tick(&mut self, inner: &Inner) {
        self.transfers = self.transfers.wrapping_add(1);
        if self.transfers % TRANSFER_TICK_EVERY == 0 {
            inner.tick();
        }
    }

    /// The cache is empty: the global queue, else a new allocation (a miss).
    fn refill_or_miss(&mut self, inner: &Inner, tier: usize) -> Pooled {
        self.take_global(inner, tier).unwrap_or_else(|| {
            inner.tick();
            self.stats.bump(tier, Event::Miss, 1);
            crate::recycle::new_pooled(inner.config.sizes[tier])
        })
    }

    /// The cache is empty: refill half of it from the global queue (or, for
    /// a tier without a thread cache, take one buffer straight from it);
    /// `None` if the global queue was empty too.
    fn take_global(&mut self, inner: &Inner, tier: usize) -> Option<Pooled> {
        self.transfer_tick(inner);
        let mag = &mut self.mags[tier];
        let depot = &inner.depots[tier];
        let buf = if mag.cap == 0 {
            depot.pop()?
        } else {
            mag.refill(depot);
            mag.pop()?
        };
        self.stats.bump(tier, Event::GlobalHit, 1);
        self.stats.set_cached(tier, mag.bufs.len(), mag.bytes);
        refund(&mut self.credit, inner, buf.capacity());
        Some(buf)
    }

    /// The return fast path (see [`put`]): takes `buf` out of its `Option`
    /// only if it pools it without spilling; `false` otherwise.
    #[inline]
    fn put_fast(&mut self, inner: &Inner, tier: usize, buf: &mut Option<Pooled>) -> bool {
        let Some(mag) = self.mags.get_mut(tier) else { return false };
        if mag.bufs.len() == mag.cap {
            return false;
        }
        let Some(b) = buf.take() else { return false };
        if let Some(budget) = &inner.budget
            && !self.credit.spend(budget, b.capacity())
        {
            *buf = Some(b); // the slow path counts the refusal
            return false;
        }
        mag.cells.bump(Event::Returned, 1);
        mag.push(b);
        mag.cells.set_cached(mag.bufs.len(), mag.bytes);
        true
    }

    /// Pools the buffer in `buf` (taking it), spilling if the magazine is
    /// full; drops it if the budget refuses it.
    fn put(&mut self, inner: &Inner, from: usize, tier: usize, buf: &mut Option<Pooled>) {
        let Some(buf) = buf.take() else { return };
        let cost = buf.capacity();
        if !spend(&mut self.credit, inner, cost) {
            drop(buf);
            self.stats.bump(from, Event::OverBudget, 1);
            return;
        }
        self.stats.bump(from, Event::Returned, 1);
        if from != tier {
            self.stats.bump(from, Event::Retiered, 1);
        }
        let full = self.mags[tier].bufs.len() == self.mags[tier].cap;
        if full && self.mags[tier].cap > 0 {
            self.transfer_tick(inner);
        }
        let mag = &mut self.mags[tier];
        if full {
            let (dropped, bytes) = if mag.cap == 0 {
                match inner.depots[tier].push(buf) {
                    true => (0, 0),
                    false => (1, cost),
                }
            } else {
                let dropped = mag.spill(&inner.depots[tier]);
                mag.push(buf);
                dropped
            };
            self.stats.bump(tier, Event::GlobalFull, dropped);
            refund(&mut self.credit, inner, bytes);
        } else {
            mag.push(buf);
        }
        self.stats.set_cached(tier, mag.bufs.len(), mag.bytes);
    }

    /// Ends this slot at thread exit (or when its pool is gone): flushes the
    /// cache to the global queues of a live pool, returns the budget credit,
    /// then folds the counters into the pool's totals.
    fn retire(mut self) {
        let Some(inner) = self.pool.upgrade() else { return };
        let now = inner.epochs();
        if self.seen != now {
            self.catch_up(&inner, now);
        }
        for (tier, mag) in self.mags.iter_mut().enumerate() {
            let (dropped, bytes) = inner.depots[tier].push_batch(mag.bufs.drain(..), mag.bytes);
            mag.bytes = 0;
            self.stats.bump(tier, Event::GlobalFull, dropped);
            self.stats.set_cached(tier, 0, 0);
            refund(&mut self.credit, &inner, bytes);
        }
        if let Some(budget) = &inner.budget {
            self.credit.release_all(budget);
        }
        let mut registry = inner.registry();
        registry.live.retain(|s| !Arc::ptr_eq(s, &self.stats));
        registry.retired.retire(&self.stats);
    }
}

/// Pays for a buffer entering the pool from this thread's credit.
#[inline]
fn spend(credit: &mut Credit, inner: &Inner, cost: usize) -> bool {
    match &inner.budget {
        None => true,
        Some(budget) => credit.spend(budget, cost),
    }
}

/// Takes back the bytes of buffers that left the pool as credit.
#[inline]
fn refund(credit: &mut Credit, inner: &Inner, bytes: usize) {
    if let Some(budget) = &inner.budget {
        credit.refund(budget, bytes);
    }
}

// === impl Magazine ===

impl Magazine {
    /// Pops the top (hottest) buffer.
    #[inline]
    fn pop(&mut self) -> Option<Pooled> {
        let buf = self.bufs.pop()?;
        self.bytes -= buf.capacity();
        self.low = self.low.min(self.bufs.len());
        Some(buf)
    }

    /// Pushes `buf` onto a magazine that has room.
    #[inline]
    fn push(&mut self, buf: Pooled) {
        debug_assert!(self.bufs.len() < self.cap, "magazine overflow would allocate");
        self.bytes += buf.capacity();
        self.bufs.push(buf);
    }

    /// Moves the colder half (the bottom of the stack) to the global queue
    /// and keeps the hot half; returns how many buffers, and bytes, the full
    /// queue dropped.
    #[cold]
    fn spill(&mut self, depot: &Depot) -> (u64, usize) {
        let n = self.batch;
        let bytes = self.bufs[..n].iter().map(|b| b.capacity()).sum::<usize>();
        self.bytes -= bytes;
        let dropped = depot.push_batch(self.bufs.drain(..n), bytes);
        self.low = self.low.min(self.bufs.len());
        dropped
    }

    /// Refills one batch (half the magazine) from the global depot.
    fn refill(&mut self, depot: &Depot) {
        let before = self.bufs.len();
        depot.pop_batch(&mut self.bufs);
        self.bytes += self.bufs[before..].iter().map(|b| b.capacity()).sum::<usize>();
    }

    /// Drops the bottom `n` (coldest) buffers; returns their bytes. Resets the
    /// low-water mark: a new decay epoch starts.
    fn release_bottom(&mut self, n: usize) -> usize {
        let bytes: usize = self.bufs.drain(..n).map(|b| b.capacity()).sum();
        self.bytes -= bytes;
        self.low = self.bufs.len();
        bytes
    }
}
