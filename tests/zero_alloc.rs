//! Zero-allocation proof: in steady state, get + write + drop, hand-offs of
//! guards between threads, and a JSON document serialized into a reused
//! chain and read out of it, allocate and free nothing.
//!
//! The `-benchmem` habit, made an assertion. A counting global allocator
//! counts every allocation and deallocation in the process while a window is
//! open, and a size-checking ledger records any deallocation whose size
//! differs from its allocation's (or that frees an address it never handed
//! out). This file is its own test binary, with a single test, so that no
//! other test allocates while the window is open.
//!
//! Run: `cargo test --test zero_alloc`

#[path = "support/counting.rs"]
mod counting;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::mpsc;

use bytes::BufMut;
use tierpool::{BufPool, PooledBuf};

// === the counting allocator, and its ledger ===

/// The shared counting allocator, showing every block to the ledger.
#[global_allocator]
static ALLOCATOR: counting::Counting<std::alloc::System> = counting::Counting::observed(std::alloc::System, &LEDGER);

/// Live allocations by address: an open-addressing table of (address, size)
/// pairs in static memory, so that keeping it never allocates. A mismatch
/// cannot panic inside the allocator (a global allocator must not unwind), so
/// it is recorded and [`Ledger::assert_clean`] panics with the details.
struct Ledger {
    addrs: [AtomicUsize; SLOTS],
    sizes: [AtomicUsize; SLOTS],
    /// Deallocations whose size differed from their allocation's, or whose
    /// address was never allocated.
    mismatches: AtomicU64,
    /// The first mismatch: (address, size at alloc or 0 if unknown, size at dealloc).
    first: [AtomicUsize; 3],
    /// Allocations the table had no room for (they are then not checked).
    overflow: AtomicU64,
}

const SLOTS: usize = if cfg!(miri) { 1 << 12 } else { 1 << 18 };
const EMPTY: usize = 0;
/// A freed slot; reusable by inserts, skipped by lookups.
const FREED: usize = 1;

static LEDGER: Ledger = Ledger {
    addrs: [const { AtomicUsize::new(EMPTY) }; SLOTS],
    sizes: [const { AtomicUsize::new(0) }; SLOTS],
    mismatches: AtomicU64::new(0),
    first: [const { AtomicUsize::new(0) }; 3],
    overflow: AtomicU64::new(0),
};

impl counting::Observer for Ledger {
    fn allocated(&self, addr: usize, size: usize) {
        self.record_alloc(addr, size);
    }

    fn freed(&self, addr: usize, size: usize) {
        self.record_dealloc(addr, size);
    }
}

impl Ledger {
    fn home(addr: usize) -> usize {
        (addr >> 4).wrapping_mul(0x9E37_79B9_7F4A_7C15) % SLOTS
    }

    fn record_alloc(&self, addr: usize, size: usize) {
        let home = Self::home(addr);
        for i in 0..SLOTS {
            let slot = (home + i) % SLOTS;
            let seen = self.addrs[slot].load(SeqCst);
            if (seen == EMPTY || seen == FREED) && self.addrs[slot].compare_exchange(seen, addr, SeqCst, SeqCst).is_ok()
            {
                self.sizes[slot].store(size, SeqCst);
                return;
            }
        }
        self.overflow.fetch_add(1, SeqCst);
    }

    fn record_dealloc(&self, addr: usize, size: usize) {
        let home = Self::home(addr);
        for i in 0..SLOTS {
            let slot = (home + i) % SLOTS;
            match self.addrs[slot].load(SeqCst) {
                EMPTY => break,
                seen if seen == addr => {
                    let allocated = self.sizes[slot].load(SeqCst);
                    self.addrs[slot].store(FREED, SeqCst);
                    if allocated != size {
                        self.mismatch(addr, allocated, size);
                    }
                    return;
                }
                _ => {}
            }
        }
        if self.overflow.load(SeqCst) == 0 {
            self.mismatch(addr, 0, size); // freed, but never allocated
        }
    }

    fn mismatch(&self, addr: usize, allocated: usize, freed: usize) {
        if self.mismatches.fetch_add(1, SeqCst) == 0 {
            for (cell, v) in self.first.iter().zip([addr, allocated, freed]) {
                cell.store(v, SeqCst);
            }
        }
    }

    #[track_caller]
    fn assert_clean(&self) {
        let n = self.mismatches.load(SeqCst);
        let [addr, allocated, freed] = self.first.each_ref().map(|c| c.load(SeqCst));
        assert_eq!(
            n, 0,
            "{n} deallocation(s) with a size other than their allocation's; \
             first: {addr:#x} allocated {allocated} bytes (0: never), freed as {freed}"
        );
        assert_eq!(self.overflow.load(SeqCst), 0, "the ledger table overflowed; raise SLOTS");
    }
}

/// Runs `f`; returns (allocations, deallocations) made meanwhile, on any
/// thread.
fn count<R>(f: impl FnOnce() -> R) -> (u64, u64, R) {
    let (counts, r) = counting::count(f);
    (counts.allocs, counts.deallocs, r)
}

// === the workload ===

const PAYLOAD: [u8; 64] = [0xA5; 64];
/// Steady-state cycles per tier, and hand-offs per tier.
const CYCLES: usize = if cfg!(miri) { 200 } else { 100_000 };
const HAND_OFFS: usize = if cfg!(miri) { 100 } else { 40_000 };
const WARM_UP: usize = if cfg!(miri) { 100 } else { 10_000 };
const CHAIN_ROUNDS: usize = if cfg!(miri) { 2 } else { 50 };

/// One get + write + drop: the hit path a server runs per request.
fn cycle(pool: &BufPool, size: usize, i: usize) {
    let mut buf = pool.get(size);
    buf.put_slice(&PAYLOAD);
    buf.put_u64(i as u64);
    assert_eq!(buf.len(), 72);
}

fn cycles(pool: &BufPool, sizes: &[usize]) {
    for &size in sizes {
        for i in 0..CYCLES {
            cycle(pool, size, i);
        }
        // The global pool too: `tierpool::get`, a `'static` guard.
        for i in 0..CYCLES / 10 {
            let mut buf = tierpool::get(size);
            buf.put_u64(i as u64);
        }
    }
}

/// Serializes `document` into `chain` (cleared first), then reads the chain
/// out through `Buf`, folding every byte into `checksum`.
fn chain_round(chain: &mut tierpool::PooledChain<'_>, document: &[u32], checksum: &mut u64) {
    use bytes::Buf;
    chain.clear();
    serde_json::to_writer(&mut *chain, document).unwrap();
    while chain.has_remaining() {
        let chunk = chain.chunk();
        *checksum = chunk.iter().fold(*checksum, |sum, &b| sum.rotate_left(5) ^ u64::from(b));
        let n = chunk.len();
        chain.advance(n);
    }
}

/// A producer gets and stamps, a consumer checks and drops: every buffer
/// crosses threads once, and comes back through the consumer's cache spill
/// and the producer's refill.
fn hand_offs(
    pool: &Arc<BufPool>,
    size: usize,
    n: usize,
    tx: &mpsc::SyncSender<PooledBuf<'static>>,
    done: &mpsc::Receiver<usize>,
) {
    for i in 0..n {
        let mut buf = pool.get_owned(size);
        buf.put_u64(i as u64);
        tx.send(buf).unwrap();
    }
    tx.send(pool.get_owned(0)).unwrap(); // an empty buffer ends the batch
    assert_eq!(done.recv().unwrap(), n);
}

#[test]
fn steady_state_gets_writes_drops_and_hand_offs_allocate_nothing() {
    let pool = Arc::new(BufPool::new());
    let sizes: Vec<usize> = pool.tier_sizes().to_vec();
    // A channel of one: few buffers in flight, so the global queue of every
    // tier, even the 8-slot 1 MiB one, never fills and drops one.
    let (tx, rx) = mpsc::sync_channel::<PooledBuf<'static>>(1);
    let (done_tx, done) = mpsc::sync_channel::<usize>(1);
    let consumer = std::thread::spawn(move || {
        let mut n = 0;
        for buf in rx {
            if buf.is_empty() {
                done_tx.send(n).unwrap();
                n = 0;
                continue;
            }
            assert_eq!(u64::from_be_bytes(buf[..8].try_into().unwrap()), n as u64, "a buffer arrived out of order");
            n += 1;
        }
    });

    // Warm-up: register this thread's and the consumer's slots (one
    // allocation each, per pool), fill the caches and queues, and let the
    // channel allocate its waiter state.
    //
    // A hand-off needs as many buffers as the consumer's cache holds before
    // it spills, plus those in flight (up to 3: being stamped, in the
    // channel, being checked). How many were in flight at the worst moment
    // of the warm-up depends on scheduling, so a few spare buffers go to each
    // global queue before the warm-up hand-offs (which then also make the
    // batch vectors they need): otherwise a window that meets one more in
    // flight than the warm-up did allocates one (seen once in CI, with a
    // 16-buffer batch at 64 KiB).
    for &size in &sizes {
        for i in 0..WARM_UP {
            cycle(&pool, size, i);
            drop(tierpool::get(size));
        }
        assert_eq!(pool.prefill(size, 4), 4, "the global queue has room for spares");
        hand_offs(&pool, size, WARM_UP, &tx, &done);
    }
    // A chain, reused: a JSON document of about 600 KiB serialized into it
    // (ten 64 KiB chunks), then read out through `Buf`, chunk by chunk.
    let chain_pool = BufPool::builder().thread_cache(&[64, 8, 2]).build().unwrap();
    let document: Vec<u32> = (0..if cfg!(miri) { 2_000 } else { 100_000 }).map(|i| i * 7919).collect();
    let mut chain = chain_pool.chain(64 << 10);
    let mut checksum = 0u64;
    // And a fresh chain per round: its ten chunks are more than the thread
    // cache holds (eight), so some come back through the global queue, and
    // its list of chunks is the thread's spare list.
    for _ in 0..3 {
        chain_round(&mut chain, &document, &mut checksum);
    }
    for _ in 0..3 {
        chain_round(&mut chain_pool.chain(64 << 10), &document, &mut checksum);
    }
    let (chain_before, before) = (chain_pool.stats(), pool.stats());

    let (allocs, deallocs, ()) = count(|| {
        cycles(&pool, &sizes);
        for &size in &sizes {
            hand_offs(&pool, size, HAND_OFFS, &tx, &done);
        }
        for _ in 0..CHAIN_ROUNDS {
            chain_round(&mut chain, &document, &mut checksum);
        }
        for _ in 0..CHAIN_ROUNDS {
            chain_round(&mut chain_pool.chain(64 << 10), &document, &mut checksum);
        }
    });
    let chain_after = chain_pool.stats();
    assert_eq!(chain_after.tiers[1].misses, chain_before.tiers[1].misses, "the chain reused its chunks");
    assert!(chain_after.tiers[1].gets - chain_before.tiers[1].gets >= CHAIN_ROUNDS as u64 * 2 * 9, "it used them");
    assert_ne!(checksum, 0);

    drop(tx);
    consumer.join().unwrap();
    let after = pool.stats();
    LEDGER.assert_clean();
    for (i, (b, a)) in before.tiers.iter().zip(&after.tiers).enumerate() {
        assert_eq!(a.misses, b.misses, "tier {}: the steady state allocated buffers", a.size);
        // Each batch of hand-offs ends with one `get_owned(0)`, from tier 0.
        let ends = if i == 0 { sizes.len() } else { 0 };
        assert_eq!(a.gets - b.gets, (CYCLES + HAND_OFFS + ends) as u64, "tier {}: the workload ran", a.size);
        assert_eq!(a.discards.total(), b.discards.total(), "tier {}: the steady state dropped buffers", a.size);
    }
    assert_eq!((allocs, deallocs), (0, 0), "allocations and deallocations in the steady-state window");
    assert_eq!(after.outstanding, 0);

    // The counter and the ledger can fail: a window with one allocation
    // counts it, and a deallocation under the wrong size is recorded.
    let (allocs, deallocs, boxed) = count(|| Box::new([0u8; 100]));
    drop(boxed);
    assert_eq!((allocs, deallocs), (1, 0), "the counting allocator counts");
    let fake = core::ptr::addr_of!(LEDGER).addr(); // static memory: never a heap address
    LEDGER.record_alloc(fake, 100);
    LEDGER.record_dealloc(fake, 99);
    let caught = std::panic::catch_unwind(|| LEDGER.assert_clean()).unwrap_err();
    let msg = caught.downcast_ref::<String>().unwrap();
    assert!(msg.contains("allocated 100 bytes") && msg.contains("freed as 99"), "{msg}");
}
