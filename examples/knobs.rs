//! Measures what each `Builder` knob costs and buys, on small synthetic
//! workloads; docs/tuning.md quotes its output.
//!
//! Run: `cargo run --release --example knobs`

mod common;

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use bytes::BufMut;
use tierpool::{BufPool, default_global_queue};

#[global_allocator]
static ALLOC: common::Counting<std::alloc::System> = common::Counting::new(std::alloc::System);

use common::{Counts, human};

fn main() {
    thread_cache();
    global_queue();
    ceiling();
    tiers();
    max_request();
}

/// ns per op and allocation calls per op of `f` run `n` times.
fn time(n: u64, mut f: impl FnMut(u64)) -> (f64, f64) {
    for i in 0..n / 10 {
        f(i); // warm up
    }
    let allocs = Counts::now();
    let start = Instant::now();
    for i in 0..n {
        f(i);
    }
    (start.elapsed().as_nanos() as f64 / n as f64, allocs.since().allocs as f64 / n as f64)
}

fn thread_cache() {
    println!("thread_cache: get + 64 B write + drop, one thread, 2M ops");
    println!("  {:<28} {:>8} {:>10}", "", "ns/op", "allocs/op");
    for (name, counts) in [("default (64, 64, 8)", None), ("0 (global queue only)", Some([0, 0, 0]))] {
        let mut b = BufPool::builder();
        if let Some(c) = counts {
            b = b.thread_cache(&c);
        }
        let pool = b.build().unwrap();
        for size in [4096usize, 65536] {
            let (ns, allocs) = time(2_000_000, |_| {
                let mut buf = pool.get(black_box(size));
                buf.put_slice(&[0x5A; 64]);
                black_box(&buf);
            });
            println!("  {:<28} {ns:>8.1} {allocs:>10.3}", format!("{name}, {}", human(size as u64)));
        }
    }
    println!("  reference: BytesMut::with_capacity, same loop:");
    for size in [4096usize, 65536] {
        let (ns, allocs) = time(2_000_000, |_| {
            let mut buf = bytes::BytesMut::with_capacity(black_box(size));
            buf.put_slice(&[0x5A; 64]);
            black_box(&buf);
        });
        println!("  {:<28} {ns:>8.1} {allocs:>10.3}", format!("  {}", human(size as u64)));
    }
}

/// 4 threads each hold `held` 4 KiB buffers, then drop them, 200 rounds.
fn global_queue() {
    println!("\nglobal_queue: 4 threads x 200 rounds of get 256 x 4 KiB, then drop all");
    println!("  {:<22} {:>9} {:>12} {:>12} {:>10}", "4 KiB queue", "misses", "global_full", "kept at end", "ms");
    for queue in [8usize, 256, 2048] {
        let pool = Arc::new(
            BufPool::builder()
                .global_queue(&[queue, default_global_queue(64 << 10), default_global_queue(1 << 20)])
                .build()
                .unwrap(),
        );
        let start = Instant::now();
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let pool = Arc::clone(&pool);
                std::thread::spawn(move || {
                    for _ in 0..200 {
                        let held: Vec<_> = (0..256).map(|_| pool.get(4096)).collect();
                        drop(held);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let ms = start.elapsed().as_secs_f64() * 1e3;
        let t = &pool.stats().tiers[0];
        println!(
            "  {:<22} {:>9} {:>12} {:>12} {ms:>10.1}",
            format!("{queue} ({})", human((queue * 4096) as u64)),
            t.misses,
            t.discards.global_full,
            human(t.retained_bytes)
        );
    }
}

/// Frames of 0..3 × 4 KiB accumulated with `put_slice` into `get(4096)`.
fn ceiling() {
    println!("\nceiling_factor: 200k frames of 0..12 KiB written into get(4096), tiers [4 KiB, 64 KiB]");
    println!(
        "  {:<8} {:>10} {:>10} {:>10} {:>12} {:>14}",
        "factor", "ns/frame", "allocs/fr", "discards", "kept at end", "max pooled cap"
    );
    let frame = vec![7u8; 12 * 1024];
    for factor in [1usize, 2, 4] {
        let pool = BufPool::builder().tiers(&[4096, 65536]).ceiling_factor(factor).build().unwrap();
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let (ns, allocs) = time(200_000, |_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let len = (x % (12 * 1024) as u64) as usize;
            let mut buf = pool.get(4096);
            buf.put_slice(&frame[..len]);
            black_box(&buf);
        });
        let t = &pool.stats().tiers[0];
        println!(
            "  {factor:<8} {ns:>10.1} {allocs:>10.3} {:>10} {:>12} {:>14}",
            t.discards.total(),
            human(t.retained_bytes),
            human(pool.ceilings()[0] as u64)
        );
    }
}

/// Requests of 5..20 KiB held 100 at a time.
fn tiers() {
    println!("\ntiers: 100 requests of 5..20 KiB held at once, then dropped");
    println!("  {:<34} {:>14} {:>14} {:>10}", "tiers", "requested", "handed out", "ratio");
    for sizes in [&[4 << 10, 64 << 10, 1 << 20][..], &[4 << 10, 16 << 10, 32 << 10, 64 << 10, 1 << 20][..]] {
        let pool = BufPool::builder().tiers(sizes).build().unwrap();
        let requests: Vec<usize> = (0..100).map(|i| 5 * 1024 + (i * 1543) % (15 * 1024)).collect();
        let held: Vec<_> = requests.iter().map(|&n| pool.get(n)).collect();
        let requested: usize = requests.iter().sum();
        let handed: usize = held.iter().map(|b| b.capacity()).sum();
        let label = sizes.iter().map(|&s| human(s as u64)).collect::<Vec<_>>().join(", ");
        println!(
            "  {label:<34} {:>14} {:>14} {:>9.2}x",
            human(requested as u64),
            human(handed as u64),
            handed as f64 / requested as f64
        );
    }
}

fn max_request() {
    println!("\nmax_request: a corrupt 32-bit length prefix (0xFFFF_FFF0) with the default 1 GiB limit");
    let pool = BufPool::new();
    let start = Instant::now();
    let err = pool.try_get(0xFFFF_FFF0).unwrap_err();
    println!("  try_get -> Err({err}) in {:?}, nothing allocated", start.elapsed());
    let (ns, _) = time(2_000_000, |_| {
        drop(black_box(pool.get(black_box(4096))));
    });
    println!("  the check is one compare on the get path; get(4096) + drop: {ns:.1} ns");
}
