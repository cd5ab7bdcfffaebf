//! The get path: every buffer handed out leaves the pool through here, the
//! mirror of `recycle.rs`.
//!
//! ```text
//!  get(n) ─► tier for n ─────────► registry::take ─► thread cache ─► depot ─► allocate (a miss)
//!        └─► above the largest ──► registry::allocate: exact size, unpooled (oversize)
//! ```
//!
//! What leaves is empty, keeps the pooled-buffer invariants (`buffer.rs`)
//! if it comes from a tier, and comes with its [`Origin`] and whether its
//! guard starts *pristine*: a standard buffer from a pool that neither
//! scrubs nor runs a test mode, whose return may skip the check
//! (`recycle.rs`). A request above `max_request` is refused here, before
//! anything is allocated.

use std::panic::Location;

use crate::admission::{Pay, Refused};
use crate::buffer::Origin;
use crate::cache::Taken;
use crate::engine::Engine;
use crate::error::{AcquireError, GetError};
use crate::guard::{PoolRef, PooledBuf};
use crate::registry;

/// A guard of `pool` over an empty buffer of at least `n` bytes for
/// `caller`: from the smallest tier that fits, or exact-size and unpooled
/// above the largest. With `fallible`, an allocator failure is an error
/// instead of an abort. A limited pool charges it, forced.
///
/// Inlined is only the cache hit; anything else, and every get of a limited
/// pool, starts over in [`get_slow`].
#[inline(always)]
pub(crate) fn get<'a>(
    engine: &Engine,
    n: usize,
    fallible: bool,
    pool: PoolRef<'a>,
    caller: &'static Location<'static>,
) -> Result<PooledBuf<'a>, GetError> {
    let Some(tier) = engine.config().tier_for_request(n) else {
        return forced(oversize(engine, n, fallible, pool, caller, Pay::Force));
    };
    match registry::hit(engine, n, tier) {
        Some(buf) => Ok(PooledBuf::new(buf, Origin::tier(tier), true, pool)),
        None => get_slow(engine, n, tier, fallible, pool, caller),
    }
}

/// [`get`], infallible: what `BufPool::get` and `get_owned` call. A
/// request above `max_request` panics ([`get_failed`]); an allocator
/// failure aborts, as any allocation does.
///
/// The guard is built straight into the caller's place on both paths, with
/// no `Result` between: moving a guard out of one that the hit path had
/// just written field by field stalled on store forwarding (two 16-byte
/// loads over narrower stores), and cost the hit more time than its
/// instructions.
#[inline(always)]
pub(crate) fn get_or_panic<'a>(
    engine: &Engine,
    n: usize,
    pool: PoolRef<'a>,
    caller: &'static Location<'static>,
) -> PooledBuf<'a> {
    let Some(tier) = engine.config().tier_for_request(n) else {
        return got(oversize(engine, n, false, pool, caller, Pay::Force));
    };
    match registry::hit(engine, n, tier) {
        Some(buf) => PooledBuf::new(buf, Origin::tier(tier), true, pool),
        None => get_slow_or_panic(engine, n, tier, pool, caller),
    }
}

#[cold]
#[inline(never)]
fn get_slow_or_panic<'a>(
    engine: &Engine,
    n: usize,
    tier: usize,
    pool: PoolRef<'a>,
    caller: &'static Location<'static>,
) -> PooledBuf<'a> {
    got(registry::take_slow(engine, n, tier, false, caller, Pay::Force).map(|taken| guard(taken, pool)))
}

/// A forced, infallible checkout's guard.
fn got<T>(result: Result<T, Refused>) -> T {
    match forced(result) {
        Ok(value) => value,
        Err(err) => get_failed(err),
    }
}

/// The panic of `get` for a request it cannot serve.
#[cold]
#[track_caller]
pub(crate) fn get_failed(err: GetError) -> ! {
    panic!("tierpool: {err}; use try_get to handle this as an error")
}

#[cold]
#[inline(never)]
fn get_slow<'a>(
    engine: &Engine,
    n: usize,
    tier: usize,
    fallible: bool,
    pool: PoolRef<'a>,
    caller: &'static Location<'static>,
) -> Result<PooledBuf<'a>, GetError> {
    forced(registry::take_slow(engine, n, tier, fallible, caller, Pay::Force).map(|taken| guard(taken, pool)))
}

/// A forced checkout's result: it is never refused for room.
fn forced<T>(result: Result<T, Refused>) -> Result<T, GetError> {
    result.map_err(|refused| match refused {
        Refused::Get(err) => err,
        Refused::WouldWait { .. } => unreachable!("a forced charge is never refused"),
    })
}

/// What a buffer for a request of `n` bytes is charged up front in a
/// limited pool: its tier's size, or `n` above the largest tier.
pub(crate) fn charge_for(engine: &Engine, n: usize) -> usize {
    let config = engine.config();
    config.tier_for_request(n).map_or(n, |tier| config.size(tier))
}

/// [`get`] that pays as `pay` says (`acquire`, `try_acquire`), always
/// fallible.
pub(crate) fn get_paying<'a>(
    engine: &Engine,
    n: usize,
    pool: PoolRef<'a>,
    caller: &'static Location<'static>,
    pay: Pay,
) -> Result<PooledBuf<'a>, Refused> {
    let Some(tier) = engine.config().tier_for_request(n) else {
        return oversize(engine, n, true, pool, caller, pay);
    };
    registry::take(engine, n, tier, true, caller, pay).map(|taken| guard(taken, pool))
}

/// `BufPool::acquire`: a guard as [`get_paying`] gives, charged to a limited
/// pool from the caller's room if it has enough, else after a wait, first
/// come first served, for the room the request is charged up front
/// ([`charge_for`], which the caller checked against the limit). Dropped
/// while waiting, it takes nothing; after the wait it does not await again,
/// so the room it got always reaches a guard.
pub(crate) async fn acquire<'a>(
    n: usize,
    pool: PoolRef<'a>,
    caller: &'static Location<'static>,
) -> Result<PooledBuf<'a>, AcquireError> {
    let engine = pool.engine();
    let Some(admission) = engine.admission() else {
        return get_paying(engine, n, pool.clone(), caller, Pay::Force).map_err(acquire_error);
    };
    match get_paying(engine, n, pool.clone(), caller, Pay::Try) {
        Err(Refused::WouldWait { charge }) => {
            admission.wait_for(charge, engine.allowances()).await;
            get_paying(pool.engine(), n, pool.clone(), caller, Pay::Prepaid(charge)).map_err(acquire_error)
        }
        done => done.map_err(acquire_error),
    }
}

pub(crate) fn acquire_error(refused: Refused) -> AcquireError {
    match refused {
        Refused::Get(err) => AcquireError::Get(err),
        Refused::WouldWait { charge } => AcquireError::WouldWait { charge },
    }
}

/// A whole buffer of `tier`: a chain's next chunk, or `into_contiguous`'s
/// buffer.
#[inline(always)]
pub(crate) fn take(
    engine: &Engine,
    tier: usize,
    fallible: bool,
    caller: &'static Location<'static>,
    pay: Pay,
) -> Result<Taken, Refused> {
    registry::take(engine, engine.config().size(tier), tier, fallible, caller, pay)
}

fn guard(Taken { buf, origin, pristine, charge }: Taken, pool: PoolRef<'_>) -> PooledBuf<'_> {
    PooledBuf::charged(buf, origin, pristine, pool, charge)
}

/// An exact-size, unpooled buffer above the largest tier.
#[cold]
fn oversize<'a>(
    engine: &Engine,
    n: usize,
    fallible: bool,
    pool: PoolRef<'a>,
    caller: &'static Location<'static>,
    pay: Pay,
) -> Result<PooledBuf<'a>, Refused> {
    let limit = engine.config().max_request;
    if n > limit {
        return Err(GetError::TooLarge { requested: n, limit }.into());
    }
    let (mut buf, charge) = registry::allocate(engine, Origin::OVERSIZE, n, fallible, pay)?;
    if let Some(modes) = engine.test_modes() {
        modes.checked_out(&mut buf, caller, 1);
    }
    Ok(PooledBuf::charged(buf, Origin::OVERSIZE, false, pool, charge))
}
