//! The return path: what happens to a buffer when its guard ends.
//!
//! ```text
//! guard drops ─► normalise ─► classify by real capacity ─┬─► thread cache ─► (full) spill half ─► global queue ─► (full) drop
//!                                                        └─► discard, counted by reason
//! ```
//!
//! Invariants this file establishes for everything the pool holds:
//! 1. **Empty.** A pooled buffer has `len() == 0`, so no byte of a previous
//!    user is ever readable through the next user's `BytesMut` (stale data).
//! 2. **Unique.** A pooled buffer shares its storage with no live `Bytes` or
//!    `BytesMut`, so pool memory is never aliased (split-then-freeze).
//! 3. **Whole.** A pooled buffer views its entire allocation from offset 0, so
//!    `advance`, `split_to` and friends never shrink what the next user gets.
//! 4. **Bounded.** A pooled buffer's real capacity is at least its tier's size
//!    and at most its tier's ceiling (cap growth never pins memory forever).
//! 5. **Scrubbed**, with `scrub_on_return`: every byte of its capacity is zero.
//!
//! **The fast path** pools a guard's buffer without any check when the guard
//! was never *exposed*: no `DerefMut`, and none of the guard's own writes
//! needed more than the spare capacity (`PooledBuf::writable`). The storage is
//! then the allocation the pool handed out, which held (1)–(4), and only its
//! length changed. Every other return goes through [`normalise`], which finds
//! the real allocation through `bytes`' public API and never trusts the view.
//!
//! `try_reclaim(n)` alone cannot do that: it reports success without a look
//! at the storage when the view already has room, and on unique storage with
//! room past the view it only raises `capacity()` to `n` (`bytes`'
//! `reserve_inner`), so capacity after it is a lower bound, not the
//! allocation.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::config::{Config, Fit};
use crate::local;
use crate::pool::Inner;
use crate::stats::Event;

/// A pooled buffer in its box. The box is allocated with the buffer and stays
/// with it for life, so between a guard, a thread cache and a global queue
/// only this one pointer moves, never the 32-byte `BytesMut`. (Copies of a
/// `BytesMut` whose fields were just written in other widths stall store
/// forwarding: a prototype loop of get + 64 B write + drop took 12.6 ns
/// moving `BytesMut` and 4.0 ns moving `Box<BytesMut>`; see
/// docs/benchmarks.md.)
pub(crate) type Pooled = Box<BytesMut>;

/// A new, empty buffer of `capacity` bytes in its box (a miss: two
/// allocations, the buffer and its 32-byte box).
pub(crate) fn new_pooled(capacity: usize) -> Pooled {
    Box::new(BytesMut::with_capacity(capacity))
}

/// Where a guard's buffer came from, which decides how it goes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    /// Handed out by tier `usize`.
    Tier(usize),
    /// An exact-size buffer above the largest tier: never pooled.
    Oversize,
}

/// Ends a guard: pools `buf` or discards it, and counts which.
///
/// Fast path: the guard was never `exposed`, so its storage is still the
/// whole, unique allocation the pool handed out, of the capacity it had
/// then (its tier's), and only its length changed; a scrub of its capacity
/// covers the whole allocation. Every other return is checked in full by
/// [`normalise`].
#[inline]
pub(crate) fn give_back(inner: &Inner, origin: Origin, mut buf: Pooled, exposed: bool) {
    if let Origin::Tier(from) = origin
        && !exposed
    {
        scrub(&inner.config, &mut buf);
        buf.clear();
        return local::put(inner, from, buf);
    }
    give_back_slow(inner, origin, buf);
}

/// Every return the fast path of [`give_back`] does not take.
#[cold]
#[inline(never)]
fn give_back_slow(inner: &Inner, origin: Origin, mut buf: Pooled) {
    let Origin::Tier(from) = origin else {
        drop(buf); // oversize: never pooled
        return local::count(inner, inner.config.tiers(), Event::AboveCeiling);
    };
    match normalise(&mut buf).and_then(|capacity| tier_of(&inner.config, capacity)) {
        Ok(tier) => {
            scrub(&inner.config, &mut buf);
            local::put_slow(inner, from, tier, buf);
        }
        Err(reason) => {
            drop(buf);
            local::count(inner, from, reason);
        }
    }
}

/// With `scrub_on_return`, zeroes the whole capacity of a buffer about to be
/// pooled. Its view is its whole allocation by then (unexposed, or
/// normalised), so this reaches every byte: those hidden by `truncate`,
/// skipped by `advance`, or split off and dropped past the view.
#[inline]
fn scrub(config: &Config, buf: &mut BytesMut) {
    if config.scrub_on_return {
        scrub_all(buf);
    }
}

#[cold]
fn scrub_all(buf: &mut BytesMut) {
    buf.clear();
    buf.resize(buf.capacity(), 0);
    buf.clear();
}

/// The tier a buffer whose allocation holds `capacity` bytes belongs to.
fn tier_of(config: &Config, capacity: usize) -> Result<usize, Event> {
    match config.tier_for_capacity(capacity) {
        Ok(tier) => Ok(tier),
        Err(Fit::TooSmall) => Err(Event::TooSmall),
        Err(Fit::AboveCeiling) => Err(Event::AboveCeiling),
    }
}

/// Makes `buf` an empty view of its whole allocation, from offset 0, and
/// returns the allocation's size; or the reason it cannot be pooled
/// (`Shared`: another handle still shares the storage, or there is none).
/// Never copies the contents; allocates only in the rare case below.
///
/// 1. **Uniqueness.** Make the view one byte short of the storage it started
///    from (write a byte if empty, `advance(1)`), then ask `try_reclaim` for
///    one byte more than the view holds. That can succeed only if no other
///    handle shares the storage: shared storage fails (`Shared`).
/// 2. **Wholeness.** On success `bytes` either moved the view back to the
///    start of its allocation and gave it all of it (`KIND_VEC` storage, and
///    unique `KIND_ARC` storage with nothing hidden past the view), or, when
///    the allocation has room hidden past the view (a tail split off and
///    dropped), only raised the view's capacity in place. The start pointer
///    tells which: it moves back in the first case only.
/// 3. **Hidden room.** In the second case `capacity()` is not the allocation
///    (`bytes` 1.12, `reserve_inner`: `if v_capacity >= new_cap + offset {
///    self.cap = new_cap }`). The storage is unique, so `Vec::from` hands over
///    the original `Vec` without copying, and its `capacity()` is the
///    allocation. `Bytes::from(Vec)` then boxes a small `Shared` (one
///    allocation) and `BytesMut::from(Bytes)` unboxes it again, so the buffer
///    is whole at offset 0.
#[cold]
pub(crate) fn normalise(buf: &mut BytesMut) -> Result<usize, Event> {
    buf.clear();
    let probe = if buf.capacity() == 0 {
        1
    } else {
        buf.put_u8(0);
        buf.advance(1);
        buf.capacity() + 1
    };
    let before = buf.as_ptr().addr();
    if !buf.try_reclaim(probe) {
        return Err(Event::Shared);
    }
    if buf.as_ptr().addr() < before {
        return Ok(buf.capacity()); // moved back to the start: the view is whole
    }
    let storage = Vec::from(core::mem::take(buf)); // unique: no copy
    let capacity = storage.capacity();
    *buf = BytesMut::from(Bytes::from(storage));
    debug_assert_eq!((buf.len(), buf.capacity()), (0, capacity));
    Ok(capacity)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Builder;

    fn config() -> Config {
        Builder::new().config().unwrap()
    }

    fn classify(buf: &mut BytesMut) -> Result<usize, Event> {
        normalise(buf).and_then(|capacity| tier_of(&config(), capacity))
    }

    /// Asserts that `buf` is an empty, whole view of a unique allocation of
    /// `capacity` bytes: `Vec::from` of unique storage returns the original
    /// `Vec`, which starts where the view does and knows its capacity.
    fn assert_whole(buf: BytesMut, capacity: usize) {
        let (start, len, cap) = (buf.as_ptr(), buf.len(), buf.capacity());
        let storage = Vec::from(buf);
        assert_eq!((len, cap), (0, capacity), "empty, and capacity() is the allocation");
        assert_eq!(storage.as_ptr(), start, "the view starts at offset 0");
        assert_eq!(storage.capacity(), capacity, "the allocation");
    }

    #[test]
    fn advanced_buffer_is_reclaimed_whole() {
        let mut b = BytesMut::with_capacity(4096);
        b.extend_from_slice(&[1; 3000]);
        b.advance(2500);
        assert!(b.capacity() < 4096);
        assert_eq!(classify(&mut b), Ok(0));
        assert_whole(b, 4096);
    }

    #[test]
    fn buffer_read_to_its_last_byte_is_reclaimed_whole() {
        let mut b = BytesMut::with_capacity(4096);
        b.extend_from_slice(&[1; 4096]);
        b.advance(4096); // e.g. sent with `write_all_buf`
        assert_eq!(b.capacity(), 0);
        assert_eq!(classify(&mut b), Ok(0));
        assert_whole(b, 4096);
    }

    #[test]
    fn storage_shared_with_a_frozen_split_is_discarded() {
        let mut b = BytesMut::with_capacity(4096);
        b.extend_from_slice(b"frame");
        let frame = b.split().freeze();
        assert_eq!(classify(&mut b), Err(Event::Shared));
        assert_eq!(&frame[..], b"frame");
    }

    #[test]
    fn grown_then_split_storage_is_discarded_although_capacity_suffices() {
        // The codec pattern: the buffer grows past its tier, then a frame is
        // split off the front. The remaining view still has > 64 KiB of
        // capacity, so `try_reclaim(65536)` alone would say yes.
        let mut b = BytesMut::with_capacity(4096);
        b.reserve(100 << 10);
        b.extend_from_slice(&[7; 100]);
        let frame = b.split_to(10).freeze();
        assert!(b.capacity() >= 64 << 10);
        assert_eq!(classify(&mut b), Err(Event::Shared));
        assert_eq!(&frame[..], &[7; 10]);
    }

    #[test]
    fn split_storage_whose_other_half_dropped_is_reclaimed_whole() {
        let mut b = BytesMut::with_capacity(4096);
        b.extend_from_slice(&[1; 100]);
        drop(b.split_to(60));
        assert_eq!(classify(&mut b), Ok(0));
        assert_whole(b, 4096);
    }

    #[test]
    fn space_split_off_the_end_is_reclaimed_whole() {
        let mut b = BytesMut::with_capacity(65536);
        drop(b.split_off(100));
        assert_eq!(b.capacity(), 100);
        assert_eq!(classify(&mut b), Ok(1));
        assert_whole(b, 65536);
    }

    #[test]
    fn a_large_allocation_behind_a_small_view_is_measured_by_its_allocation() {
        // Grown to 3 MiB, then a 4 KiB view kept and the tail dropped. A probe
        // with `try_reclaim(4096)` alone would report 4 KiB, with the view at
        // +1; the allocation is above every ceiling.
        let mut b = BytesMut::with_capacity(4096);
        b.put_bytes(7, 3 << 20);
        drop(b.split_off(4096));
        assert_eq!(b.capacity(), 4096);
        let allocation = normalise(&mut b).unwrap();
        assert!(allocation >= 3 << 20, "{allocation}");
        assert_eq!(tier_of(&config(), allocation), Err(Event::AboveCeiling));
        assert_whole(b, allocation);
    }

    #[test]
    fn an_allocation_hidden_on_both_sides_is_measured_whole() {
        let mut b = BytesMut::with_capacity(8192);
        b.put_bytes(1, 300);
        drop(b.split_to(100)); // hidden before the view
        drop(b.split_off(1000)); // hidden after it
        assert_eq!(classify(&mut b), Ok(0));
        assert_whole(b, 8192);
    }

    #[test]
    fn storage_shared_with_a_live_tail_is_discarded() {
        let mut b = BytesMut::with_capacity(65536);
        let tail = b.split_off(100);
        assert_eq!(classify(&mut b), Err(Event::Shared));
        drop(tail);
    }

    #[test]
    fn storage_shared_with_an_empty_split_is_discarded() {
        for at_end in [false, true] {
            let mut b = BytesMut::with_capacity(4096);
            b.extend_from_slice(b"data");
            let empty = if at_end { b.split_off(4096) } else { b.split_to(0) };
            assert_eq!(b.capacity(), 4096, "the view looks untouched");
            assert_eq!(classify(&mut b), Err(Event::Shared));
            drop(empty);
        }
    }

    #[test]
    fn taken_storage_is_unreclaimable() {
        let mut b = BytesMut::with_capacity(4096);
        let taken = std::mem::take(&mut b);
        assert_eq!(classify(&mut b), Err(Event::Shared));
        drop(taken);
    }

    #[test]
    fn capacity_decides_tier_and_ceiling() {
        assert_eq!(classify(&mut BytesMut::with_capacity(100)), Err(Event::TooSmall));
        assert_eq!(classify(&mut BytesMut::with_capacity(70 << 10)), Ok(1));
        assert_eq!(classify(&mut BytesMut::with_capacity(10 << 10)), Err(Event::AboveCeiling));
        assert_eq!(classify(&mut BytesMut::with_capacity(3 << 20)), Err(Event::AboveCeiling));
    }
}
