//! The global level: one bounded queue of buffers per tier, shared by all
//! threads.
//!
//! Thread caches reach this level only in batches (a spill or a refill moves
//! half a cache at a time), so its per-operation cost, a compare-and-swap on a
//! shared head or tail line of a `crossbeam_queue::ArrayQueue`, is amortised
//! over many gets and returns. `ArrayQueue` allocates its slots up front and
//! never allocates afterwards; a push that finds it full hands the buffer back,
//! which is exactly "drop it and count it".

use crossbeam_queue::ArrayQueue;

use crate::recycle::Pooled;
use crate::sync::{AtomicUsize, Ordering::Relaxed};

/// The global queue of one tier.
///
/// Invariant: every buffer in `queue` satisfies the pooled-buffer invariants
/// of `recycle` for this tier. A slot holds the buffer's box, one pointer.
#[derive(Debug)]
pub(crate) struct Depot {
    queue: ArrayQueue<Pooled>,
    /// Real capacity of the buffers in `queue`. Added before a push and
    /// subtracted after a pop, so it never under-counts what is queued.
    bytes: AtomicUsize,
    /// Queue length at the start of the current decay epoch.
    epoch_len: AtomicUsize,
    /// Buffers popped since the start of the current decay epoch. The queue
    /// is FIFO, so the `epoch_len - popped` buffers at its head were there
    /// all epoch long and never handed out: the idle ones.
    epoch_popped: AtomicUsize,
}

impl Depot {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            queue: ArrayQueue::new(capacity),
            bytes: AtomicUsize::new(0),
            epoch_len: AtomicUsize::new(0),
            epoch_popped: AtomicUsize::new(0),
        }
    }

    /// Pushes every buffer of `bufs`, in order; returns how many were dropped
    /// because the queue was full, and their bytes.
    pub(crate) fn push_batch(&self, bufs: impl Iterator<Item = Pooled>) -> (u64, usize) {
        let (mut dropped, mut bytes) = (0, 0);
        for buf in bufs {
            let cap = buf.capacity();
            if !self.push(buf) {
                dropped += 1;
                bytes += cap;
            }
        }
        (dropped, bytes)
    }

    /// Pushes one buffer; returns `false` (and drops it) if the queue is full.
    pub(crate) fn push(&self, buf: Pooled) -> bool {
        let cap = buf.capacity();
        self.bytes.fetch_add(cap, Relaxed);
        match self.queue.push(buf) {
            Ok(()) => true,
            Err(_full) => {
                self.bytes.fetch_sub(cap, Relaxed);
                false
            }
        }
    }

    /// Pops one buffer.
    pub(crate) fn pop(&self) -> Option<Pooled> {
        let buf = self.queue.pop()?;
        self.bytes.fetch_sub(buf.capacity(), Relaxed);
        self.epoch_popped.fetch_add(1, Relaxed);
        Some(buf)
    }

    /// Moves up to `max` buffers into `into`.
    pub(crate) fn pop_batch(&self, into: &mut Vec<Pooled>, max: usize) {
        let mut moved = 0;
        let mut bytes = 0;
        while moved < max {
            let Some(buf) = self.queue.pop() else { break };
            bytes += buf.capacity();
            into.push(buf);
            moved += 1;
        }
        if moved > 0 {
            self.bytes.fetch_sub(bytes, Relaxed);
            self.epoch_popped.fetch_add(moved, Relaxed);
        }
    }

    /// Drops every queued buffer; returns how many, and their bytes.
    pub(crate) fn drain(&self) -> (u64, usize) {
        self.drop_head(usize::MAX)
    }

    /// Ends a decay epoch: drops the buffers that sat at the head of the
    /// queue all epoch long; returns how many, and their bytes. Concurrent
    /// pushes and pops make the count approximate by the few buffers in
    /// flight, never by a whole epoch's worth.
    pub(crate) fn reap(&self) -> (u64, usize) {
        let idle = self.epoch_len.load(Relaxed).saturating_sub(self.epoch_popped.swap(0, Relaxed));
        let reaped = self.drop_head(idle);
        self.epoch_len.store(self.queue.len(), Relaxed);
        self.epoch_popped.store(0, Relaxed);
        reaped
    }

    /// Drops up to `max` buffers from the head. They count as popped, so a
    /// `trim` mid-epoch cannot make buffers pushed after it look idle.
    fn drop_head(&self, max: usize) -> (u64, usize) {
        let (mut n, mut bytes) = (0, 0);
        while n < max as u64 {
            let Some(buf) = self.queue.pop() else { break };
            n += 1;
            bytes += buf.capacity();
        }
        self.bytes.fetch_sub(bytes, Relaxed);
        self.epoch_popped.fetch_add(n as usize, Relaxed);
        (n, bytes)
    }

    /// Queued buffers and their bytes, for stats.
    pub(crate) fn level(&self) -> (usize, usize) {
        (self.queue.len(), self.bytes.load(Relaxed))
    }
}
