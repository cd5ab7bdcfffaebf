//! The thread-cache level: per thread, per pool, per tier, a magazine of
//! buffers (`magazine.rs`) in front of the global depots.
//!
//! ```text
//!  thread ──► CACHES: [Slot; by engine index]   (vacant slots: stamp 0, no engine)
//!               └─ Slot { engine, stamp, seen epochs, credit, magazines[tier], counters }
//! ```
//!
//! A thread's slots live in one `std::thread_local!` registry, indexed by
//! the engine's small reusable index. A get or return that hits the cache
//! touches only this thread's memory, plus one load of the engine's stamp
//! (`decay::Generations`), which only `trim` and the once-per-interval decay
//! tick write: no shared atomics, no locks, no reference counts. The stamp
//! the slot kept matches only its own engine's, and only while nothing
//! happened that the cache must catch up with. The budget is paid from
//! thread-local credit (`budget.rs`).
//!
//! The fast paths ([`take`], [`push_fast`]) are inlined into the caller and
//! handle only a cache hit, or a standard return with room and credit, on an
//! up-to-date slot. Every other case starts over in a cold function, from
//! the top.
//!
//! **Thread exit.** The registry has no destructor of its own (it is a
//! `const` thread-local of a type that needs no drop, so the hot path makes
//! no liveness check). [`ExitFlush`], registered when the thread first
//! registers with a pool, flushes every slot to its pool's global queue, if
//! the pool is still alive, and returns the thread's budget credit; the
//! flush is counted in the pool's shared counters. `ExitFlush` is registered
//! after the `thread_local` crate's thread-id guard, so on platforms that
//! run thread-local destructors in reverse order (glibc does) the thread
//! still owns its counter block while it flushes. After the flush, gets and
//! returns on the exiting thread (from other thread-local destructors) go
//! to the global queue directly.

use core::cell::{Cell, RefCell};
use core::mem::ManuallyDrop;
use std::panic::Location;

use crate::budget::Credit;
use crate::buffer::{self, Origin, Pooled};
use crate::debug::Debug;
use crate::decay::{Epochs, TICK_EVERY, TRANSFER_TICK_EVERY};
use crate::engine::Engine;
use crate::error::GetError;
use crate::magazine::Magazine;
use crate::stats::{Event, ThreadStats};
use crate::sync::{Arc, Weak};

thread_local! {
    static CACHES: Caches = const {
        Caches { slots: RefCell::new(ManuallyDrop::new(Vec::new())), exited: Cell::new(false) }
    };
    static EXIT: ExitFlush = const { ExitFlush };
}

/// This thread's caches: a slot per engine index it has used.
struct Caches {
    /// Emptied by [`ExitFlush`]; never dropped, so it needs no destructor.
    slots: RefCell<ManuallyDrop<Vec<Slot>>>,
    /// Set once [`ExitFlush`] ran: no slot is registered after that.
    exited: Cell<bool>,
}

/// Flushes this thread's slots when the thread exits.
struct ExitFlush;

impl Drop for ExitFlush {
    fn drop(&mut self) {
        let caches = caches();
        caches.exited.set(true);
        let Ok(mut slots) = caches.slots.try_borrow_mut() else { return };
        let slots = core::mem::take(&mut **slots);
        for slot in slots {
            slot.retire();
        }
    }
}

/// One thread's cache for one pool, or a vacancy ([`Slot::vacant`]) at an
/// index no live pool of this thread's uses.
pub(crate) struct Slot {
    /// For flushing at thread exit, and for noticing that the pool is gone.
    /// Its address is the slot's identity: the engine's allocation outlives
    /// every `Weak`, so no other engine can have it while the slot lives.
    engine: Weak<Engine>,
    /// The engine's stamp when this cache last caught up, which the fast
    /// paths compare with the engine's current one; 0, which is never a
    /// stamp, for a pool all of whose operations take the slow paths, and
    /// for a vacancy. So the fast paths need no other test.
    stamp: u64,
    /// The engine's `epochs` when this cache last caught up. A newer trim
    /// generation means "release everything"; a newer decay epoch means
    /// "release what stayed below the low-water marks".
    seen: Epochs,
    /// Bytes reserved from the pool's budget and not backing a buffer.
    credit: Credit,
    /// Refills and spills so far, to check the decay clock every
    /// `TRANSFER_TICK_EVERY` of them.
    transfers: u32,
    /// One magazine per tier.
    mags: Box<[Magazine]>,
    /// This thread's counters for the pool; only this thread writes them.
    /// `None` only in a vacancy.
    stats: Option<Arc<ThreadStats>>,
}

// === the fast paths ===

/// This thread's registry.
///
/// One of the crate's four uses of `unsafe` (the others: the `BufMut`
/// impls, the chain's in-place copy and the guard's fields), measured to
/// matter.
/// `CACHES.with(|caches| ...)` around the fast path makes a function too big
/// for LLVM to inline `LocalKey::with` into the caller, so every get and
/// return paid a call, a prologue and an indirect call to the thread-local
/// accessor (docs/design.md has the instruction counts). Taking only the
/// address through `with` keeps it inlined.
#[inline(always)]
#[allow(unsafe_code)]
fn caches() -> &'static Caches {
    let caches: *const Caches = CACHES.with(core::ptr::from_ref);
    // SAFETY:
    // - `CACHES` is a `const`-initialised thread-local of a type that needs no
    //   drop, so std registers no destructor for it: its storage is valid,
    //   and initialised, from the thread's start until the thread is gone.
    // - The reference is `!Send` (`Caches` holds `RefCell` and `Cell`, so it
    //   is `!Sync`): it never leaves this thread, which outlives every use.
    // - Only shared references are made; mutation goes through the
    //   `RefCell` and the `Cell` inside.
    unsafe { &*caches }
}

/// Runs `f` on this thread's slot for `engine` if it has one and it is up to
/// date with the engine's epochs; otherwise gives `value` back. The lookup
/// is an index into the thread's registry and one comparison of stamps.
#[inline(always)]
fn on_ready_slot<T, R>(engine: &Engine, value: T, f: impl FnOnce(&mut Slot, T) -> Result<R, T>) -> Result<R, T> {
    let Ok(mut slots) = caches().slots.try_borrow_mut() else { return Err(value) };
    match slots.get_mut(engine.index()) {
        Some(slot) if slot.stamp == engine.stamp() => f(slot, value),
        _ => Err(value),
    }
}

/// A buffer of `tier`, its origin, and whether its guard starts pristine (a
/// standard buffer from a pool that neither scrubs nor runs a test mode):
/// the thread cache, then the global depot, then a new allocation (a miss;
/// with `fallible`, an allocator failure is an error). `caller` is the
/// checkout's call site, for `track_callers`.
///
/// Inlined into the caller is only the cache hit; anything else starts over
/// in [`take_slow`], which alone uses `caller` and `fallible`.
#[inline]
pub(crate) fn take(
    engine: &Engine,
    tier: usize,
    fallible: bool,
    caller: &'static Location<'static>,
) -> Result<(Pooled, Origin, bool), GetError> {
    match on_ready_slot(engine, (), |slot, ()| slot.pop_fast(engine, tier).ok_or(())) {
        // Only pools that neither scrub nor run a test mode hit it.
        Ok(buf) => Ok((buf, Origin::tier(tier), true)),
        Err(()) => take_slow(engine, tier, fallible, caller),
    }
}

/// Pools a standard buffer of `tier` in this thread's cache if the slot is
/// ready and the magazine has room (and, with a budget, credit); otherwise
/// gives it back, untouched, for the general path. Counts it as a return.
#[inline]
pub(crate) fn push_fast(engine: &Engine, tier: usize, buf: Pooled) -> Result<(), Pooled> {
    on_ready_slot(engine, buf, |slot, buf| slot.push_fast(engine, tier, buf))
}

// === the slow paths ===

/// Everything [`take`]'s fast path does not handle, including the test
/// modes: a pool in one never hits the fast path (`debug.rs`).
#[cold]
#[inline(never)]
fn take_slow(
    engine: &Engine,
    tier: usize,
    fallible: bool,
    caller: &'static Location<'static>,
) -> Result<(Pooled, Origin, bool), GetError> {
    let config = engine.config();
    let (origin, size) = (Origin::tier(tier), config.size(tier));
    let debug = engine.debug();
    let larger = debug.and_then(Debug::chaos).and_then(|chaos| chaos.larger(size, config.ceilings[tier]));
    let (mut buf, standard) = match larger {
        Some(capacity) => (miss(engine, origin, capacity, fallible)?, false),
        None => match take_cached(engine, tier) {
            Some(found) => found,
            None => (miss(engine, origin, size, fallible)?, true),
        },
    };
    let Some(debug) = debug else { return Ok((buf, origin, standard && !config.scrub_on_return)) };
    debug.checked_out(&mut buf, caller);
    Ok((buf, origin.traced(), false))
}

/// A buffer from this thread's cache or the global depot, without
/// allocating; `None` if both are empty.
fn take_cached(engine: &Engine, tier: usize) -> Option<(Pooled, bool)> {
    with_slot(engine, |slot| slot.take_slow(engine, tier)).unwrap_or_else(|| take_shared(engine, tier))
}

/// A get without a thread cache (thread exit, re-entry): straight from the
/// global depot, paid back to the budget directly.
#[cold]
fn take_shared(engine: &Engine, tier: usize) -> Option<(Pooled, bool)> {
    let buf = engine.depot(tier).pop()?;
    engine.refund_shared(buf.capacity());
    engine.count_shared(Origin::tier(tier), Event::GlobalHit, 1);
    let standard = buf.capacity() == engine.config().size(tier);
    Some((buf, standard))
}

/// Allocates a new buffer of `size` bytes for a get of `origin` and counts
/// the miss; with `fallible`, an allocator failure is an error.
#[cold]
pub(crate) fn miss(engine: &Engine, origin: Origin, size: usize, fallible: bool) -> Result<Pooled, GetError> {
    let buf = buffer::allocate(size, fallible)?;
    engine.tick();
    count(engine, origin, Event::Miss);
    Ok(buf)
}

/// Counts `event` for `origin` on the calling thread's counters.
pub(crate) fn count(engine: &Engine, origin: Origin, event: Event) {
    if with_slot(engine, |slot| Via::Cache(slot).count(engine, origin, event, 1)).is_none() {
        engine.count_shared(origin, event, 1);
    }
}

/// Releases the calling thread's cache for `engine`; returns the bytes
/// released.
pub(crate) fn release(engine: &Engine) -> usize {
    with_slot(engine, |slot| slot.release(engine, Event::Trimmed)).unwrap_or(0)
}

/// Catches the calling thread's cache up with the engine's epochs now, which
/// reaps it if a decay tick happened.
pub(crate) fn sync(engine: &Engine) {
    with_slot(engine, |_| ());
}

/// Runs `f` on this thread's slot for `engine`, registering one on first use,
/// after catching it up with the engine's epochs. `None`, without running
/// `f`, when the registry is unavailable: the thread is exiting, or the call
/// is re-entrant.
pub(crate) fn with_slot<R>(engine: &Engine, f: impl FnOnce(&mut Slot) -> R) -> Option<R> {
    let caches = caches();
    if caches.exited.get() {
        return None;
    }
    let mut slots = caches.slots.try_borrow_mut().ok()?;
    let index = engine.index();
    if !slots.get(index).is_some_and(|slot| slot.is_for(engine)) {
        register(&mut slots, engine)?;
    }
    let slot = &mut slots[index];
    slot.sync(engine);
    Some(f(slot))
}

/// Puts a new slot for `engine` at its index, retiring what was there and
/// any other slot whose pool is gone, so that a thread outliving many pools
/// keeps none of their buffers.
#[cold]
fn register(slots: &mut Vec<Slot>, engine: &Engine) -> Option<()> {
    for old in slots.iter_mut() {
        if old.stats.is_some() && old.engine.strong_count() == 0 {
            core::mem::replace(old, Slot::vacant()).retire();
        }
    }
    let weak = engine.weak();
    weak.upgrade()?; // the pool is being dropped: use the paths without a cache
    // The counter block first, through `thread_local`, then the exit flush,
    // so the flush runs while this thread still owns the block (module docs).
    let stats = engine.thread_stats();
    EXIT.with(|_| ());
    let config = engine.config();
    let mags = (0..config.tiers())
        .map(|t| Magazine::new(config.thread_cache[t], config.size(t), config.batch(t), stats.cells(t)))
        .collect();
    let index = engine.index();
    if slots.len() <= index {
        slots.resize_with(index + 1, Slot::vacant);
    }
    // No stamp yet: `with_slot` syncs the new slot before its first use,
    // which keeps one.
    let slot = Slot {
        engine: weak,
        stamp: 0,
        seen: engine.now().1,
        credit: Credit::default(),
        transfers: 0,
        mags,
        stats: Some(stats),
    };
    core::mem::replace(&mut slots[index], slot).retire();
    Some(())
}

// === impl Slot ===

impl Slot {
    /// A place holder at an index no live pool of this thread's uses: no
    /// engine (so `is_for` matches none), stamp 0 (so the fast paths pass
    /// it by), no magazines; it allocates nothing, and retiring it does
    /// nothing.
    fn vacant() -> Self {
        Slot {
            engine: Weak::new(),
            stamp: 0,
            seen: Epochs(0),
            credit: Credit::default(),
            transfers: 0,
            mags: Box::default(),
            stats: None,
        }
    }

    /// A cache hit of a standard buffer, or `None`.
    #[inline]
    fn pop_fast(&mut self, engine: &Engine, tier: usize) -> Option<Pooled> {
        let mag = self.mags.get_mut(tier)?;
        let buf = mag.pop_standard()?;
        let hits = mag.cells.bump(Event::FastPop, 1);
        if let Some(budget) = engine.budget() {
            self.credit.refund(budget, mag.size());
        }
        if hits % u64::from(TICK_EVERY) == 0 {
            engine.tick();
        }
        Some(buf)
    }

    /// A return of a standard buffer into a magazine with room, paid from
    /// credit already reserved; otherwise the buffer comes back.
    #[inline]
    fn push_fast(&mut self, engine: &Engine, tier: usize, buf: Pooled) -> Result<(), Pooled> {
        let Some(mag) = self.mags.get_mut(tier) else { return Err(buf) };
        if !mag.has_standard_room() {
            return Err(buf);
        }
        if engine.budget().is_some() && !self.credit.spend_reserved(mag.size()) {
            return Err(buf);
        }
        mag.push_standard(buf)?;
        mag.cells.bump(Event::FastPush, 1);
        Ok(())
    }

    /// Every get the fast path does not serve, after catching up: a standard
    /// buffer, an odd-sized one, a refill from the depot (or a single buffer
    /// for a tier without a thread cache). `None` if the depot is empty too.
    fn take_slow(&mut self, engine: &Engine, tier: usize) -> Option<(Pooled, bool)> {
        let mag = &mut self.mags[tier];
        if let Some(buf) = mag.pop_standard() {
            mag.cells.bump(Event::SlowPop, 1);
            refund(&mut self.credit, engine, buf.capacity());
            return Some((buf, true));
        }
        if let Some((buf, extra)) = mag.pop_odd() {
            mag.cells.bump(Event::SlowPop, 1);
            mag.cells.bump(Event::ExtraOut, extra as u64);
            refund(&mut self.credit, engine, buf.capacity());
            return Some((buf, false));
        }
        self.transfer_tick(engine);
        let mag = &mut self.mags[tier];
        let depot = engine.depot(tier);
        let buf = if mag.cap() == 0 {
            depot.pop()?
        } else {
            let size = mag.size();
            let (first, moved) = depot.pop_batch(|mut bufs, extra| {
                let first = bufs.next();
                let rest = extra - first.as_ref().map_or(0, |b| buffer::extra(b, size));
                (first, mag.refill(bufs, rest))
            })?;
            mag.cells.bump(Event::Refilled, moved.buffers as u64);
            mag.cells.bump(Event::ExtraIn, moved.extra as u64);
            first?
        };
        mag.cells.bump(Event::GlobalHit, 1);
        let standard = buf.capacity() == mag.size();
        refund(&mut self.credit, engine, buf.capacity());
        Some((buf, standard))
    }

    /// Counts a refill or spill, and checks the decay clock every
    /// `TRANSFER_TICK_EVERY` of them.
    fn transfer_tick(&mut self, engine: &Engine) {
        self.transfers = self.transfers.wrapping_add(1);
        if self.transfers.is_multiple_of(TRANSFER_TICK_EVERY) {
            engine.tick();
        }
    }

    /// Whether this is `engine`'s slot.
    fn is_for(&self, engine: &Engine) -> bool {
        core::ptr::eq(self.engine.as_ptr(), engine)
    }

    /// Per-operation housekeeping on the slow paths: catches up with the
    /// epochs, and keeps the stamp read before them (`decay::Generations`).
    fn sync(&mut self, engine: &Engine) {
        let (stamp, now) = engine.now();
        if now != self.seen {
            self.catch_up(engine, now);
        }
        self.stamp = if engine.slow_only() { 0 } else { stamp };
    }

    /// The pool moved on: after a `trim`, release everything; after decay
    /// ticks, release what stayed below each magazine's low-water marks.
    #[cold]
    fn catch_up(&mut self, engine: &Engine, now: Epochs) {
        let trimmed = self.seen.trimmed_since(now);
        self.seen = now;
        self.release(engine, if trimmed { Event::Trimmed } else { Event::Decayed });
    }

    /// Drops every cached buffer (`Trimmed`), or those idle for a whole
    /// decay epoch (`Decayed`), and counts them so; returns their bytes.
    fn release(&mut self, engine: &Engine, event: Event) -> usize {
        let mut released = 0;
        for mag in self.mags.iter_mut() {
            let moved = match event {
                Event::Trimmed => mag.drain_all().0,
                _ => mag.drain_idle().0,
            };
            mag.cells.bump(event, moved.buffers as u64);
            mag.cells.bump(Event::ExtraOut, moved.extra as u64);
            released += moved.bytes;
        }
        refund(&mut self.credit, engine, released);
        released
    }

    /// Ends this slot (thread exit, or its pool is gone): flushes the cache
    /// to the depots of a live pool, and returns the budget credit. Counted
    /// on the pool's shared counters (module docs).
    fn retire(mut self) {
        let Some(engine) = self.engine.upgrade() else { return };
        let (_, now) = engine.now();
        if self.seen != now {
            self.catch_up(&engine, now);
        }
        for (tier, mag) in self.mags.iter_mut().enumerate() {
            let (moved, bufs) = mag.drain_all();
            let (dropped, bytes) = engine.depot(tier).push_batch(bufs);
            let origin = Origin::tier(tier);
            engine.count_shared(origin, Event::Exited, moved.buffers as u64);
            engine.count_shared(origin, Event::ExitedExtra, moved.extra as u64);
            engine.count_shared(origin, Event::GlobalFull, dropped);
            refund(&mut self.credit, &engine, bytes);
        }
        if let Some(budget) = engine.budget() {
            self.credit.release_all(budget);
        }
    }
}

/// Gives back, as this thread's credit, the bytes of buffers that left the
/// pool.
#[inline]
fn refund(credit: &mut Credit, engine: &Engine, bytes: usize) {
    if let Some(budget) = engine.budget() {
        credit.refund(budget, bytes);
    }
}

// === the admission path's view of the cache ===

/// Where a buffer entering the pool is paid for, counted and stored: this
/// thread's cache, or, without one, the engine's shared budget, counters and
/// depot. `recycle::admit` makes every decision; this only carries it out.
pub(crate) enum Via<'a> {
    Cache(&'a mut Slot),
    Shared,
}

/// Buffers a store could not keep because the depot was full, and their
/// bytes; `stored`: the buffer given to the store is not among them (only
/// colder ones spilled to make room were dropped).
pub(crate) struct Dropped {
    pub(crate) buffers: u64,
    pub(crate) bytes: usize,
    pub(crate) stored: bool,
}

impl Via<'_> {
    /// Pays `cost` bytes from the budget, if the pool has one.
    pub(crate) fn spend(&mut self, engine: &Engine, cost: usize) -> bool {
        match (self, engine.budget()) {
            (_, None) => true,
            (Via::Cache(slot), Some(budget)) => slot.credit.spend(budget, cost),
            (Via::Shared, Some(_)) => engine.spend_shared(cost),
        }
    }

    /// Gives `bytes` back to the budget.
    pub(crate) fn refund(&mut self, engine: &Engine, bytes: usize) {
        match self {
            Via::Cache(slot) => refund(&mut slot.credit, engine, bytes),
            Via::Shared => engine.refund_shared(bytes),
        }
    }

    /// Counts `n` events of `origin`'s row.
    pub(crate) fn count(&self, engine: &Engine, origin: Origin, event: Event, n: u64) {
        match self {
            // `with_slot` hands out registered slots only; a vacancy, which
            // has no counters, would count in the shared block.
            Via::Cache(slot) => match slot.stats.as_deref() {
                Some(stats) => {
                    stats.row(origin).bump(event, n);
                }
                None => engine.count_shared(origin, event, n),
            },
            Via::Shared => engine.count_shared(origin, event, n),
        }
    }

    /// Stores `buf` in `tier`: in the thread's magazine, spilling the colder
    /// half of a full one first, or in the depot for a tier without a thread
    /// cache or a path without one. What a full depot refused is dropped.
    pub(crate) fn store(&mut self, engine: &Engine, tier: usize, buf: Pooled) -> Dropped {
        let slot = match self {
            Via::Cache(slot) if slot.mags[tier].cap() > 0 => slot,
            _ => {
                let bytes = buf.capacity();
                return match engine.depot(tier).push(buf) {
                    true => Dropped { buffers: 0, bytes: 0, stored: true },
                    false => Dropped { buffers: 1, bytes, stored: false },
                };
            }
        };
        let mut dropped = Dropped { buffers: 0, bytes: 0, stored: true };
        if slot.mags[tier].is_full() {
            slot.transfer_tick(engine);
            let (mag, depot) = (&mut slot.mags[tier], engine.depot(tier));
            let mut batch = depot.batch_vec();
            let moved = mag.spill_into(&mut batch);
            let (buffers, bytes) = depot.push_vec(batch, moved.extra);
            mag.cells.bump(Event::Spilled, moved.buffers as u64);
            mag.cells.bump(Event::ExtraOut, moved.extra as u64);
            dropped = Dropped { buffers, bytes, stored: true };
        }
        let mag = &mut slot.mags[tier];
        let extra = mag.push(buf);
        mag.cells.bump(Event::SlowPush, 1);
        mag.cells.bump(Event::ExtraIn, extra as u64);
        dropped
    }
}
