//! The global level: one bounded depot of buffers per tier, shared by all
//! threads.
//!
//! Thread caches reach this level only in batches: a spill moves the colder
//! half of a full magazine (all of one that gave nothing out, see
//! `magazine.rs`), a refill brings back one batch. As in Bonwick and
//! Adams' magazine depot, a batch crosses as **one unit**: the buffers travel
//! in a `Vec` that is pushed onto, or popped from, a
//! `crossbeam_queue::ArrayQueue` with a single compare-and-swap, instead of
//! one per buffer (notes/benchmarks-notebook.md, *Engine history*).
//!
//! The batch vectors themselves are recycled through a second queue of
//! spares, so once warm a spill or refill allocates nothing. Both queues
//! allocate their slots up front. A push that would take the depot over its
//! buffer limit hands the excess back, which is exactly "drop it and count
//! it".
//!
//! Each batch carries its `extra`, the bytes its buffers hold above the
//! tier's size, so neither a spill nor a refill reads a buffer's capacity:
//! a batch of standard buffers (`extra == 0`) moves as a block of pointers.

use crossbeam_queue::ArrayQueue;

use crate::buffer::{self, Pooled};
use crate::sync::{AtomicUsize, Ordering::Relaxed};

/// The global depot of one tier.
///
/// Invariants:
/// - every buffer in `full` keeps the pooled-buffer invariants
///   (`buffer.rs`) for this tier;
/// - every batch in `full` holds between 1 and `largest` buffers, oldest batch
///   at the head;
/// - `buffers <= limit`, and `buffers` and `extra` never under-count what
///   `full` holds (they are raised before a batch becomes visible and lowered
///   after it is taken).
#[derive(Debug)]
pub(crate) struct Depot {
    full: ArrayQueue<Batch>,
    /// Empty vectors of capacity `largest`, for the next spill.
    spare: ArrayQueue<Vec<Pooled>>,
    /// The most buffers one batch holds: a whole thread cache.
    largest: usize,
    /// The tier's size: every buffer's capacity is this, plus its share of
    /// its batch's `extra`.
    size: usize,
    /// Most buffers the depot holds (`global_queue` for the tier).
    limit: usize,
    buffers: AtomicUsize,
    /// Bytes the buffers in `full` hold above the tier's size: their real
    /// capacity is `buffers × size + extra`, so a batch of standard buffers
    /// crosses without touching this word.
    extra: AtomicUsize,
    /// Buffers held at the start of the current decay epoch.
    epoch_len: AtomicUsize,
    /// Buffers taken since the start of the current decay epoch. Batches
    /// leave in FIFO order, so the `epoch_len - popped` buffers at the head
    /// were there all epoch long and never handed out: the idle ones.
    epoch_popped: AtomicUsize,
}

/// Buffers that cross as one unit, and the bytes they hold above the tier's
/// size (the sum of `buffer::extra`).
#[derive(Debug)]
struct Batch {
    bufs: Vec<Pooled>,
    extra: usize,
}

impl Depot {
    /// A depot for at most `limit` buffers (at least 1) of a tier of `size`
    /// bytes, moved in batches of up to `largest` (a whole thread cache),
    /// most of them of `half` (half of one): it keeps spare vectors for a
    /// full depot of those.
    pub(crate) fn new(limit: usize, half: usize, largest: usize, size: usize) -> Self {
        let limit = limit.max(1);
        let largest = largest.clamp(1, limit);
        Self {
            full: ArrayQueue::new(limit),
            spare: ArrayQueue::new(limit.div_ceil(half.clamp(1, largest))),
            largest,
            size,
            limit,
            buffers: AtomicUsize::new(0),
            extra: AtomicUsize::new(0),
            epoch_len: AtomicUsize::new(0),
            epoch_popped: AtomicUsize::new(0),
        }
    }

    /// An empty batch vector for a spill ([`push_vec`](Self::push_vec)): a
    /// spare, or a new one once the spares run out.
    pub(crate) fn batch_vec(&self) -> Vec<Pooled> {
        self.spare.pop().unwrap_or_else(|| Vec::with_capacity(self.largest))
    }

    /// Pushes one spill, `bufs`, whose buffers hold `extra` bytes above the
    /// tier's size, as one batch; returns how many were dropped because the
    /// depot was full, and their bytes. Reads no buffer's capacity unless
    /// some are dropped.
    pub(crate) fn push_vec(&self, mut bufs: Vec<Pooled>, extra: usize) -> (u64, usize) {
        if bufs.len() > self.largest {
            // A depot whose limit is below the thread cache's size.
            let dropped = self.push_batch(bufs.drain(..));
            self.recycle(bufs);
            return dropped;
        }
        let room = self.reserve(bufs.len());
        let (mut dropped, mut dropped_bytes, mut extra) = (0, 0, extra);
        for buf in bufs.drain(room..) {
            extra -= buffer::extra(&buf, self.size);
            dropped += 1;
            dropped_bytes += buf.capacity();
        }
        let (d, b) = self.enqueue(Batch { bufs, extra });
        (dropped + d, dropped_bytes + b)
    }

    /// Pushes every buffer of `bufs` in batches of up to `largest`, in order;
    /// returns how many were dropped because the depot was full, and their
    /// bytes. The general push, for the cold paths (thread exit, a thread
    /// without a cache): it reads every buffer's capacity.
    pub(crate) fn push_batch(&self, bufs: impl Iterator<Item = Pooled>) -> (u64, usize) {
        let (mut dropped, mut dropped_bytes) = (0, 0);
        let mut bufs = bufs.peekable();
        while bufs.peek().is_some() {
            let mut batch = self.batch_vec();
            batch.extend(bufs.by_ref().take(self.largest));
            let room = self.reserve(batch.len());
            for buf in batch.drain(room..) {
                dropped += 1;
                dropped_bytes += buf.capacity();
            }
            let extra = batch.iter().map(|b| buffer::extra(b, self.size)).sum();
            let (d, b) = self.enqueue(Batch { bufs: batch, extra });
            dropped += d;
            dropped_bytes += b;
        }
        (dropped, dropped_bytes)
    }

    /// Adds up to `n` new buffers made by `make`, in batches, and makes only
    /// as many as the depot has room for, so none is made only to be
    /// dropped. Each must be standard for the tier. Returns how many it
    /// added.
    pub(crate) fn fill(&self, n: usize, mut make: impl FnMut() -> Pooled) -> usize {
        let room = self.reserve(n);
        let (mut left, mut lost) = (room, 0);
        while left > 0 {
            let mut bufs = self.batch_vec();
            let k = left.min(self.largest);
            bufs.extend((0..k).map(|_| make()));
            debug_assert!(bufs.iter().all(|b| b.capacity() == self.size));
            left -= k;
            lost += self.enqueue(Batch { bufs, extra: 0 }).0 as usize;
        }
        room - lost
    }

    /// Makes a batch whose buffers `reserve` already counted visible (an
    /// empty one is recycled); returns how many buffers could not go in, and
    /// their bytes.
    fn enqueue(&self, batch: Batch) -> (u64, usize) {
        if batch.bufs.is_empty() {
            self.recycle(batch.bufs);
            return (0, 0);
        }
        if batch.extra > 0 {
            self.extra.fetch_add(batch.extra, Relaxed);
        }
        if let Err(Batch { bufs: mut batch, extra }) = self.full.push(batch) {
            // Unreachable while `buffers <= limit` = the queue's capacity,
            // but handled: the buffers are dropped and counted.
            let (n, bytes) = (batch.len(), batch.len() * self.size + extra);
            self.buffers.fetch_sub(n, Relaxed);
            self.extra.fetch_sub(extra, Relaxed);
            batch.clear();
            self.recycle(batch);
            return (n as u64, bytes);
        }
        (0, 0)
    }

    /// Pushes one buffer; returns `false` (and drops it) if the depot is full.
    pub(crate) fn push(&self, buf: Pooled) -> bool {
        self.push_batch(core::iter::once(buf)).0 == 0
    }

    /// Pops one buffer. A batch that holds more goes back to the tail.
    pub(crate) fn pop(&self) -> Option<Pooled> {
        let mut batch = self.full.pop()?;
        let buf = batch.bufs.pop().expect("batches in the depot are never empty");
        let extra = buffer::extra(&buf, self.size);
        batch.extra -= extra;
        self.taken(1, extra);
        if !batch.bufs.is_empty() {
            // Still counted in `buffers`, so the queue has room for it.
            if let Err(rest) = self.full.push(batch) {
                self.discard(rest);
            }
        } else {
            self.recycle(batch.bufs);
        }
        Some(buf)
    }

    /// Takes one batch (up to `batch` buffers) and hands its buffers, with
    /// the bytes they hold above the tier's size, to `take`; `None` if the
    /// depot is empty.
    pub(crate) fn pop_batch<R>(&self, take: impl FnOnce(std::vec::Drain<'_, Pooled>, usize) -> R) -> Option<R> {
        let Batch { bufs: mut batch, extra } = self.full.pop()?;
        self.taken(batch.len(), extra);
        let r = take(batch.drain(..), extra);
        batch.clear(); // whatever `take` left is dropped
        self.recycle(batch);
        Some(r)
    }

    /// Drops every buffer; returns how many, and their bytes.
    pub(crate) fn drain(&self) -> (u64, usize) {
        self.drop_head(usize::MAX)
    }

    /// Ends a decay epoch: drops the buffers that sat at the head all epoch
    /// long; returns how many, and their bytes. Concurrent pushes and pops
    /// make the count approximate by the few batches in flight, never by a
    /// whole epoch's worth.
    pub(crate) fn reap(&self) -> (u64, usize) {
        let idle = self.epoch_len.load(Relaxed).saturating_sub(self.epoch_popped.swap(0, Relaxed));
        let reaped = self.drop_head(idle);
        self.epoch_len.store(self.buffers.load(Relaxed), Relaxed);
        self.epoch_popped.store(0, Relaxed);
        reaped
    }

    /// Drops up to `max` buffers from the head (the oldest first). They count
    /// as taken, so a `trim` mid-epoch cannot make buffers pushed after it
    /// look idle.
    fn drop_head(&self, max: usize) -> (u64, usize) {
        let (mut n, mut bytes) = (0, 0);
        while n < max {
            let Some(mut batch) = self.full.pop() else { break };
            let k = batch.bufs.len().min(max - n);
            let dropped: usize = batch.bufs.drain(..k).map(|b| b.capacity()).sum();
            let extra = dropped - k * self.size;
            batch.extra -= extra;
            self.taken(k, extra);
            n += k;
            bytes += dropped;
            if batch.bufs.is_empty() {
                self.recycle(batch.bufs);
            } else if let Err(rest) = self.full.push(batch) {
                let (k, dropped) = self.discard(rest);
                n += k;
                bytes += dropped;
            }
        }
        (n as u64, bytes)
    }

    /// Buffers held and their bytes, for stats.
    pub(crate) fn level(&self) -> (usize, usize) {
        let buffers = self.buffers.load(Relaxed);
        (buffers, buffers * self.size + self.extra.load(Relaxed))
    }

    /// Reserves room for up to `n` more buffers under the limit; returns how
    /// many fit.
    fn reserve(&self, n: usize) -> usize {
        let mut room = 0;
        let _ = self.buffers.fetch_update(Relaxed, Relaxed, |held| {
            room = n.min(self.limit.saturating_sub(held));
            (room > 0).then_some(held + room)
        });
        room
    }

    /// Accounts for `n` buffers leaving the depot that held `extra` bytes
    /// above the tier's size.
    fn taken(&self, n: usize, extra: usize) {
        self.buffers.fetch_sub(n, Relaxed);
        if extra > 0 {
            self.extra.fetch_sub(extra, Relaxed);
        }
        self.epoch_popped.fetch_add(n, Relaxed);
    }

    /// Drops a batch that could not go back (a race with pushes filled the
    /// queue's slots); returns how many buffers, and their bytes.
    #[cold]
    fn discard(&self, batch: Batch) -> (usize, usize) {
        let Batch { bufs: mut batch, extra } = batch;
        let n = batch.len();
        let bytes = n * self.size + extra;
        batch.clear();
        self.taken(n, extra);
        self.recycle(batch);
        (n, bytes)
    }

    /// Keeps an empty batch vector for the next spill, unless there are
    /// enough spares already (then it is freed).
    fn recycle(&self, batch: Vec<Pooled>) {
        debug_assert!(batch.is_empty());
        if batch.capacity() >= self.largest {
            let _ = self.spare.push(batch);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new_pooled(capacity: usize) -> Pooled {
        crate::buffer::allocate(capacity, false).unwrap()
    }

    #[test]
    fn batches_keep_order_count_and_limit() {
        let depot = Depot::new(5, 2, 2, 16);
        let (dropped, bytes) = depot.push_batch((0..3).map(|_| new_pooled(16)));
        assert_eq!((dropped, bytes), (0, 0));
        assert_eq!(depot.level(), (3, 48));
        // Only 2 more fit under the limit of 5.
        let (dropped, bytes) = depot.push_batch((0..3).map(|_| new_pooled(32)));
        assert_eq!((dropped, bytes), (1, 32));
        assert_eq!(depot.level(), (5, 112));
        let into: Vec<Pooled> = depot.pop_batch(|b, _| b.collect()).unwrap();
        assert_eq!(into.len(), 2, "one batch of the first push");
        assert_eq!(depot.level(), (3, 80));
        assert!(depot.pop().is_some());
        assert_eq!(depot.level(), (2, 64));
        assert_eq!(depot.drain(), (2, 64));
        assert_eq!(depot.level(), (0, 0));
        assert!(depot.pop().is_none());
    }

    #[test]
    fn drop_head_splits_a_batch_and_keeps_the_rest() {
        let depot = Depot::new(8, 4, 4, 10);
        depot.push_batch((0..4).map(|_| new_pooled(10)));
        assert_eq!(depot.drop_head(3), (3, 30));
        assert_eq!(depot.level(), (1, 10));
        assert_eq!(depot.drain(), (1, 10));
    }

    #[test]
    fn a_spill_carries_its_extra_bytes_so_no_capacity_is_read_on_the_way() {
        let depot = Depot::new(3, 2, 2, 16);
        let spill = |bufs: &[usize], extra| {
            let mut batch = depot.batch_vec();
            batch.extend(bufs.iter().map(|&c| new_pooled(c)));
            depot.push_vec(batch, extra)
        };
        assert_eq!(spill(&[16, 24], 8), (0, 0));
        // One over the limit of 3: the last is dropped, and its 4 extra bytes
        // leave the batch's extra with it.
        assert_eq!(spill(&[16, 20], 4), (1, 20));
        assert_eq!(depot.level(), (3, 56));
        assert_eq!(depot.pop_batch(|b, extra| (b.count(), extra)), Some((2, 8)));
        assert_eq!(depot.pop_batch(|b, extra| (b.count(), extra)), Some((1, 0)));
        assert_eq!(depot.level(), (0, 0));
        // Longer than a batch (a depot limit below the cache's batch): split.
        assert_eq!(spill(&[16, 30, 16], 14), (0, 0));
        assert_eq!(depot.level(), (3, 62));
        assert_eq!(depot.pop().map(|b| b.capacity()), Some(30));
        assert_eq!(depot.level(), (2, 32));
        assert_eq!(
            depot.pop_batch(|b, extra| (b.count(), extra)),
            Some((1, 0)),
            "the popped buffer took its extra along"
        );
    }

    #[test]
    fn fill_makes_only_what_there_is_room_for() {
        let depot = Depot::new(5, 2, 2, 64);
        let mut made = 0;
        assert_eq!(
            depot.fill(3, || {
                made += 1;
                new_pooled(64)
            }),
            3
        );
        assert_eq!(
            depot.fill(10, || {
                made += 1;
                new_pooled(64)
            }),
            2
        );
        assert_eq!(
            depot.fill(1, || {
                made += 1;
                new_pooled(64)
            }),
            0
        );
        assert_eq!(made, 5, "nothing made to be dropped");
        assert_eq!(depot.level(), (5, 5 * 64));
        assert_eq!(depot.drain(), (5, 5 * 64));
    }

    #[test]
    fn spills_reuse_batch_vectors() {
        let depot = Depot::new(4, 2, 2, 8);
        depot.push_batch((0..2).map(|_| new_pooled(8)));
        let into: Vec<Pooled> = depot.pop_batch(|b, _| b.collect()).unwrap();
        assert_eq!(depot.spare.len(), 1, "the emptied batch vector is kept");
        depot.push_batch(into.into_iter());
        assert_eq!(depot.spare.len(), 0, "and taken by the next spill");
    }
}
