//! Tiers from what was asked for: a workload whose requests are mostly near
//! 9 KiB runs on the default tiers (4 KiB, 64 KiB, 1 MiB: each 9 KiB request
//! takes a 64 KiB buffer), then on the tiers `BufPool::advise` suggests from
//! it. The live heap, counted by a global allocator, shows what each holds.
//!
//! Run: `cargo run --release --features advice --example advice`

#[path = "../tests/support/counting.rs"]
mod counting;

use std::sync::Arc;

use bytes::BufMut;
use tierpool::BufPool;

#[global_allocator]
static ALLOC: counting::Counting<std::alloc::System> = counting::Counting::new(std::alloc::System);

const THREADS: usize = 4;
const REQUESTS: usize = 20_000;
/// Buffers each thread holds at once before it drops them all.
const HELD: usize = 32;

/// The request sizes: 90 % between 8.5 and 9.5 KiB, 5 % of 300 bytes, 5 %
/// of 100 KiB, in a fixed order.
fn size(i: usize) -> usize {
    match i % 20 {
        0 => 300,
        1 => 100 << 10,
        _ => 8_704 + (i * 7919) % 1024,
    }
}

/// Runs the workload on `THREADS` threads; returns the peak live heap above
/// the start, and what the pool still holds after the threads exit.
fn run(pool: &Arc<BufPool>) -> (usize, usize) {
    let base = counting::live();
    counting::reset_peak();
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let pool = Arc::clone(pool);
            std::thread::spawn(move || {
                let mut held = Vec::with_capacity(HELD);
                for i in 0..REQUESTS {
                    let n = size(i + t);
                    let mut buf = pool.get(n);
                    buf.put_bytes(b'x', n);
                    held.push(buf);
                    if held.len() == HELD {
                        held.clear();
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("a worker panicked");
    }
    (counting::peak().saturating_sub(base), counting::live().saturating_sub(base))
}

fn main() -> Result<(), tierpool::ConfigError> {
    let defaults = Arc::new(BufPool::new());
    let (peak_default, kept_default) = run(&defaults);
    let advice = defaults.advise();
    println!("{} requests; advice:", advice.requests);
    for t in &advice.tiers {
        println!(
            "  tier {:>8} B: {:>5.1} % of requests, thread cache {:>3} ({} KiB a thread), global queue {:>4} ({} KiB)",
            t.size,
            t.share * 100.0,
            t.thread_cache,
            t.thread_cache_bytes >> 10,
            t.global_queue,
            t.global_queue_bytes >> 10
        );
    }
    drop(defaults);

    let advised =
        Arc::new(BufPool::builder().tiers(&advice.tier_sizes()).thread_cache(&advice.thread_caches()).build()?);
    let (peak_advised, kept_advised) = run(&advised);
    let hit_rate = advised.stats().hit_rate();

    println!("\n{:<30} {:>16} {:>22}", "tiers", "peak live heap", "held after the threads");
    let row =
        |name: &str, peak: usize, kept: usize| println!("{name:<30} {:>12} KiB {:>18} KiB", peak >> 10, kept >> 10);
    row("defaults (4K, 64K, 1M)", peak_default, kept_default);
    let names: Vec<String> =
        advice.tier_sizes().iter().map(|&s| if s < 1024 { format!("{s}") } else { format!("{}K", s >> 10) }).collect();
    row(&format!("advised ({})", names.join(", ")), peak_advised, kept_advised);
    println!(
        "\nthe advised tiers peak at {:.2}x the defaults' live heap; hit rate with them {:.3}",
        peak_advised as f64 / peak_default as f64,
        hit_rate
    );
    assert!(peak_advised < peak_default, "the advice cuts what the workload holds");
    Ok(())
}
