//! The return path: every buffer that enters the pool comes through here.
//!
//! ```text
//!  guard drops ─┬─ pristine, or exact as fresh (`layout.rs`) ─────────────┐
//!               └─ otherwise ─► normalise ─► tier of the real allocation ─┤
//!  BufPool::put ──────────────► normalise ─► tier of the real allocation ─┤
//!                                   │ shared, too small, above ceiling    │
//!                                   ▼                                     ▼
//!                               discard, counted         admit: budget ─► thread cache ─(full)─► spill ─► depot ─(full)─► drop
//! ```
//!
//! What this file guarantees: a buffer enters the pool only through
//! `registry::admit`, and only once it keeps every pooled-buffer invariant
//! (`buffer.rs`): empty, unique, whole from offset 0 with `capacity()` equal
//! to its allocation, within its tier's size and ceiling, scrubbed if asked.
//!
//! - **Pristine** guards skip the check. A guard is pristine when it was
//!   handed a standard buffer (capacity exactly its tier's size) by a pool
//!   that does not scrub, and its storage was never *exposed*: no `DerefMut`, and none of the guard's own
//!   writes needed more than the spare capacity (`PooledBuf::writable`).
//!   The storage is then the allocation the pool handed out, which kept the
//!   invariants, and only its length changed.
//! - An exposed guard's buffer that still holds its storage as a fresh
//!   buffer of its tier does is proved exact by two compares
//!   ([`exact_as_fresh`], `layout.rs`), inlined beside the pristine test.
//! - Every other buffer goes through [`normalise`], which finds the real
//!   allocation through `bytes`' public API and never trusts the view.
//!   `try_reclaim(n)` alone cannot: it reports success without a look at the
//!   storage when the view already has room, and on unique storage with room
//!   past the view it only raises `capacity()` to `n` (`bytes`'
//!   `reserve_inner`), so capacity after it is a lower bound.
//! - A buffer that passes is admitted in one call, `registry::admit`, for
//!   every path (a return, fast or not; an adopted buffer): its inlined
//!   prefix is the fast return, and the budget, the counters and the store
//!   are the cache's (`Cache::admit`). [`prefill`] adds new buffers to a
//!   depot under the same budget.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::buffer::{Origin, Pooled};
use crate::cache::{Admitted, Entry};
use crate::config::{Config, Fit};
use crate::debug::{Chaos, TestModes};
use crate::engine::Engine;
use crate::registry;
use crate::stats::Event;

/// Ends a guard: pools its buffer or discards it, and counts which; a
/// charged guard's `charge` (0: none) is settled where the return ends. A
/// charged guard is never pristine.
///
/// Inlined into the guard's drop are both cheap proofs that the buffer is
/// still the one the pool handed out: pristine, or exact by
/// [`exact_as_fresh`]. An uncharged one of a pool that does not scrub then
/// takes the same straight-line push; only what needs more calls out.
#[inline]
pub(crate) fn give_back(engine: &Engine, origin: Origin, buf: Pooled, pristine: bool, charge: u32) {
    debug_assert!(!pristine || charge == 0, "a charged guard is never pristine");
    if pristine {
        return pool_as_handed_out(engine, origin.known_tier(), buf);
    }
    match exact_as_fresh(engine, origin, &buf) {
        Some(from) if charge == 0 && !engine.config().scrub_on_return => pool_as_handed_out(engine, from, buf),
        Some(from) => give_back_exact(engine, from, buf, charge),
        None => give_back_checked(engine, origin, buf, charge),
    }
}

/// Pools, uncharged and unscrubbed, a buffer of tier `from` known to be as
/// the pool handed it out but for its length.
#[inline(always)]
fn pool_as_handed_out(engine: &Engine, from: usize, mut buf: Pooled) {
    buf.clear();
    registry::admit(engine, Entry::Return { from }, from, buf, true);
}

/// The tier of a returned buffer that holds its storage as a fresh buffer
/// of the tier it left does (`layout.rs`): standard, alone, whole from
/// offset 0, so exact without the probes. `None` sends the return to the
/// full check.
#[inline(always)]
fn exact_as_fresh(engine: &Engine, origin: Origin, buf: &Pooled) -> Option<usize> {
    let from = origin.plain_tier()?;
    (buf.capacity() == engine.config().size(from) && engine.is_fresh(from, buf)).then_some(from)
}

/// An exact return that is charged, or of a pool that scrubs. The common
/// return of such pools, yet `#[cold]`: without it the compiler lays the
/// guard's drop out around this call, and the uncharged exact return loses
/// its straight line (`scripts/callgrind.sh` shows it).
#[cold]
#[inline(never)]
fn give_back_exact(engine: &Engine, from: usize, mut buf: Pooled, charge: u32) {
    buf.clear();
    scrub(engine.config(), &mut buf);
    admit_returned(engine, from, from, buf, true, charge);
}

/// Every return that neither pristine nor [`exact_as_fresh`] proves: a
/// grown, split or shared buffer, an oversize one, or one of a pool in a
/// test mode. A buffer grown by `read_buf` is common enough that this is
/// not `#[cold]`.
#[inline(never)]
fn give_back_checked(engine: &Engine, origin: Origin, buf: Pooled, charge: u32) {
    checked(engine, origin, buf, charge);
}

#[inline(always)]
fn checked(engine: &Engine, origin: Origin, buf: Pooled, charge: u32) {
    match origin.plain_tier() {
        Some(from) => check_and_admit(engine, from, buf, charge),
        None => give_back_unusual(engine, origin, buf, charge),
    }
}

/// Pools the buffer of a guard of tier `from` with `charge` (0: none) in
/// `tier`.
#[inline(always)]
fn admit_returned(engine: &Engine, from: usize, tier: usize, buf: Pooled, standard: bool, charge: u32) {
    match charge {
        0 => registry::admit(engine, Entry::Return { from }, tier, buf, standard),
        charge => registry::admit_charged(engine, Entry::Return { from }, tier, buf, charge),
    };
}

/// Normalises a returned buffer, then pools it or discards it. Most checked
/// returns come back standard, in the tier they left: for those `registry::admit`
/// is inlined with its decision already known.
#[inline(always)]
fn check_and_admit(engine: &Engine, from: usize, mut buf: Pooled, charge: u32) {
    let config = engine.config();
    match normalise(&mut buf) {
        Ok(capacity) if capacity == config.size(from) => {
            scrub(config, &mut buf);
            admit_returned(engine, from, from, buf, true, charge);
        }
        Ok(capacity) => admit_retiered(engine, from, buf, capacity, charge),
        Err(reason) => discard(engine, from, buf, reason, charge),
    }
}

/// A checked return that is not standard in the tier it left: pooled in the
/// tier of its real allocation, or discarded.
#[cold]
fn admit_retiered(engine: &Engine, from: usize, mut buf: Pooled, capacity: usize, charge: u32) {
    let config = engine.config();
    match tier_of(config, capacity) {
        Ok(tier) => {
            scrub(config, &mut buf);
            admit_returned(engine, from, tier, buf, capacity == config.size(tier), charge);
        }
        Err(reason) => discard(engine, from, buf, reason, charge),
    }
}

/// Drops a returned buffer that cannot be pooled, and counts why.
#[cold]
fn discard(engine: &Engine, from: usize, buf: Pooled, reason: Event, charge: u32) {
    drop(buf);
    registry::end(engine, Origin::tier(from), reason, charge);
}

/// The returns of oversize guards, and of guards of a pool in a test mode.
#[cold]
fn give_back_unusual(engine: &Engine, origin: Origin, buf: Pooled, charge: u32) {
    if let Some(modes) = engine.test_modes() {
        modes.ended(&buf);
    }
    let Some(from) = origin.tier_index() else {
        drop(buf); // oversize: never pooled
        return registry::end(engine, origin, Event::AboveCeiling, charge);
    };
    if engine.test_modes().and_then(TestModes::chaos).is_some_and(Chaos::drop_return) {
        drop(buf);
        return registry::end(engine, origin, Event::Chaos, charge);
    }
    check_and_admit(engine, from, buf, charge);
}

/// Adopts a buffer from outside the pool (`BufPool::put`): the checked
/// return without a guard. Returns the tier it was pooled in, or why not.
pub(crate) fn adopt(engine: &Engine, mut buf: Pooled) -> Result<usize, Event> {
    let config = engine.config();
    let tier = match normalise(&mut buf).and_then(|capacity| tier_of(config, capacity)) {
        Ok(tier) => tier,
        Err(reason) => {
            drop(buf);
            registry::end(engine, Origin::FOREIGN, reason, 0);
            return Err(reason);
        }
    };
    scrub(config, &mut buf);
    let standard = buf.capacity() == config.size(tier);
    match registry::admit(engine, Entry::Adopt, tier, buf, standard) {
        Admitted::Pooled => Ok(tier),
        Admitted::OverBudget => Err(Event::OverBudget),
        Admitted::Full => Err(Event::GlobalFull),
    }
}

/// `BufPool::prefill`: up to `count` new buffers of `tier`, straight into
/// its depot (a thread cache is for what this thread returns). Each is paid
/// for before it is made, and only as many are made as the depot has room
/// for, so nothing is allocated only to be dropped. Returns how many.
pub(crate) fn prefill(engine: &Engine, tier: usize, count: usize) -> usize {
    let size = engine.config().size(tier);
    let paid = (0..count).take_while(|_| engine.spend_direct(size)).count();
    let added = engine.depot(tier).fill(paid, || Box::new(BytesMut::with_capacity(size)));
    engine.refund_direct((paid - added) * size);
    engine.count_common(Origin::tier(tier), Event::Prefilled, added as u64);
    added
}

/// With `scrub_on_return`, zeroes the whole capacity of a buffer about to be
/// pooled. Its view is its whole allocation by then (pristine, or
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
///    from (`advance(1)`, after writing a byte if empty), then clear it and
///    ask `try_reclaim` for
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
#[inline]
pub(crate) fn normalise(buf: &mut BytesMut) -> Result<usize, Event> {
    let probe = if buf.capacity() == 0 {
        1
    } else {
        if buf.is_empty() {
            buf.put_u8(0);
        }
        buf.advance(1);
        buf.clear();
        buf.capacity() + 1
    };
    let before = buf.as_ptr().addr();
    if !buf.try_reclaim(probe) {
        return Err(Event::Shared);
    }
    if buf.as_ptr().addr() < before {
        return Ok(buf.capacity()); // moved back to the start: the view is whole
    }
    Ok(measure_hidden(buf))
}

/// Step 3 of [`normalise`]: the allocation of unique storage with room
/// hidden past its view.
#[cold]
fn measure_hidden(buf: &mut BytesMut) -> usize {
    let storage = Vec::from(core::mem::take(buf)); // unique: no copy
    let capacity = storage.capacity();
    *buf = BytesMut::from(Bytes::from(storage));
    debug_assert_eq!((buf.len(), buf.capacity()), (0, capacity));
    capacity
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Builder;

    fn config() -> Config {
        Builder::new().validate().unwrap()
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
