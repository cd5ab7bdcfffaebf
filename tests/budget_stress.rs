//! The byte budget under 64 threads, measured from outside the pool: a
//! counting global allocator tracks live heap bytes, and the peak must stay
//! within the budget plus what the threads hold checked out.

#[path = "support/counting.rs"]
mod counting;

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Barrier};

use tierpool::BufPool;

#[global_allocator]
static ALLOC: counting::Counting<std::alloc::System> = counting::Counting::new(std::alloc::System);

const THREADS: usize = 64;
const HELD: usize = 6; // buffers each thread holds at once
const ROUNDS: usize = if cfg!(miri) { 5 } else { 2_000 };
const SIZES: [usize; 2] = [4096, 65536];

/// Bytes checked out of the pool by the test threads, and their peak.
static OUT: AtomicUsize = AtomicUsize::new(0);
static OUT_PEAK: AtomicUsize = AtomicUsize::new(0);

/// Runs 64 threads of churn against `pool`; returns the peak live heap above
/// the baseline, and the peak of checked-out bytes.
fn churn(pool: &Arc<BufPool>) -> (usize, usize) {
    let (start, end) = (Arc::new(Barrier::new(THREADS)), Arc::new(Barrier::new(THREADS)));
    OUT_PEAK.store(0, Relaxed);
    let baseline = counting::live();
    counting::reset_peak();
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let (pool, start, end) = (Arc::clone(pool), Arc::clone(&start), Arc::clone(&end));
            std::thread::spawn(move || {
                let mut held = Vec::with_capacity(HELD);
                start.wait(); // all 64 threads churn at once
                // A buffer is counted out before the get that may allocate
                // it and until after the drop that may free or pool it, so
                // `OUT` covers every checked-out byte at every instant,
                // wherever a thread is preempted. (Every buffer here has its
                // tier's size: nothing grows.)
                for round in 0..ROUNDS {
                    let size = SIZES[(t + round) % 2];
                    let out = OUT.fetch_add(size, Relaxed) + size;
                    OUT_PEAK.fetch_max(out, Relaxed);
                    let mut buf = pool.get(size);
                    assert_eq!(buf.capacity(), size);
                    buf.extend_from_slice(&[t as u8; 64]);
                    held.push(buf);
                    if held.len() == HELD {
                        let bytes = held.iter().map(|b| b.capacity()).sum();
                        held.clear();
                        OUT.fetch_sub(bytes, Relaxed);
                        std::thread::yield_now(); // interleave the 64 threads on 2 cores
                    }
                }
                let bytes = held.iter().map(|b| b.capacity()).sum();
                drop(held);
                OUT.fetch_sub(bytes, Relaxed);
                // Keep every thread's cache alive until all are done, so the
                // caches coexist and the budget, not reuse, bounds them.
                end.wait();
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    (counting::peak() - baseline, OUT_PEAK.load(Relaxed))
}

#[test]
#[cfg_attr(
    miri,
    ignore = "64 threads and a control run are too slow under Miri; proptests/budget.rs and tests/it/memory.rs cover the accounting there"
)]
fn live_heap_stays_within_budget_plus_checked_out_buffers_under_64_threads() {
    let budget = 2 << 20;
    // Threads, their registries, magazines and counters: measured at about
    // 5 KiB per thread; allow 16 KiB.
    let overhead = THREADS * 16 * 1024;

    let pool = Arc::new(BufPool::builder().tiers(&SIZES).max_retained_bytes(budget).build().unwrap());
    let (peak, checked_out) = churn(&pool);
    let stats = pool.stats();
    println!(
        "budget {budget}: peak live heap +{peak} B, peak checked out {checked_out} B, retained {}",
        stats.retained_bytes()
    );
    assert!(stats.retained_bytes() <= budget as u64);
    assert!(stats.tiers.iter().map(|t| t.discards.over_budget).sum::<u64>() > 0, "the budget was exercised");
    assert!(peak <= budget + checked_out + overhead, "peak live heap {peak} above budget + checked out + overhead");

    // Control: the same workload without a budget retains far more, so the
    // bound above holds because of the budget, not by accident. Each thread
    // ends with the last buffers it held in its cache, at least 3 of 64 KiB,
    // and flushes them to the global queue when it exits: 12 MiB in all, of
    // which the global queues keep more than the budget whatever the order
    // (a peak of checked-out bytes would depend on scheduling).
    let unbounded = Arc::new(BufPool::builder().tiers(&SIZES).build().unwrap());
    let before = counting::live();
    let (peak_unbounded, checked_out) = churn(&unbounded);
    let kept = counting::live() - before;
    let retained = unbounded.stats().retained_bytes();
    println!("no budget: peak live heap +{peak_unbounded} B, peak checked out {checked_out} B, retained {retained} B");
    assert!(retained > 2 * budget as u64, "control run retained only {retained} B");
    assert!(kept as u64 >= retained, "and the live heap holds them: {kept} B");
}
