//! Zero-allocation proof: in steady state, get + write + drop, hand-offs of
//! guards between threads (taking turns, so that no count here depends on
//! scheduling), and a JSON document serialized into a reused
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
use std::sync::{Condvar, Mutex, MutexGuard};

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

/// Turn-taking between a producer and a consumer that allocates nothing:
/// std's channels may grow their list of waiters the first time a send
/// blocks, which the scheduler decides.
struct Turns {
    slot: Mutex<Slot>,
    turn: Condvar,
}

enum Slot {
    /// The producer's turn.
    Empty,
    /// A buffer for the consumer.
    Full(PooledBuf<'static>),
    /// The consumer is checking and dropping it.
    Taken,
    Closed,
}

impl Turns {
    fn wait_while<'a>(&self, mut slot: MutexGuard<'a, Slot>, f: impl Fn(&Slot) -> bool) -> MutexGuard<'a, Slot> {
        while f(&slot) {
            slot = self.turn.wait(slot).unwrap();
        }
        slot
    }

    /// Gives `buf` to the consumer, and waits until it has dropped it.
    fn hand(&self, buf: PooledBuf<'static>) {
        let mut slot = self.slot.lock().unwrap();
        *slot = Slot::Full(buf);
        self.turn.notify_all();
        drop(self.wait_while(slot, |s| !matches!(s, Slot::Empty)));
    }

    /// The consumer: runs `f` on each buffer until the producer closes.
    fn consume(&self, mut f: impl FnMut(PooledBuf<'static>)) {
        loop {
            let mut slot = self.wait_while(self.slot.lock().unwrap(), |s| matches!(s, Slot::Empty));
            let Slot::Full(buf) = std::mem::replace(&mut *slot, Slot::Taken) else { return };
            drop(slot);
            f(buf);
            *self.slot.lock().unwrap() = Slot::Empty;
            self.turn.notify_all();
        }
    }

    fn close(&self) {
        *self.wait_while(self.slot.lock().unwrap(), |s| !matches!(s, Slot::Empty)) = Slot::Closed;
        self.turn.notify_all();
    }
}

/// A producer gets and stamps, a consumer checks and drops: every buffer
/// crosses threads once, and comes back through the consumer's cache spill
/// and the producer's refill.
///
/// The two threads take turns: the producer hands one buffer over and waits
/// until the consumer has dropped it. So exactly one buffer is in flight,
/// every pool operation happens in one order whatever the scheduler does,
/// and a window that repeats the warm-up's pattern meets the state the
/// warm-up left. (With a queue between them, how many buffers were in flight
/// at the worst moment depended on scheduling, and a window that met one
/// more than the warm-up had allocated one.)
fn hand_offs(pool: &Arc<BufPool>, size: usize, n: usize, turns: &Turns) {
    for i in 0..n {
        let mut buf = pool.get_owned(size);
        buf.put_u64(i as u64);
        turns.hand(buf);
    }
}

#[test]
fn steady_state_gets_writes_drops_and_hand_offs_allocate_nothing() {
    // No idle decay, here or in the global pool: a decay tick is a matter of
    // time, and a slow run that crossed one would free and allocate again.
    let quiet = || BufPool::builder().idle_timeout(None);
    assert!(tierpool::set_global(quiet().build().unwrap()).is_ok(), "the global pool is not used before this");
    let pool = Arc::new(quiet().build().unwrap());
    let sizes: Vec<usize> = pool.tier_sizes().to_vec();
    let turns = Arc::new(Turns { slot: Mutex::new(Slot::Empty), turn: Condvar::new() });
    let consumer = {
        let turns = Arc::clone(&turns);
        std::thread::spawn(move || {
            let mut n = 0u64;
            turns.consume(|buf| {
                assert_eq!(buf.len(), 8, "a stamped buffer");
                n += 1;
            });
            n
        })
    };

    // Warm-up: register this thread's and the consumer's slots (one
    // allocation each, per pool), fill the caches and queues, and make the
    // batch vectors the hand-offs need.
    for &size in &sizes {
        for i in 0..WARM_UP {
            cycle(&pool, size, i);
            drop(tierpool::get(size));
        }
        hand_offs(&pool, size, WARM_UP, &turns);
    }
    // A chain, reused: a JSON document of about 600 KiB serialized into it
    // (ten 64 KiB chunks), then read out through `Buf`, chunk by chunk.
    let chain_pool = quiet().thread_cache(&[64, 8, 2]).build().unwrap();
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
            hand_offs(&pool, size, HAND_OFFS, &turns);
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

    turns.close();
    assert_eq!(consumer.join().unwrap(), (sizes.len() * (WARM_UP + HAND_OFFS)) as u64, "every buffer was handed over");
    let after = pool.stats();
    LEDGER.assert_clean();
    for (b, a) in before.tiers.iter().zip(&after.tiers) {
        assert_eq!(a.misses, b.misses, "tier {}: the steady state allocated buffers", a.size);
        assert_eq!(a.gets - b.gets, (CYCLES + HAND_OFFS) as u64, "tier {}: the workload ran", a.size);
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
