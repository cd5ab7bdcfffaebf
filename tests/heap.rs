//! Memory claims checked against the heap, not against `stats()`: a counting
//! global allocator measures live bytes while a pool retains buffers.
//!
//! The allocator under the counter is the system's, except while a test
//! *arms* it: then a 4096-byte allocation comes from a slot of a private
//! arena, and `realloc` grows such a block in place, up to 4 MiB. That makes
//! the rare in-place growth of a real allocator happen every time, so the
//! return path's handling of it is tested deterministically.
//!
//! The live heap is process-wide, so this binary has no test harness, whose
//! threads would allocate while a test measures: `main` runs the tests one
//! after the other on one thread (Cargo.toml: `harness = false`).

#[path = "support/counting.rs"]
mod counting;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};

use bytes::BufMut;
use tierpool::BufPool;

#[global_allocator]
static ALLOC: counting::Counting<InPlace> = counting::Counting::new(InPlace);

// === an allocator that grows in place ===

const SLOT: usize = 4 << 20;
const SLOTS: usize = 4;
const ARMED_SIZE: usize = 4096;

/// The system allocator, plus the arena described in the module docs.
struct InPlace;

static ARMED: AtomicBool = AtomicBool::new(false);
/// The arena's base address, allocated on first arming; 0 before.
static ARENA: AtomicUsize = AtomicUsize::new(0);
static IN_USE: [AtomicBool; SLOTS] = [const { AtomicBool::new(false) }; SLOTS];

fn arena_layout() -> Layout {
    Layout::from_size_align(SLOT * SLOTS, 4096).unwrap()
}

/// The arena slot `addr` starts, if any.
fn slot_of(addr: usize) -> Option<usize> {
    let base = ARENA.load(SeqCst);
    (base != 0 && (base..base + SLOT * SLOTS).contains(&addr)).then(|| (addr - base) / SLOT)
}

// SAFETY:
// - Blocks outside the arena are the system allocator's, with the caller's
//   arguments forwarded unchanged.
// - An arena block is a slot of `SLOT` bytes, aligned to 4096, owned by one
//   allocation at a time (claimed by a compare-and-swap on `IN_USE`); a
//   `realloc` within `SLOT` keeps it, a larger one moves the contents to the
//   system allocator and frees the slot.
unsafe impl GlobalAlloc for InPlace {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if ARMED.load(SeqCst) && layout.size() == ARMED_SIZE && layout.align() <= 4096 {
            let base = ARENA.load(SeqCst);
            for (i, used) in IN_USE.iter().enumerate() {
                if used.compare_exchange(false, true, SeqCst, SeqCst).is_ok() {
                    return (base + i * SLOT) as *mut u8;
                }
            }
        }
        // SAFETY: forwarded unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        match slot_of(ptr.addr()) {
            Some(i) => IN_USE[i].store(false, SeqCst),
            // SAFETY: not an arena block, so the system allocator's.
            None => unsafe { System.dealloc(ptr, layout) },
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let Some(i) = slot_of(ptr.addr()) else {
            // SAFETY: not an arena block, so the system allocator's.
            return unsafe { System.realloc(ptr, layout, new_size) };
        };
        if new_size <= SLOT {
            return ptr; // in place
        }
        // SAFETY: a valid layout: `new_size` is non-zero and, with the
        // caller's alignment, within `isize::MAX` (realloc's contract).
        let new = unsafe { System.alloc(Layout::from_size_align_unchecked(new_size, layout.align())) };
        if !new.is_null() {
            // SAFETY: both blocks are live and hold at least `layout.size()`.
            unsafe { std::ptr::copy_nonoverlapping(ptr, new, layout.size()) };
            IN_USE[i].store(false, SeqCst);
        }
        new
    }
}

/// Makes 4096-byte allocations come from the arena until the guard drops.
struct Armed;

fn arm() -> Armed {
    if ARENA.load(SeqCst) == 0 {
        // SAFETY: a non-zero size.
        let base = unsafe { System.alloc(arena_layout()) };
        assert!(!base.is_null());
        ARENA.store(base.addr(), SeqCst);
    }
    ARMED.store(true, SeqCst);
    Armed
}

impl Drop for Armed {
    fn drop(&mut self) {
        ARMED.store(false, SeqCst);
    }
}

/// A pool whose thread slot and global queues exist already, so that the
/// live heap measured after this only moves with the buffers.
fn warm(pool: &BufPool) {
    drop(pool.get(4096));
    pool.trim();
}

/// Live heap bytes now, beyond `base`.
fn held_since(base: usize) -> isize {
    counting::live() as isize - base as isize
}

// === the tests ===

/// The repro of the return path's old blind spot: each round grows a 4 KiB
/// buffer to 3 MiB, keeps a 4 KiB view and drops the tail. The heap, not
/// just `stats()`, must stay within the pool's 1 MiB budget.
fn a_grown_buffer_behind_a_split_off_view_is_not_retained() {
    let budget = 1 << 20;
    let pool = BufPool::builder().max_retained_bytes(budget).build().unwrap();
    warm(&pool);
    let base = counting::live();
    for _ in 0..16 {
        let mut g = pool.get(4096);
        g.put_bytes(7, 3 << 20); // grows to 3 MiB
        drop(g.split_off(4096)); // keep a 4 KiB view, drop the tail
        assert_eq!(g.capacity(), 4096);
        drop(g);
    }
    let stats = pool.stats();
    let held = held_since(base);
    assert!(held <= budget as isize, "the heap holds {held} bytes for a pool with a budget of {budget}");
    assert!(held <= stats.retained_bytes() as isize + 4096, "heap {held} vs retained {}", stats.retained_bytes());
    assert_eq!(stats.tiers[0].discards.above_ceiling, 16, "each 3 MiB allocation is above every ceiling");
    drop(pool);
    assert!(held_since(base) <= 0, "dropping the pool gives everything back");
}

/// The same through what used to be the fast path: the allocation grows in
/// place, so after `split_off(4096)` the view has the very address and
/// capacity the pool handed out, with 3 MiB behind it.
fn in_place_growth_behind_an_unchanged_looking_view_is_measured() {
    let pool = BufPool::new();
    warm(&pool);
    let base = counting::live();
    let armed = arm();
    let mut g = pool.get(4096); // a miss: its storage comes from the arena
    drop(armed);
    let (start, capacity) = (g.as_ptr(), g.capacity());
    g.extend_from_slice(b"request");
    g.reserve(3 << 20);
    assert_eq!(g.as_ptr(), start, "the allocator grew the block in place");
    drop(g.split_off(capacity));
    assert_eq!((g.as_ptr(), g.capacity()), (start, capacity), "the view looks exactly as handed out");
    assert!(held_since(base) >= 3 << 20, "and 3 MiB are live behind it");
    drop(g);
    let t = pool.stats().tiers[0].clone();
    assert_eq!((t.returns, t.discards.above_ceiling), (1, 1), "the warm-up's return, and this discard");
    assert!(held_since(base) <= 0, "the allocation went back to the allocator: {}", held_since(base));
}

/// A tail still alive when the guard drops: the storage is shared, so it is
/// discarded, and the heap is whole again once the tail drops.
fn in_place_growth_with_a_live_tail_is_discarded_as_shared() {
    let pool = BufPool::new();
    warm(&pool);
    let base = counting::live();
    let armed = arm();
    let mut g = pool.get(4096);
    drop(armed);
    g.extend_from_slice(b"x");
    g.reserve(3 << 20);
    let tail = g.split_off(4096);
    drop(g);
    assert_eq!(pool.stats().tiers[0].discards.shared, 1);
    drop(tail);
    assert_eq!(pool.stats().retained_buffers(), 0);
    assert!(held_since(base) <= 0, "{}", held_since(base));
}

/// Buffers that are pooled cost the heap what `stats()` says they retain,
/// plus the box each lives in.
fn retained_bytes_match_the_live_heap() {
    let pool = BufPool::new();
    warm(&pool);
    let base = counting::live();
    let held: Vec<_> = (0..40).map(|i| pool.get([100, 5000, 70_000][i % 3])).collect();
    drop(held);
    let stats = pool.stats();
    let boxes = stats.retained_buffers() as isize * std::mem::size_of::<bytes::BytesMut>() as isize;
    let heap = held_since(base);
    // Spills also keep a few batch vectors, at most 8 bytes per buffer.
    let slack = stats.retained_buffers() as isize * 8 + 1024;
    let retained = stats.retained_bytes() as isize;
    assert!((retained + boxes..=retained + boxes + slack).contains(&heap), "heap {heap}, retained {retained}");
    pool.trim();
    assert!(held_since(base) <= slack, "trim gives the buffers back: {}", held_since(base));
}

/// Buffers grown within the ceiling (odd-sized: 8 KiB in the 4 KiB tier)
/// that spill to the global queue and come back by refill: `stats()` counts
/// each at its real capacity, as the heap does, at every step. The depot
/// derives its bytes from its buffer count and each batch's extra bytes.
fn grown_buffers_crossing_the_global_queue_are_counted_at_their_real_capacity() {
    let pool = BufPool::builder().thread_cache(&[2, 2, 2]).build().unwrap();
    warm(&pool);
    let base = counting::live();
    let boxed = std::mem::size_of::<bytes::BytesMut>() as isize;
    // `out`: bytes of the guards' buffers the caller holds, boxes included.
    let check = |when: &str, out: isize| {
        let stats = pool.stats();
        let boxes = stats.retained_buffers() as isize * boxed;
        let heap = held_since(base) - out;
        // Spills keep their batch vectors, 8 bytes per buffer at most.
        let slack = 8 * 8 + 1024;
        let retained = stats.retained_bytes() as isize;
        assert!(
            (retained + boxes..=retained + boxes + slack).contains(&heap),
            "{when}: heap {heap}, retained {retained}"
        );
        stats
    };
    let grow = || {
        let mut g = pool.get(4096);
        g.put_bytes(1, 4097); // doubles to 8 KiB, the ceiling
        assert_eq!(g.capacity(), 8192);
        g
    };
    drop((0..8).map(|_| grow()).collect::<Vec<_>>());
    let stats = check("after 8 returns into a cache of 2", 0);
    assert_eq!((stats.tiers[0].retained_buffers, stats.tiers[0].retained_bytes), (8, 8 * 8192));
    let again: Vec<_> = (0..8).map(|_| pool.get(4096)).collect();
    assert!(again.iter().all(|g| g.capacity() == 8192), "the grown buffers came back");
    // The cache of 2 spilled whole (it gave nothing out in between), so 6
    // came back in 3 refills of 2; a refill's first buffer is a global hit.
    let t = pool.stats().tiers.swap_remove(0); // not a borrow: no `Stats` stays live for the heap checks
    assert_eq!((t.cache_hits, t.global_hits, t.misses), (5, 3, 9), "6 of them by refill, no new miss");
    let guards = (again.capacity() * std::mem::size_of::<tierpool::PooledBuf<'_>>()) as isize;
    check("with all 8 out again", 8 * (8192 + boxed) + guards);
    drop(again);
    check("after the second round", 0);
    pool.trim();
    assert_eq!(check("after trim", 0).retained_bytes(), 0);
}

/// docs/tuning.md: a thread's default caches hold 64 × 4 KiB, 64 × 64 KiB
/// and 8 × 1 MiB, about 12 MiB per pool. Filled to exactly that, the heap
/// holds those buffers (and their boxes), nothing more, and `stats()`
/// agrees.
fn default_thread_caches_hold_about_12_mib() {
    let pool = BufPool::new();
    warm(&pool);
    let base = counting::live();
    let counts = [(4096, 64), (64 << 10, 64), (1 << 20, 8)];
    for (size, n) in counts {
        assert_eq!(tierpool::default_thread_cache(size), n);
        drop((0..n).map(|_| pool.get(size)).collect::<Vec<_>>());
    }
    let buffers: usize = counts.iter().map(|&(_, n)| n).sum();
    let bytes: usize = counts.iter().map(|&(size, n)| size * n).sum();
    assert_eq!(bytes, (12 << 20) + (256 << 10), "64 × 4 KiB + 64 × 64 KiB + 8 × 1 MiB");
    let stats = pool.stats();
    assert_eq!((stats.retained_buffers() as usize, stats.retained_bytes() as usize), (buffers, bytes));
    let boxes = (buffers * std::mem::size_of::<bytes::BytesMut>()) as isize;
    let heap = held_since(base);
    assert!((bytes as isize + boxes..=bytes as isize + boxes + 1024).contains(&heap), "heap {heap}");
    pool.trim();
    assert!(held_since(base) <= 1024, "trim gives them back: {}", held_since(base));
}

/// What `Builder::build` documents that it preallocates.
fn building_preallocates_what_the_docs_say() {
    let base = counting::live();
    let pool = BufPool::new();
    let defaults = held_since(base);
    assert!((245 << 10..=285 << 10).contains(&defaults), "defaults: {defaults} bytes, documented as about 260 KiB");
    drop(pool);
    let base = counting::live();
    let tiers: Vec<usize> = (0..16).map(|i| 1024 << i).collect();
    let pool = BufPool::builder()
        .tiers(&tiers)
        .thread_cache(&[tierpool::MAX_THREAD_CACHE; 16])
        .global_queue(&[tierpool::MAX_GLOBAL_QUEUE; 16])
        .build()
        .unwrap();
    let maxima = held_since(base);
    assert!(maxima <= 41 << 20, "maxima: {maxima} bytes, documented as 40 MiB plus the spare queues");
    drop(pool);
}

/// `put` keeps on the heap what `stats()` says it retains, and frees the
/// rest at once: a 3 MiB buffer behind a 4 KiB view, a shared one, and
/// others of each kind.
fn put_keeps_what_it_pools_and_frees_what_it_discards() {
    let pool = BufPool::new();
    warm(&pool);
    let base = counting::live();
    let mut grown = bytes::BytesMut::with_capacity(4096);
    grown.put_bytes(7, 3 << 20);
    drop(grown.split_off(4096)); // 3 MiB behind a 4 KiB view
    assert!(matches!(pool.put(grown), tierpool::Put::Discarded(tierpool::Discard::AboveCeiling)));
    let mut shared = bytes::BytesMut::with_capacity(65536);
    shared.put_bytes(1, 10);
    let frame = shared.split().freeze();
    assert!(matches!(pool.put(shared), tierpool::Put::Discarded(tierpool::Discard::Shared)));
    drop(frame); // the last handle: the storage is freed now
    for capacity in [4096, 6000, 65536, 70_000, 1 << 20] {
        assert!(matches!(pool.put(bytes::BytesMut::with_capacity(capacity)), tierpool::Put::Pooled { .. }));
    }
    let stats = pool.stats();
    let (retained, buffers) = (stats.retained_bytes() as isize, stats.retained_buffers() as isize);
    drop(stats);
    let boxes = buffers * std::mem::size_of::<bytes::BytesMut>() as isize;
    let heap = held_since(base);
    assert_eq!(buffers, 5);
    assert!((retained + boxes..=retained + boxes + 1024).contains(&heap), "heap {heap}, retained {retained}");
    pool.trim();
    assert!(held_since(base) <= 1024, "trim frees what put pooled: {}", held_since(base));
}

/// A chain holds what it has written in whole chunks, and gives every chunk
/// back: the heap after a 3 MiB document is what the pool retains.
fn a_chain_holds_its_chunks_and_gives_them_back() {
    let pool = BufPool::new();
    warm(&pool);
    drop(pool.get(65536));
    pool.trim();
    let base = counting::live();
    let mut chain = pool.chain(65536);
    chain.put_bytes(3, 3 << 20);
    let chunks = chain.chunk_count() as isize;
    assert_eq!(chunks, 48);
    let held = held_since(base);
    let boxes = chunks * std::mem::size_of::<bytes::BytesMut>() as isize;
    assert!((3 << 20) + boxes <= held && held <= (3 << 20) + boxes + 8192, "a chain of 3 MiB holds {held} bytes");
    drop(chain);
    let stats = pool.stats();
    let retained = stats.retained_bytes() as isize + stats.retained_buffers() as isize * 32;
    drop(stats);
    assert!((held_since(base) - retained).abs() <= 8192, "the heap holds what the pool retains");
    pool.trim();
    assert!(held_since(base) <= 8192, "and trim gives it all back: {}", held_since(base));
}

/// A thread outlives a pool that it cached buffers for: the slot keeps only
/// a `Weak`, so the buffers stay on this thread until it next registers
/// with a pool, which retires every slot whose pool is gone (`local.rs`,
/// `register`), or until it exits.
fn a_dropped_pools_thread_cache_is_freed_when_the_thread_next_registers() {
    let survivor = BufPool::new(); // not used on this thread yet
    let gone = BufPool::new();
    let held: Vec<_> = (0..8).map(|_| gone.get(65536)).collect();
    drop(held); // 8 × 64 KiB in this thread's cache for `gone`
    drop(gone);
    let before = counting::live();
    drop(survivor.get(4096)); // registers: a slot, its counters, one 4 KiB buffer
    let freed = before as isize - counting::live() as isize;
    assert!(freed >= (8 << 16) - (32 << 10), "registering freed {freed} bytes of a dropped pool's 512 KiB cache");
}

/// The slack of the burst tests: what the runtime and the tasks themselves
/// allocate besides the buffers (64 small tasks and a timer-free
/// current-thread runtime), far below one buffer.
const BURST_SLACK: usize = 1 << 20;
const BURST_TASKS: usize = 64;

/// `BURST_TASKS` tasks each take a 1 MiB buffer, fill it and give it back,
/// on one current-thread runtime, from a pool whose only tier is 4 KiB: each
/// buffer is an exact-size, unpooled allocation, so the live heap is what is
/// handed out. Returns the peak live heap above the start, and the pool's
/// admission stats.
fn burst(limit: Option<usize>) -> (usize, Option<tierpool::AdmissionStats>) {
    let mut builder = BufPool::builder().tiers(&[4096]);
    if let Some(limit) = limit {
        builder = builder.max_outstanding_bytes(limit);
    }
    let pool = std::sync::Arc::new(builder.build().unwrap());
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    // Without a limit every task holds its buffer until all have one, so the
    // control's peak does not depend on the order tasks run in; with one, a
    // barrier would never open (only the limit's worth can be out), and the
    // bound holds in any order.
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(BURST_TASKS));
    let base = counting::live();
    counting::reset_peak();
    runtime.block_on(async {
        let tasks: Vec<_> = (0..BURST_TASKS)
            .map(|_| {
                let (pool, barrier) = (std::sync::Arc::clone(&pool), std::sync::Arc::clone(&barrier));
                tokio::spawn(async move {
                    let mut buf = pool.acquire_owned(1 << 20).await.unwrap();
                    buf.put_bytes(7, 1 << 20);
                    if limit.is_none() {
                        barrier.wait().await;
                    }
                    tokio::task::yield_now().await;
                    drop(buf);
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
    });
    let peak = counting::peak() - base;
    (peak, pool.stats().admission)
}

fn a_burst_through_acquire_never_exceeds_the_limit() {
    let limit = 8 << 20;
    let (peak, admission) = burst(Some(limit));
    let admission = admission.unwrap();
    assert!(peak <= limit + BURST_SLACK, "peak live heap {peak} above the limit {limit} + slack");
    assert!(peak >= limit, "the limit's worth was out at once ({peak})");
    assert_eq!((admission.outstanding_bytes, admission.overdrafts), (0, 0), "{admission:?}");
    assert!(admission.waits > 0, "the burst waited: {admission:?}");
    // The control: the same burst without a limit has every buffer out.
    let (peak, _) = burst(None);
    assert!(peak >= BURST_TASKS << 20, "without a limit, {peak} bytes at the peak");
}

fn main() {
    if cfg!(miri) {
        println!("tests/heap.rs: skipped under Miri (a 16 MiB arena and megabyte writes)");
        return;
    }
    let tests: [(&str, fn()); 11] = [
        (
            "a_grown_buffer_behind_a_split_off_view_is_not_retained",
            a_grown_buffer_behind_a_split_off_view_is_not_retained,
        ),
        (
            "in_place_growth_behind_an_unchanged_looking_view_is_measured",
            in_place_growth_behind_an_unchanged_looking_view_is_measured,
        ),
        (
            "in_place_growth_with_a_live_tail_is_discarded_as_shared",
            in_place_growth_with_a_live_tail_is_discarded_as_shared,
        ),
        ("retained_bytes_match_the_live_heap", retained_bytes_match_the_live_heap),
        (
            "grown_buffers_crossing_the_global_queue_are_counted_at_their_real_capacity",
            grown_buffers_crossing_the_global_queue_are_counted_at_their_real_capacity,
        ),
        ("default_thread_caches_hold_about_12_mib", default_thread_caches_hold_about_12_mib),
        ("building_preallocates_what_the_docs_say", building_preallocates_what_the_docs_say),
        ("put_keeps_what_it_pools_and_frees_what_it_discards", put_keeps_what_it_pools_and_frees_what_it_discards),
        ("a_chain_holds_its_chunks_and_gives_them_back", a_chain_holds_its_chunks_and_gives_them_back),
        (
            "a_dropped_pools_thread_cache_is_freed_when_the_thread_next_registers",
            a_dropped_pools_thread_cache_is_freed_when_the_thread_next_registers,
        ),
        ("a_burst_through_acquire_never_exceeds_the_limit", a_burst_through_acquire_never_exceeds_the_limit),
    ];
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let mut ran = 0;
    for (name, test) in tests {
        if filter.as_deref().is_some_and(|f| !name.contains(f)) {
            continue;
        }
        test();
        println!("test {name} ... ok");
        ran += 1;
    }
    println!("test result: ok. {ran} passed (tests/heap.rs, one thread, no harness)");
}
