//! The thread-cache registry: per thread, a [`Slot`] (`cache.rs`) for each
//! pool it used, found by the engine's index, and the flush at thread exit.
//! Every get and return reaches the thread-cache level through here, once:
//! the fast path is tried inline, and anything else is carried out on the
//! thread's [`Cache`] in a cold function of this module.
//!
//! ```text
//!  thread ──► CACHES: [Slot; by engine index]   (vacant slots: stamp 0, no engine)
//! ```
//!
//! A get or return that hits the cache touches only this thread's memory,
//! plus one load of the engine's stamp (`decay::Generations`), which only
//! `trim` and the once-per-interval decay tick write: no shared atomics, no
//! locks, no reference counts. The stamp the slot kept matches only its own
//! engine's, and only while nothing happened that the cache must catch up
//! with. The budget is paid from thread-local credit (`budget.rs`).
//!
//! **Thread exit.** The registry has no destructor of its own (it is a
//! `const` thread-local of a type that needs no drop, so the hot path makes
//! no liveness check). [`ExitFlush`], registered when the thread first
//! registers with a pool, retires every slot: it flushes the slot to its
//! pool's global queue, if the pool is still alive, and returns the
//! thread's budget credit; the flush is counted in the pool's common
//! counters. `ExitFlush` is registered after the `thread_local` crate's
//! thread-id guard, so on platforms that run thread-local destructors in
//! reverse order (glibc does) the thread still owns its counter block while
//! it flushes. After the flush, gets and returns on the exiting thread (from
//! other thread-local destructors) take [`Cache::Direct`].

use core::cell::{Cell, RefCell, RefMut};
use core::mem::ManuallyDrop;
use std::panic::Location;

use crate::admission::{Pay, Refused};
use crate::buffer::{Origin, Pooled};
use crate::cache::{Admitted, Cache, Entry, Slot, Taken};
use crate::engine::Engine;
use crate::stats::Event;

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

/// Retires this thread's slots when the thread exits.
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

/// This thread's registry.
///
/// One of the crate's five uses of `unsafe` (the others: the `BufMut`
/// impls, the chain's in-place copy, the guard's fields and the read of
/// `BytesMut`'s `data` word), measured to matter.
/// `CACHES.with(|caches| ...)` around the fast path makes a function too big
/// for LLVM to inline `LocalKey::with` into the caller, so every get and
/// return paid a call, a prologue and an indirect call to the thread-local
/// accessor (the maintainer notes have the instruction counts). Taking only
/// the address through `with` keeps it inlined.
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

// === the routes into the thread-cache level ===

/// A buffer of `tier`, its origin, whether its guard starts pristine, and
/// its charge (`Cache::take`): this thread's cache, then the global depot,
/// then a new allocation. `caller` is the checkout's call site, for
/// `track_callers`; `pay` says how a pool with `max_outstanding_bytes`
/// charges it.
///
/// Inlined is only its prefix: the cache hit of an up-to-date slot, which a
/// limited pool never has (its slots keep stamp 0). Anything else starts
/// over in [`take_slow`], the general path.
#[inline(always)]
pub(crate) fn take(
    engine: &Engine,
    n: usize,
    tier: usize,
    fallible: bool,
    caller: &'static Location<'static>,
    pay: Pay,
) -> Result<Taken, Refused> {
    match hit(engine, n, tier) {
        Some(buf) => Ok(Taken { buf, origin: Origin::tier(tier), pristine: true, charge: 0 }),
        None => take_slow(engine, n, tier, fallible, caller, pay),
    }
}

/// A cache hit on this thread's up-to-date slot for a request of `n` bytes,
/// or `None`.
#[inline(always)]
#[cfg_attr(not(feature = "advice"), allow(unused_variables))]
pub(crate) fn hit(engine: &Engine, n: usize, tier: usize) -> Option<Pooled> {
    on_ready_slot(
        engine,
        (),
        #[inline(always)]
        |slot, ()| {
            let buf = slot.pop_fast(engine, tier).ok_or(())?;
            #[cfg(feature = "advice")]
            slot.record_request(n);
            Ok(buf)
        },
    )
    .ok()
}

/// Runs `f` on this thread's slot for `engine` if it has one and it is up to
/// date (the fast paths' one test); otherwise gives `value` back.
#[inline(always)]
fn on_ready_slot<T, R>(engine: &Engine, value: T, f: impl FnOnce(&mut Slot, T) -> Result<R, T>) -> Result<R, T> {
    let Ok(mut slots) = caches().slots.try_borrow_mut() else { return Err(value) };
    match slots.get_mut(engine.index()) {
        Some(slot) if slot.is_ready(engine) => f(slot, value),
        _ => Err(value),
    }
}

/// The general path of [`take`]: inlined into its callers' own cold paths
/// (`checkout::get_slow`), so that a miss pays one call, not two.
#[inline(always)]
pub(crate) fn take_slow(
    engine: &Engine,
    n: usize,
    tier: usize,
    fallible: bool,
    caller: &'static Location<'static>,
    pay: Pay,
) -> Result<Taken, Refused> {
    let mut slot = slot(engine);
    slot.as_deref_mut().map_or(Cache::Direct, Cache::Thread).take(engine, n, tier, fallible, caller, pay)
}

/// A new buffer of `size` bytes for a get of `origin`, counted as a miss,
/// and its charge: an oversize get.
#[cold]
pub(crate) fn allocate(
    engine: &Engine,
    origin: Origin,
    size: usize,
    fallible: bool,
    pay: Pay,
) -> Result<(Pooled, u32), Refused> {
    let mut slot = slot(engine);
    let mut cache = slot.as_deref_mut().map_or(Cache::Direct, Cache::Thread);
    #[cfg(feature = "advice")]
    cache.record_request(engine, size);
    cache.allocate_charged(engine, origin, size, fallible, pay)
}

/// Pools `buf`, which keeps every pooled-buffer invariant, in `tier`, as
/// `entry` asks; `standard`: its capacity is exactly the tier's size.
///
/// Inlined is only its prefix for a standard return to the tier it came
/// from, into this thread's up-to-date magazine with room (and, with a
/// budget, credit), counted as a return. Anything else, or when that finds
/// no room, starts over in [`admit_slow`], the general path.
#[inline(always)]
pub(crate) fn admit(engine: &Engine, entry: Entry, tier: usize, buf: Pooled, standard: bool) -> Admitted {
    let buf = match entry {
        Entry::Return { from } if from == tier && standard => match push_fast(engine, tier, buf) {
            Ok(()) => return Admitted::Pooled,
            Err(buf) => buf,
        },
        _ => buf,
    };
    admit_slow(engine, entry, tier, buf)
}

#[inline(always)]
fn push_fast(engine: &Engine, tier: usize, buf: Pooled) -> Result<(), Pooled> {
    on_ready_slot(engine, buf, |slot, buf| slot.push_fast(engine, tier, buf))
}

#[cold]
#[inline(never)]
fn admit_slow(engine: &Engine, entry: Entry, tier: usize, buf: Pooled) -> Admitted {
    let mut slot = slot(engine);
    slot.as_deref_mut().map_or(Cache::Direct, Cache::Thread).admit(engine, entry, tier, buf, 0)
}

/// [`admit`] for a charged guard's buffer (a pool with
/// `max_outstanding_bytes`, whose slots never take the fast paths): its
/// `charge` settles in the same visit.
#[cold]
#[inline(never)]
pub(crate) fn admit_charged(engine: &Engine, entry: Entry, tier: usize, buf: Pooled, charge: u32) -> Admitted {
    let mut slot = slot(engine);
    slot.as_deref_mut().map_or(Cache::Direct, Cache::Thread).admit(engine, entry, tier, buf, charge)
}

/// Ends a guard (or chunk) of `origin` whose buffer is not pooled: counts
/// `event` on the calling thread's counters and settles its `charge`.
pub(crate) fn end(engine: &Engine, origin: Origin, event: Event, charge: u32) {
    let mut slot = slot(engine);
    let mut cache = slot.as_deref_mut().map_or(Cache::Direct, Cache::Thread);
    cache.settle(engine, charge);
    cache.count(engine, origin, event, 1);
}

/// Charges `bytes` to a limited pool for buffers to be taken later (a
/// chain's room), or refuses: `false` if there is no room now.
pub(crate) fn reserve(engine: &Engine, bytes: usize) -> bool {
    let mut slot = slot(engine);
    slot.as_deref_mut().map_or(Cache::Direct, Cache::Thread).reserve(engine, bytes)
}

/// Gives back room a chain took ahead and did not use.
pub(crate) fn settle(engine: &Engine, bytes: usize) {
    let mut slot = slot(engine);
    slot.as_deref_mut().map_or(Cache::Direct, Cache::Thread).settle_bytes(engine, bytes, false);
}

/// Releases the calling thread's cache for `engine`; returns the bytes
/// released.
pub(crate) fn release(engine: &Engine) -> usize {
    slot(engine).map_or(0, |mut slot| slot.release(engine, Event::Trimmed))
}

/// Catches the calling thread's cache up with the engine's epochs now, which
/// reaps it if a decay tick happened.
pub(crate) fn sync(engine: &Engine) {
    drop(slot(engine));
}

// === the slot itself ===

/// This thread's slot for `engine`, registered on first use and caught up
/// with the engine's epochs. `None` when the registry is unavailable: the
/// thread is exiting, or the call is re-entrant (a user's allocator that
/// uses the pool), or the pool is being dropped.
fn slot(engine: &Engine) -> Option<RefMut<'static, Slot>> {
    let caches = caches();
    if caches.exited.get() {
        return None;
    }
    let mut slots = caches.slots.try_borrow_mut().ok()?;
    let index = engine.index();
    if !slots.get(index).is_some_and(|slot| slot.is_for(engine)) {
        register(&mut slots, engine)?;
    }
    let mut slot = RefMut::map(slots, |slots| &mut slots[index]);
    slot.sync(engine);
    Some(slot)
}

/// Puts a new slot for `engine` at its index, retiring what was there and
/// any other slot whose pool is gone, so that a thread outliving many pools
/// keeps none of their buffers.
#[cold]
fn register(slots: &mut Vec<Slot>, engine: &Engine) -> Option<()> {
    for old in slots.iter_mut() {
        if old.is_orphaned() {
            core::mem::replace(old, Slot::vacant()).retire();
        }
    }
    engine.weak().upgrade()?; // the pool is being dropped: use the paths without a cache
    // The counter block first, through `thread_local`, then the exit flush,
    // so the flush runs while this thread still owns the block (module docs).
    let stats = engine.thread_stats();
    EXIT.with(|_| ());
    let index = engine.index();
    if slots.len() <= index {
        slots.resize_with(index + 1, Slot::vacant);
    }
    core::mem::replace(&mut slots[index], Slot::new(engine, stats)).retire();
    Some(())
}
