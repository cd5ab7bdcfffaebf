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
//! The fast path skips the probe for a written buffer whose view is exactly
//! the one handed out; docs/design.md lists what that assumes, and the
//! measurements that kept it.
//!
//! `try_reclaim(n)` alone cannot prove (2). It returns `true` at once whenever
//! the visible capacity is already `>= n`, and storage that grew and then had a
//! frame split off and frozen (the codec pattern) passes that test while still
//! shared. So the return path first makes the view one byte short of whole
//! (write a byte, `advance(1)`). After that, only storage this handle owns
//! alone can be reclaimed: `KIND_VEC` storage gets its whole offset back, and
//! unique `KIND_ARC` storage moves back to the front. Shared storage returns
//! `false`. None of this allocates. (`Vec::from(BytesMut)` would also test
//! uniqueness, but `BytesMut` has no public allocation-free way back from a
//! `Vec`.)

use bytes::{Buf, BufMut, BytesMut};

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

/// The storage a guard was handed: the address where its whole allocation
/// starts (only compared, never dereferenced), and its size.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HandedOut {
    pub(crate) addr: usize,
    pub(crate) capacity: usize,
}

impl HandedOut {
    pub(crate) fn of(buf: &BytesMut) -> Self {
        Self { addr: buf.as_ptr().addr(), capacity: buf.capacity() }
    }

    /// Whether `buf` still views exactly this storage: same start, same
    /// capacity.
    #[inline]
    fn is_view_of(self, buf: &BytesMut) -> bool {
        buf.as_ptr().addr() == self.addr && buf.capacity() == self.capacity
    }
}

/// Ends a guard: pools `buf` or discards it, and counts which.
///
/// Fast path: the view is exactly the storage handed out, which was whole,
/// and holds data. Then no other handle can view a byte of it, and its
/// capacity, hence its tier, is unchanged. An *empty* view is left to the
/// probe: `split()` of an empty buffer shares the storage with an empty
/// handle without moving the view (found by proptests/model.rs).
#[inline]
pub(crate) fn give_back(inner: &Inner, origin: Origin, mut buf: Pooled, handed_out: HandedOut) {
    if let Origin::Tier(from) = origin
        && !buf.is_empty()
        && handed_out.is_view_of(&buf)
        && !inner.config.scrub_on_return
    {
        buf.clear();
        return local::put(inner, from, buf);
    }
    give_back_slow(inner, origin, buf, handed_out);
}

/// Every return the fast path of [`give_back`] does not take.
#[cold]
#[inline(never)]
fn give_back_slow(inner: &Inner, origin: Origin, mut buf: Pooled, handed_out: HandedOut) {
    let Origin::Tier(from) = origin else {
        drop(buf); // oversize: never pooled
        return local::count(inner, inner.config.tiers(), Event::AboveCeiling);
    };
    let written = !buf.is_empty();
    buf.clear();
    if written && handed_out.is_view_of(&buf) {
        scrub(&inner.config, &mut buf);
        return local::put_slow(inner, from, from, buf);
    }
    match classify(&inner.config, &mut buf, handed_out.capacity) {
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
/// pooled: `len()` alone would miss bytes hidden by `truncate`, or bytes
/// before the view that `advance` skipped, which normalisation brings back.
#[inline]
fn scrub(config: &Config, buf: &mut BytesMut) {
    if config.scrub_on_return {
        buf.resize(buf.capacity(), 0);
        buf.clear();
    }
}

/// Normalises `buf` and picks the tier its real capacity belongs to, or the
/// reason it must be discarded (the caller drops it). `hint` is the capacity
/// of the storage when it was handed out.
#[cold]
pub(crate) fn classify(config: &Config, buf: &mut BytesMut, hint: usize) -> Result<usize, Event> {
    buf.clear();
    let cap = buf.capacity();
    if cap == 0 {
        return Err(Event::Shared); // storage taken away (`split`, `mem::take`)
    }
    // The uniqueness probe: a view one byte short of whole can be reclaimed
    // only if no other handle shares the storage. Asking for `hint` first
    // recovers space split off the *end* of the original storage, too.
    buf.put_u8(0);
    buf.advance(1);
    if !(buf.try_reclaim(cap.max(hint)) || buf.try_reclaim(cap)) {
        return Err(Event::Shared);
    }
    debug_assert!(buf.is_empty() && buf.capacity() >= cap);
    match config.tier_for_capacity(buf.capacity()) {
        Ok(tier) => Ok(tier),
        Err(Fit::TooSmall) => Err(Event::TooSmall),
        Err(Fit::AboveCeiling) => Err(Event::AboveCeiling),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Builder;

    fn config() -> Config {
        Builder::new().config().unwrap()
    }

    #[test]
    fn advanced_buffer_is_reclaimed_whole() {
        let mut b = BytesMut::with_capacity(4096);
        b.extend_from_slice(&[1; 3000]);
        b.advance(2500);
        assert!(b.capacity() < 4096);
        let tier = classify(&config(), &mut b, 4096).unwrap();
        assert_eq!((tier, b.len(), b.capacity()), (0, 0, 4096));
    }

    #[test]
    fn storage_shared_with_a_frozen_split_is_discarded() {
        let mut b = BytesMut::with_capacity(4096);
        b.extend_from_slice(b"frame");
        let frame = b.split().freeze();
        assert_eq!(classify(&config(), &mut b, 4096).unwrap_err(), Event::Shared);
        assert_eq!(&frame[..], b"frame");
    }

    #[test]
    fn grown_then_split_storage_is_discarded_although_capacity_suffices() {
        // The codec pattern: the buffer grows past its tier, then a frame is
        // split off the front. The remaining view still has > 64 KiB of
        // capacity, so `try_reclaim(65536)` would say yes.
        let mut b = BytesMut::with_capacity(4096);
        b.reserve(100 << 10);
        b.extend_from_slice(&[7; 100]);
        let frame = b.split_to(10).freeze();
        assert!(b.capacity() >= 64 << 10);
        assert_eq!(classify(&config(), &mut b, 4096).unwrap_err(), Event::Shared);
        assert_eq!(&frame[..], &[7; 10]);
    }

    #[test]
    fn split_storage_whose_other_half_dropped_is_reclaimed_whole() {
        let mut b = BytesMut::with_capacity(4096);
        b.extend_from_slice(&[1; 100]);
        drop(b.split_to(60));
        let tier = classify(&config(), &mut b, 4096).unwrap();
        assert_eq!((tier, b.capacity()), (0, 4096));
    }

    #[test]
    fn space_split_off_the_end_is_reclaimed_with_the_hint() {
        let mut b = BytesMut::with_capacity(65536);
        drop(b.split_off(100));
        assert_eq!(b.capacity(), 100);
        let tier = classify(&config(), &mut b, 65536).unwrap();
        assert_eq!((tier, b.capacity()), (1, 65536));
    }

    #[test]
    fn storage_shared_with_a_live_tail_is_discarded() {
        let mut b = BytesMut::with_capacity(65536);
        let tail = b.split_off(100);
        assert_eq!(classify(&config(), &mut b, 65536).unwrap_err(), Event::Shared);
        drop(tail);
    }

    #[test]
    fn taken_storage_is_unreclaimable() {
        let mut b = BytesMut::with_capacity(4096);
        let taken = std::mem::take(&mut b);
        assert_eq!(classify(&config(), &mut b, 4096).unwrap_err(), Event::Shared);
        drop(taken);
    }

    #[test]
    fn capacity_decides_tier_and_ceiling() {
        let c = config();
        assert_eq!(classify(&c, &mut BytesMut::with_capacity(100), 0).unwrap_err(), Event::TooSmall);
        assert_eq!(classify(&c, &mut BytesMut::with_capacity(70 << 10), 0).unwrap(), 1);
        assert_eq!(classify(&c, &mut BytesMut::with_capacity(10 << 10), 0).unwrap_err(), Event::AboveCeiling);
        assert_eq!(classify(&c, &mut BytesMut::with_capacity(3 << 20), 0).unwrap_err(), Event::AboveCeiling);
    }
}
