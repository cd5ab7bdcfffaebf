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

use crate::buffer::{Origin, Pooled};
use crate::engine::Engine;
use crate::error::GetError;
use crate::guard::{PoolRef, PooledBuf};
use crate::registry;

/// A guard of `pool` over an empty buffer of at least `n` bytes for
/// `caller`: from the smallest tier that fits, or exact-size and unpooled
/// above the largest. With `fallible`, an allocator failure is an error
/// instead of an abort.
#[inline(always)]
pub(crate) fn get<'a>(
    engine: &Engine,
    n: usize,
    fallible: bool,
    pool: PoolRef<'a>,
    caller: &'static Location<'static>,
) -> Result<PooledBuf<'a>, GetError> {
    let Some(tier) = engine.config().tier_for_request(n) else {
        let buf = oversize(engine, n, fallible, caller)?;
        return Ok(PooledBuf::new(buf, Origin::OVERSIZE, false, pool));
    };
    let (buf, origin, pristine) = registry::take(engine, n, tier, fallible, caller)?;
    Ok(PooledBuf::new(buf, origin, pristine, pool))
}

/// A whole buffer of `tier`: a chain's next chunk, or `into_contiguous`'s
/// buffer.
#[inline(always)]
pub(crate) fn take(
    engine: &Engine,
    tier: usize,
    fallible: bool,
    caller: &'static Location<'static>,
) -> Result<(Pooled, Origin, bool), GetError> {
    registry::take(engine, engine.config().size(tier), tier, fallible, caller)
}

/// An exact-size, unpooled buffer above the largest tier.
#[cold]
fn oversize(engine: &Engine, n: usize, fallible: bool, caller: &'static Location<'static>) -> Result<Pooled, GetError> {
    let limit = engine.config().max_request;
    if n > limit {
        return Err(GetError::TooLarge { requested: n, limit });
    }
    let mut buf = registry::allocate(engine, Origin::OVERSIZE, n, fallible)?;
    if let Some(modes) = engine.test_modes() {
        modes.checked_out(&mut buf, caller, 1);
    }
    Ok(buf)
}
