//! What the pool holds: a buffer in its box, where a guard's buffer came
//! from, and the invariants every pooled buffer keeps.
//!
//! # Pooled-buffer invariants
//!
//! Every buffer in a thread cache or a global queue is:
//!
//! 1. **Empty**: `len() == 0`, so no byte of a previous user is readable
//!    through the next user's `BytesMut` (stale data).
//! 2. **Unique**: it shares its storage with no live `Bytes` or `BytesMut`,
//!    so pool memory is never aliased (split-then-freeze).
//! 3. **Whole**: it views its entire allocation from offset 0, and
//!    `capacity()` is that allocation, so `advance`, `split_to` and friends
//!    never shrink what the next user gets, and no byte hides past the view.
//! 4. **Bounded**: its capacity is at least its tier's size and at most its
//!    tier's ceiling (cap growth never pins memory forever).
//! 5. **Scrubbed**, with `scrub_on_return`: every byte of it is zero.
//!
//! The return path (`recycle.rs`) establishes them; nothing else puts a
//! buffer into the pool.
//!
//! A pooled buffer whose capacity is exactly its tier's size is *standard*.
//! Thread caches keep standard buffers apart from the others (`magazine.rs`),
//! so their byte count is derived from their length, and the hot path never
//! reads a capacity.

use bytes::{Bytes, BytesMut};

use crate::error::GetError;

/// A pooled buffer in its box. The box is allocated with the buffer and stays
/// with it for life, so between a guard, a thread cache and a global queue
/// only this one pointer moves, never the 32-byte `BytesMut` (whose copies,
/// just after the user wrote its fields, stall store forwarding).
pub(crate) type Pooled = Box<BytesMut>;

/// The bytes a pooled buffer of a tier of `size` holds above that size: 0
/// for a standard buffer. Every pooled buffer's capacity is at least its
/// tier's size (`recycle::tier_of`), so this never underflows.
#[inline]
pub(crate) fn extra(buf: &Pooled, size: usize) -> usize {
    buf.capacity() - size
}

/// A new, empty buffer of `capacity` bytes in its box (a miss: two
/// allocations, the buffer and its 32-byte box). With `fallible`, an
/// allocator failure is an error instead of an abort.
pub(crate) fn allocate(capacity: usize, fallible: bool) -> Result<Pooled, GetError> {
    if !fallible {
        return Ok(Box::new(BytesMut::with_capacity(capacity)));
    }
    try_allocate(capacity)
}

fn try_allocate(capacity: usize) -> Result<Pooled, GetError> {
    // `bytes` has no fallible constructor. A `Vec` with `len == capacity`
    // converts to `Bytes`, then to `BytesMut`, without allocating, so the
    // fallible path reserves, zero-fills (touching every page: `try_get`'s
    // misses cost more than `get`'s) and clears.
    let mut storage = Vec::new();
    storage.try_reserve_exact(capacity).map_err(|_| GetError::AllocFailed { requested: capacity })?;
    storage.resize(storage.capacity(), 0);
    let mut buf = BytesMut::from(Bytes::from(storage));
    buf.clear();
    Ok(Box::new(buf))
}

/// Where a buffer came from, which decides how it goes back, and the row of
/// the stats it is counted in: a tier's index; [`Origin::OVERSIZE`] for an
/// exact-size buffer above the largest tier, which is never pooled; or
/// [`Origin::FOREIGN`] for a buffer given to `BufPool::put`. A byte holds it
/// (at most [`MAX_TIERS`](crate::MAX_TIERS) = 16 tiers), so a guard stays
/// small.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Origin(u8);

impl Origin {
    pub(crate) const OVERSIZE: Origin = Origin(u8::MAX);
    pub(crate) const FOREIGN: Origin = Origin(u8::MAX - 1);
    /// Marks a tier origin handed out by a pool in a test mode (`debug.rs`),
    /// so that only such guards' returns reach the test modes' code.
    const TRACED: u8 = 0x80;

    /// The origin of a buffer handed out by tier `index`.
    #[inline]
    pub(crate) fn tier(index: usize) -> Self {
        debug_assert!(index < crate::MAX_TIERS);
        Origin(index as u8)
    }

    /// The same tier, marked as handed out by a pool in a test mode.
    pub(crate) fn traced(self) -> Self {
        Origin(self.0 | Self::TRACED)
    }

    /// The tier's index, traced or not, or `None` for an oversize or foreign
    /// buffer.
    #[inline]
    pub(crate) fn tier_index(self) -> Option<usize> {
        let index = usize::from(self.0 & !Self::TRACED);
        (index < crate::MAX_TIERS).then_some(index)
    }

    /// The tier's index of an origin known to be a plain tier (a pristine
    /// guard's: `PooledBuf::new` checks it).
    #[inline]
    pub(crate) fn known_tier(self) -> usize {
        debug_assert!(self.plain_tier().is_some());
        usize::from(self.0)
    }

    /// The tier's index, for a tier origin that is not traced.
    #[inline]
    pub(crate) fn plain_tier(self) -> Option<usize> {
        (usize::from(self.0) < crate::MAX_TIERS).then_some(usize::from(self.0))
    }
}
