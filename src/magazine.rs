//! A thread's cache for one tier: a *magazine*, after Bonwick & Adams, a LIFO
//! stack of pooled buffers with a fixed capacity.
//!
//! Standard buffers (capacity exactly the tier's size) and odd-sized ones
//! (grown within the ceiling, or re-tiered) are kept on two stacks. The hot
//! path only pops and pushes standard buffers, so it never reads a capacity,
//! and the bytes a magazine holds follow from its length, plus `extra`, the
//! bytes above the tier's size of its odd buffers, which only slow paths
//! move.
//!
//! Batches cross to the global level (`depot.rs`), and only the magazine
//! moves them: a full magazine spills its colder half (the bottom of the
//! stacks), an empty one refills one batch. DPDK's mempool cache moved to the
//! same half-flush policy to cut its miss rate. A full magazine that gave
//! nothing out since its last spill or refill, the consumer's side of a
//! hand-off, spills all of itself as one batch instead: it keeps nothing that
//! a get would use, and a pipeline's buffers cross the global level half as
//! often (docs/benchmarks.md, *Hand-off*).
//!
//! The magazine owns its state and counts its own moves (pops, pushes,
//! refills, spills, releases) in its thread's counters for the tier.

use crate::buffer::{self, Pooled};
use crate::depot::Depot;
use crate::stats::{Event, TierCells};
use crate::sync::Arc;

/// One tier's cache in one thread.
///
/// Invariants:
/// - `standard.len() + odd.len() <= cap`, and `standard_room == cap -
///   odd.len()`, so the fast push compares one length with one field;
/// - both stacks were allocated with capacity `cap` and never grow (no
///   allocation on the hot path);
/// - every buffer in `standard` has capacity `size`; every buffer in `odd`
///   another capacity, and `extra` is the sum of (capacity − `size`) over
///   `odd`;
/// - `low_*` is the fewest buffers its stack held since the last decay
///   epoch, so the bottom `low_*` buffers went untouched all that time;
/// - every buffer keeps the pooled-buffer invariants (`buffer.rs`).
#[derive(Debug)]
pub(crate) struct Magazine {
    standard: Vec<Pooled>,
    odd: Vec<Pooled>,
    standard_room: usize,
    cap: usize,
    size: usize,
    extra: usize,
    low_standard: usize,
    low_odd: usize,
    /// Buffers moved per spill of a magazine that also gives out: its half.
    half: usize,
    /// The pops `cells` had counted at the last spill or refill: the same
    /// count at a spill means nothing was given out since.
    pops_seen: u64,
    /// This thread's counters for this tier: the magazine counts its own
    /// moves in them, and its owner (`cache.rs`) the tier's other events.
    cells: Arc<TierCells>,
}

/// Buffers a store could not keep because the depot was full, and their
/// bytes; `stored`: the buffer given to the store is not among them (only
/// colder ones spilled to make room were dropped).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Dropped {
    pub(crate) buffers: u64,
    pub(crate) bytes: usize,
    pub(crate) stored: bool,
}

impl Dropped {
    pub(crate) const NONE: Dropped = Dropped { buffers: 0, bytes: 0, stored: true };

    /// Pushes `buf` straight into `depot`, which drops it if full.
    pub(crate) fn pushed(buf: Pooled, depot: &Depot) -> Dropped {
        let bytes = buf.capacity();
        if depot.push(buf) { Dropped::NONE } else { Dropped { buffers: 1, bytes, stored: false } }
    }
}

/// Buffers leaving a magazine in a batch, and what they weigh.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Moved {
    pub(crate) buffers: usize,
    pub(crate) bytes: usize,
    /// Bytes above the tier's size.
    pub(crate) extra: usize,
}

impl Magazine {
    /// An empty magazine for `cap` buffers of a tier of `size` bytes, whose
    /// usual spill is `half` of them.
    pub(crate) fn new(cap: usize, size: usize, half: usize, cells: Arc<TierCells>) -> Self {
        Self {
            standard: Vec::with_capacity(cap),
            odd: Vec::with_capacity(cap),
            standard_room: cap,
            cap,
            size,
            extra: 0,
            low_standard: 0,
            low_odd: 0,
            half: half.clamp(1, cap.max(1)),
            pops_seen: 0,
            cells,
        }
    }

    /// How many buffers it may hold; 0 for a tier without a thread cache.
    pub(crate) fn cap(&self) -> usize {
        self.cap
    }

    /// The tier's size: every standard buffer's capacity.
    #[inline]
    pub(crate) fn size(&self) -> usize {
        self.size
    }

    /// Whether [`push_standard`](Self::push_standard) would keep a buffer.
    #[inline]
    pub(crate) fn has_standard_room(&self) -> bool {
        self.standard.len() < self.standard_room
    }

    /// A cache hit on the fast path: the hottest standard buffer, and the
    /// thread's fast hits in this tier so far.
    #[inline]
    pub(crate) fn pop_hit(&mut self) -> Option<(Pooled, u64)> {
        let buf = self.pop_standard()?;
        Some((buf, self.cells.bump(Event::FastPop, 1)))
    }

    /// A return on the fast path: keeps a standard buffer if there is room,
    /// else gives it back.
    #[inline]
    pub(crate) fn push_hit(&mut self, buf: Pooled) -> Result<(), Pooled> {
        self.push_standard(buf)?;
        self.cells.bump(Event::FastPush, 1);
        Ok(())
    }

    /// A get on a slow path: a standard buffer, else an odd-sized one, with
    /// whether it is standard; `None` if the magazine is empty.
    pub(crate) fn pop(&mut self) -> Option<(Pooled, bool)> {
        if let Some(buf) = self.pop_standard() {
            self.cells.bump(Event::SlowPop, 1);
            return Some((buf, true));
        }
        let (buf, extra) = self.pop_odd()?;
        self.cells.bump(Event::SlowPop, 1);
        self.cells.bump(Event::ExtraOut, extra as u64);
        Some((buf, false))
    }

    /// The get of an empty magazine: one batch from `depot`, whose first
    /// buffer is handed out (a global hit) and the rest kept (for a tier
    /// without a thread cache, one buffer); `None` if the depot is empty too.
    pub(crate) fn refill_from(&mut self, depot: &Depot) -> Option<(Pooled, bool)> {
        debug_assert!(self.standard.is_empty() && self.odd.is_empty());
        let size = self.size;
        if self.cap == 0 {
            let buf = depot.pop()?;
            self.cells.bump(Event::GlobalHit, 1);
            let standard = buf.capacity() == size;
            return Some((buf, standard));
        }
        let (first, moved) = depot.pop_batch(|mut bufs, extra| {
            let first = bufs.next();
            let rest = extra - first.as_ref().map_or(0, |b| buffer::extra(b, size));
            (first, self.refill(bufs, rest))
        })?;
        self.cells.bump(Event::Refilled, moved.buffers as u64);
        self.cells.bump(Event::ExtraIn, moved.extra as u64);
        let buf = first?;
        self.cells.bump(Event::GlobalHit, 1);
        let standard = buf.capacity() == size;
        Some((buf, standard))
    }

    /// Keeps any buffer of this tier on a slow path: if the magazine is full,
    /// spills a batch into `depot` first (a tier without a thread cache
    /// stores straight into `depot`). Says what the depot had no room for.
    pub(crate) fn store(&mut self, buf: Pooled, depot: &Depot) -> Dropped {
        if self.cap == 0 {
            return Dropped::pushed(buf, depot);
        }
        let mut dropped = Dropped::NONE;
        if self.is_full() {
            let mut batch = depot.batch_vec();
            let moved = self.spill_into(&mut batch);
            (dropped.buffers, dropped.bytes) = depot.push_vec(batch, moved.extra);
            self.cells.bump(Event::Spilled, moved.buffers as u64);
            self.cells.bump(Event::ExtraOut, moved.extra as u64);
        }
        let extra = self.push(buf);
        self.cells.bump(Event::SlowPush, 1);
        self.cells.bump(Event::ExtraIn, extra as u64);
        dropped
    }

    /// Drops every buffer (`Trimmed`), or those idle for a whole decay epoch
    /// (`Decayed`), and counts them so; returns their bytes.
    pub(crate) fn release(&mut self, event: Event) -> usize {
        let moved = match event {
            Event::Trimmed => self.drain_all().0,
            _ => self.drain_idle().0,
        };
        self.cells.bump(event, moved.buffers as u64);
        self.cells.bump(Event::ExtraOut, moved.extra as u64);
        moved.bytes
    }

    /// Moves every buffer to `depot` when its thread exits; returns what
    /// moved, and the buffers the depot had no room for and their bytes.
    /// Counted by the caller in the pool's common block (the thread's own
    /// block goes to the next thread with its id).
    pub(crate) fn flush_into(&mut self, depot: &Depot) -> (Moved, (u64, usize)) {
        let (moved, bufs) = self.drain_all();
        (moved, depot.push_batch(bufs))
    }

    /// Pops the hottest standard buffer.
    #[inline]
    fn pop_standard(&mut self) -> Option<Pooled> {
        let buf = self.standard.pop()?;
        if self.standard.len() < self.low_standard {
            self.low_standard = self.standard.len();
        }
        Some(buf)
    }

    /// Pushes a standard buffer if there is room, else gives it back.
    #[inline]
    fn push_standard(&mut self, buf: Pooled) -> Result<(), Pooled> {
        // The second test always holds (`standard_room <= cap`, the
        // capacity it was allocated with); it lets LLVM drop `push`'s
        // growth path, whose call made the inlined return save registers.
        if self.standard.len() < self.standard_room && self.standard.len() < self.standard.capacity() {
            debug_assert_eq!(buf.capacity(), self.size);
            self.standard.push(buf);
            Ok(())
        } else {
            Err(buf)
        }
    }

    /// Pops an odd-sized buffer, if any; returns it with its bytes above the
    /// tier's size.
    fn pop_odd(&mut self) -> Option<(Pooled, usize)> {
        let buf = self.odd.pop()?;
        self.low_odd = self.low_odd.min(self.odd.len());
        self.standard_room += 1;
        let extra = buffer::extra(&buf, self.size);
        self.extra -= extra;
        Some((buf, extra))
    }

    /// Whether a push must spill first.
    pub(crate) fn is_full(&self) -> bool {
        self.standard.len() + self.odd.len() == self.cap
    }

    /// Pushes any buffer of this tier into a magazine that is not full;
    /// returns its bytes above the tier's size.
    fn push(&mut self, buf: Pooled) -> usize {
        debug_assert!(!self.is_full(), "a push into a full magazine would allocate");
        let extra = buffer::extra(&buf, self.size);
        if extra == 0 {
            self.standard.push(buf);
        } else {
            self.extra += extra;
            self.odd.push(buf);
            self.standard_room -= 1;
        }
        extra
    }

    /// Moves buffers into `out` for the global level, the bottom of the
    /// standard stack first, then of the odd one: the colder half (`batch`)
    /// if the magazine gave buffers out since its last spill or refill, so
    /// the hot half stays for the gets that follow; otherwise all of them,
    /// as one batch. The pointers move as blocks; no buffer is read.
    fn spill_into(&mut self, out: &mut Vec<Pooled>) -> Moved {
        let pops = self.pops();
        let most = if pops != self.pops_seen { self.half } else { self.cap };
        self.pops_seen = pops;
        let n = most.min(self.standard.len());
        let k = (most - n).min(self.odd.len());
        let moved = self.account_bottom(n, k);
        out.extend(self.standard.drain(..n));
        out.extend(self.odd.drain(..k));
        moved
    }

    /// The pops counted in `cells` so far.
    fn pops(&self) -> u64 {
        let skipped = self.cells.get(Event::Skipped);
        self.cells.get(Event::FastPop).wrapping_add(self.cells.get(Event::SlowPop)).wrapping_sub(skipped)
    }

    /// Moves the fast-hit count on by `n` hits that did not happen (counted
    /// in `Skipped` too, which every sum subtracts), so that the owner's
    /// next check comes `n` hits early.
    pub(crate) fn skip(&mut self, n: u64) {
        self.cells.bump(Event::FastPop, n);
        self.cells.bump(Event::Skipped, n);
    }

    /// Takes in one batch from the global level, which must fit, whose
    /// buffers hold `extra` bytes above the tier's size; returns what came
    /// in. A batch of standard buffers (`extra == 0`) moves as a block.
    fn refill(&mut self, batch: std::vec::Drain<'_, Pooled>, extra: usize) -> Moved {
        debug_assert!(self.standard.len() + self.odd.len() + batch.len() <= self.cap);
        self.pops_seen = self.pops();
        if extra == 0 {
            let buffers = batch.len();
            self.standard.extend(batch);
            return Moved { buffers, bytes: buffers * self.size, extra: 0 };
        }
        let mut moved = Moved::default();
        for buf in batch {
            moved.buffers += 1;
            moved.bytes += buf.capacity();
            moved.extra += self.push(buf);
        }
        moved
    }

    /// Takes out every buffer (thread exit, `trim`).
    fn drain_all(&mut self) -> (Moved, impl Iterator<Item = Pooled> + '_) {
        self.take_bottom(self.standard.len(), self.odd.len())
    }

    /// Ends a decay epoch: takes out the buffers that stayed at the bottom of
    /// each stack all epoch long, and starts the next epoch's marks.
    fn drain_idle(&mut self) -> (Moved, impl Iterator<Item = Pooled> + '_) {
        let (n, k) = (self.low_standard, self.low_odd);
        // `take_bottom` lowers the marks by what it takes: what stays is the
        // next epoch's starting level.
        self.low_standard = self.standard.len();
        self.low_odd = self.odd.len();
        self.take_bottom(n, k)
    }

    /// Takes out the bottom `n` standard and `k` odd buffers. The bottom is
    /// where the idle ones are, so the low-water marks drop by as many.
    fn take_bottom(&mut self, n: usize, k: usize) -> (Moved, impl Iterator<Item = Pooled> + '_) {
        let moved = self.account_bottom(n, k);
        (moved, self.standard.drain(..n).chain(self.odd.drain(..k)))
    }

    /// The bookkeeping of taking out the bottom `n` standard and `k` odd
    /// buffers, which the caller then drains; returns what they weigh.
    fn account_bottom(&mut self, n: usize, k: usize) -> Moved {
        let extra: usize = self.odd[..k].iter().map(|b| buffer::extra(b, self.size)).sum();
        self.extra -= extra;
        self.standard_room += k;
        self.low_standard = self.low_standard.saturating_sub(n);
        self.low_odd = self.low_odd.saturating_sub(k);
        Moved { buffers: n + k, bytes: (n + k) * self.size + extra, extra }
    }

    /// Buffers held.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.standard.len() + self.odd.len()
    }
}

#[cfg(test)]
mod tests {
    use bytes::BytesMut;

    use super::*;

    fn buf(capacity: usize) -> Pooled {
        Box::new(BytesMut::with_capacity(capacity))
    }

    fn magazine(cap: usize) -> Magazine {
        Magazine::new(cap, 100, cap.div_ceil(2), Arc::default())
    }

    #[test]
    fn standard_buffers_pop_in_lifo_order_and_the_fast_push_stops_at_capacity() {
        let mut m = magazine(2);
        let (a, b) = (buf(100), buf(100));
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        assert!(m.push_standard(a).is_ok());
        assert!(m.push_standard(b).is_ok());
        assert!(m.push_standard(buf(100)).is_err(), "full");
        assert_eq!(m.pop_standard().unwrap().as_ptr(), pb);
        assert_eq!(m.pop_standard().unwrap().as_ptr(), pa);
        assert!(m.pop_standard().is_none());
    }

    #[test]
    fn odd_buffers_take_room_from_the_standard_stack_and_count_their_extra() {
        let mut m = magazine(3);
        assert_eq!(m.push(buf(150)), 50);
        assert_eq!(m.push(buf(100)), 0);
        assert_eq!(m.extra, 50);
        assert!(m.push_standard(buf(100)).is_ok());
        assert!(m.push_standard(buf(100)).is_err(), "3 of 3, one of them odd");
        assert!(m.is_full());
        let (odd, extra) = m.pop_odd().unwrap();
        assert_eq!((odd.capacity(), extra, m.extra), (150, 50, 0));
        assert!(m.push_standard(buf(100)).is_ok(), "the odd one's room is back");
    }

    /// A pop as the fast path counts it.
    fn counted_pop(m: &Magazine) {
        m.cells.bump(Event::FastPop, 1);
    }

    #[test]
    fn a_spill_takes_the_coldest_batch_and_keeps_the_hot_half() {
        let mut m = magazine(4);
        let bufs: Vec<Pooled> = (0..4).map(|_| buf(100)).collect();
        let ptrs: Vec<_> = bufs.iter().map(|b| b.as_ptr()).collect();
        for b in bufs {
            m.push_standard(b).unwrap();
        }
        counted_pop(&m); // it gave a buffer out since its last move
        let mut out = Vec::new();
        let moved = m.spill_into(&mut out);
        let out: Vec<_> = out.iter().map(|b| b.as_ptr()).collect();
        assert_eq!(moved, Moved { buffers: 2, bytes: 200, extra: 0 });
        assert_eq!(out, ptrs[..2], "the two pushed first");
        assert_eq!(m.pop_standard().unwrap().as_ptr(), ptrs[3]);
    }

    #[test]
    fn a_spill_short_of_standard_buffers_takes_odd_ones() {
        let mut m = magazine(4);
        m.push(buf(100));
        m.push(buf(130));
        m.push(buf(120));
        counted_pop(&m);
        let mut out = Vec::new();
        assert_eq!(m.spill_into(&mut out), Moved { buffers: 2, bytes: 230, extra: 30 });
        assert_eq!(out.iter().map(|b| b.capacity()).collect::<Vec<_>>(), [100, 130], "standard first");
        assert_eq!((m.len(), m.extra), (1, 20));
    }

    #[test]
    fn a_magazine_that_gave_nothing_out_since_its_last_move_spills_all_of_itself() {
        let mut m = magazine(4);
        for _ in 0..4 {
            m.push(buf(100));
        }
        let mut out = Vec::new();
        assert_eq!(m.spill_into(&mut out).buffers, 4, "a consumer's cache: all of it, as one batch");
        assert_eq!(m.len(), 0);
        // Refilled, then given out from: the next spill keeps the hot half.
        m.refill(out.drain(..), 0);
        counted_pop(&m);
        assert_eq!(m.spill_into(&mut out).buffers, 2);
        // Nothing given out since that spill: all of it again.
        m.push(buf(100));
        assert_eq!(m.spill_into(&mut out).buffers, 3);
        // A refill starts the interval too: gave out until empty, refilled,
        // then only took in.
        m.push(buf(100));
        m.pop_standard().unwrap();
        counted_pop(&m);
        m.refill(out.drain(..3), 0);
        m.push(buf(100));
        assert_eq!(m.spill_into(&mut out).buffers, 4, "given nothing out since its refill");
    }

    #[test]
    fn refill_sorts_buffers_by_size() {
        let mut m = magazine(4);
        let moved = m.refill(vec![buf(100), buf(140), buf(100)].drain(..), 40);
        assert_eq!(moved, Moved { buffers: 3, bytes: 340, extra: 40 });
        assert_eq!((m.standard.len(), m.odd.len(), m.extra), (2, 1, 40));
        let moved = m.refill(vec![buf(100)].drain(..), 0);
        assert_eq!(moved, Moved { buffers: 1, bytes: 100, extra: 0 });
        assert_eq!((m.standard.len(), m.odd.len(), m.extra), (3, 1, 40));
    }

    #[test]
    fn decay_takes_what_stayed_below_the_low_water_mark() {
        let mut m = magazine(4);
        for _ in 0..4 {
            m.push_standard(buf(100)).unwrap();
        }
        assert_eq!(m.drain_idle().0.buffers, 0, "the first epoch has no marks yet");
        let hot = m.pop_standard().unwrap();
        let warm = m.pop_standard().unwrap();
        m.push_standard(warm).unwrap();
        m.push_standard(hot).unwrap();
        // Two stayed at the bottom all epoch long.
        assert_eq!(m.drain_idle().0, Moved { buffers: 2, bytes: 200, extra: 0 });
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn drain_all_empties_both_stacks() {
        let mut m = magazine(4);
        m.push(buf(100));
        m.push(buf(170));
        assert_eq!(m.drain_all().0, Moved { buffers: 2, bytes: 270, extra: 70 });
        assert_eq!((m.len(), m.extra, m.standard_room), (0, 0, 4));
    }
}
