//! Soak: mixed churn on 16 threads against one pool with a byte budget, idle
//! decay and a periodic trim-free steady state. Prints live heap bytes (from a
//! counting allocator) and RSS (from /proc/self/status) every 5 seconds. Both
//! must stay flat after warm-up.
//!
//! Run: `cargo run --release --example soak [seconds]` (default 60).

#[path = "../tests/support/counting.rs"]
mod counting;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use bytes::BufMut;
use tierpool::BufPool;

#[global_allocator]
static ALLOC: counting::Counting<std::alloc::System> = counting::Counting::new(std::alloc::System);

const THREADS: usize = 16;
const BUDGET: usize = 32 << 20;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

/// A tiny xorshift generator: deterministic per thread, no dependency.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

fn main() {
    let seconds: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(60);
    let pool = Arc::new(
        BufPool::builder().max_retained_bytes(BUDGET).idle_timeout(Some(Duration::from_secs(5))).build().unwrap(),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let ops = Arc::new(AtomicU64::new(0));
    println!("soak: {THREADS} threads, {seconds} s, budget {} MiB, idle timeout 5 s", BUDGET >> 20);
    println!(
        "{:>6} {:>14} {:>12} {:>14} {:>14} {:>12}",
        "t (s)", "live heap", "RSS", "pool retained", "ops", "discards"
    );

    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let (pool, stop, ops) = (Arc::clone(&pool), Arc::clone(&stop), Arc::clone(&ops));
            std::thread::spawn(move || {
                let mut rng = 0x9E37_79B9_7F4A_7C15u64 ^ (t as u64 + 1);
                let mut held = Vec::with_capacity(16);
                let mut n = 0u64;
                while !stop.load(Relaxed) {
                    let r = next(&mut rng);
                    // Mostly small, some medium, a few large; some grow past
                    // the ceiling; some are frozen out, some held a while.
                    let size = match r % 100 {
                        0..=69 => 1 + (r >> 8) as usize % 4096,
                        70..=94 => 4097 + (r >> 8) as usize % 60_000,
                        _ => 65_537 + (r >> 8) as usize % 1_000_000,
                    };
                    let mut buf = pool.get(size);
                    let fill = if r.is_multiple_of(50) { buf.capacity() * 3 } else { 64.min(size) };
                    buf.put_bytes(t as u8, fill);
                    match (r >> 20) % 4 {
                        0 => drop(buf.freeze()),
                        1 => {
                            held.push(buf);
                            if held.len() == 16 {
                                held.clear();
                            }
                        }
                        _ => drop(buf),
                    }
                    n += 1;
                    if n.is_multiple_of(1024) {
                        ops.fetch_add(1024, Relaxed);
                    }
                }
            })
        })
        .collect();

    let start = Instant::now();
    let mut tick = 0;
    while start.elapsed() < Duration::from_secs(seconds) {
        std::thread::sleep(Duration::from_secs(5).min(Duration::from_secs(seconds) - start.elapsed()));
        tick += 5;
        let stats = pool.stats();
        let discards = stats.discards().total();
        println!(
            "{:>6} {:>11} KiB {:>8} KiB {:>10} KiB {:>14} {:>12}",
            tick.min(seconds),
            counting::live() >> 10,
            rss_kib(),
            stats.retained_bytes() >> 10,
            ops.load(Relaxed),
            discards
        );
    }
    stop.store(true, Relaxed);
    for w in workers {
        w.join().unwrap();
    }
    let stats = pool.stats();
    assert!(stats.retained_bytes() <= BUDGET as u64);
    assert_eq!(stats.outstanding, 0);
    pool.trim();
    println!(
        "after join and trim: live heap {} KiB, RSS {} KiB, pool retained {} B",
        counting::live() >> 10,
        rss_kib(),
        pool.stats().retained_bytes()
    );
}
