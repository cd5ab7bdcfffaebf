//! The producer → consumer hand-off, without the kernel: a producer thread
//! gets a buffer, writes 64 B through an opaque call, and pushes it into a
//! bounded spin queue; a consumer thread pops and drops it. The criterion
//! `handoff` group sends over `sync_channel`, whose futex wake-ups cost
//! about a microsecond on this machine and swamp what the pools cost; here
//! neither thread sleeps, so what is left is the pool's own cost plus the
//! queue's.
//!
//! Usage: `handoff_loop [rounds] [items] [depth]` (default 7 rounds of
//! 100 000 items at each size, 64 in flight at most; issue 25's deep
//! pipeline is `depth` 256). `HANDOFF_ONLY=1MiB/tierpool` runs one tier
//! and one competitor alone, for a profiler. Every competitor runs once per round, in an order
//! that alternates, and the median and range of the rounds are printed, in
//! ns per item, and for each competitor, round by round, its time over
//! tierpool's in the same round: the median of that ratio, and in how many
//! rounds tierpool was the faster of the two. The pairing cancels what a
//! busy machine does between rounds, though not within one. Needs two free
//! cores to mean anything on its own.

use std::hint::{black_box, spin_loop};
use std::ops::DerefMut;
use std::thread;
use std::time::Instant;

use bytes::BytesMut;
use crossbeam_queue::ArrayQueue;
use tierpool::BufPool;
use tierpool_benches::peers::{Competitor, LockfreeObjectPool, Opool, WithCapacity, ZeropoolUninit};
use tierpool_benches::{Opaque, TIERS, opaque};

/// In flight between the threads at most, by default: a pipeline deeper
/// than one thread cache of 1 MiB buffers.
const DEPTH: usize = 64;

/// Runs `items` hand-offs through a queue of `depth`; returns ns per item.
fn run<T: Send>(items: u64, depth: usize, produce: &(dyn Fn() -> T + Sync)) -> f64 {
    let queue = ArrayQueue::<T>::new(depth);
    thread::scope(|s| {
        let consumer = s.spawn(|| {
            let mut got = 0;
            while got < items {
                match queue.pop() {
                    Some(item) => {
                        drop(item);
                        got += 1;
                    }
                    None => spin_loop(),
                }
            }
        });
        let start = Instant::now();
        for _ in 0..items {
            let mut item = produce();
            while let Err(back) = queue.push(item) {
                item = back;
                spin_loop();
            }
        }
        consumer.join().expect("consumer panicked");
        start.elapsed().as_nanos() as f64 / items as f64
    })
}

/// `buf`, after the opaque 64 B write.
fn written<B: DerefMut<Target = BytesMut>>(mut buf: B) -> B {
    opaque(&mut buf);
    buf
}

/// A buffer from the competitor `pool` of the benches' line-up, after the
/// opaque 64 B write.
fn produced<C: Competitor>(pool: &C) -> C::Buf<'_> {
    let mut buf = pool.get();
    C::write::<Opaque>(&mut buf);
    buf
}

fn main() {
    let args: Vec<u64> = std::env::args().skip(1).map(|a| a.parse().expect("a number")).collect();
    let rounds = args.first().copied().unwrap_or(7) as usize;
    let items = args.get(1).copied().unwrap_or(100_000);
    let depth = args.get(2).map_or(DEPTH, |&d| d as usize);
    println!("{rounds} interleaved rounds of {items} hand-offs, queue depth {depth}; ns per item, median (range)");
    let only = std::env::var("HANDOFF_ONLY").ok();
    let picked = |param: &str, name: &str| only.as_ref().is_none_or(|o| *o == format!("{param}/{name}"));
    for (param, size) in TIERS {
        if only.as_ref().is_some_and(|o| !o.starts_with(&format!("{param}/"))) {
            continue;
        }
        let pool = BufPool::new();
        // The previous default: 2 MiB of thread cache per tier (64, 32, 2).
        let pool_c2 = BufPool::builder().thread_cache(&[64, 32, 2]).build().expect("valid settings");
        let pool_arc = std::sync::Arc::new(BufPool::new());
        // A global queue of 512 buffers at 1 MiB (the default keeps 128): a
        // pipeline of 256 in flight fits it whole.
        let pool_g512 = BufPool::builder().global_queue(&[4096, 2048, 512]).build().expect("valid settings");
        let lp = LockfreeObjectPool::new(size);
        let zp = ZeropoolUninit::new(size);
        let op = Opool::new(size);
        let bm = WithCapacity::new(size);
        type Produce<'a> = Box<dyn Fn() -> f64 + Sync + 'a>;
        let competitors: Vec<(&str, Produce<'_>)> = vec![
            ("queue_only", Box::new(|| run(items, depth, &|| black_box([0_usize; 4])))),
            ("tierpool", Box::new(|| run(items, depth, &|| written(pool.get(black_box(size)))))),
            ("tierpool_owned", Box::new(|| run(items, depth, &|| written(pool_arc.get_owned(black_box(size)))))),
            ("tierpool_cache_64_32_2", Box::new(|| run(items, depth, &|| written(pool_c2.get(black_box(size)))))),
            ("tierpool_global_512", Box::new(|| run(items, depth, &|| written(pool_g512.get(black_box(size)))))),
            ("lockfree_object_pool", Box::new(|| run(items, depth, &|| produced(&lp)))),
            ("zeropool_uninit", Box::new(|| run(items, depth, &|| produced(&zp)))),
            ("opool", Box::new(|| run(items, depth, &|| produced(&op)))),
            ("bytesmut_glibc", Box::new(|| run(items, depth, &|| produced(&bm)))),
        ];
        let mut competitors = competitors;
        competitors.retain(|(name, _)| picked(param, name));
        for (_, c) in &competitors {
            c(); // warm: caches filled, threads' first registration done
        }
        let mut times = vec![Vec::new(); competitors.len()];
        for round in 0..rounds {
            let order: Vec<usize> = match round % 2 {
                0 => (0..competitors.len()).collect(),
                _ => (0..competitors.len()).rev().collect(),
            };
            for i in order {
                times[i].push(competitors[i].1());
            }
        }
        println!(
            "{param}: median (range); then, paired with tierpool's run in the same round, the median of competitor / tierpool and the rounds tierpool was faster"
        );
        let base = competitors.iter().position(|(name, _)| *name == "tierpool").map(|i| times[i].clone());
        for ((name, _), t) in competitors.iter().zip(&mut times) {
            let paired = base.as_ref().map(|base| {
                let mut ratios: Vec<f64> = t.iter().zip(base).map(|(c, b)| c / b).collect();
                let wins = ratios.iter().filter(|&&r| r > 1.0).count();
                ratios.sort_by(f64::total_cmp);
                format!("  ×{:.2}, {wins}/{}", ratios[ratios.len() / 2], ratios.len())
            });
            t.sort_by(f64::total_cmp);
            println!(
                "  {name:<22} {:>8.1}  ({:.1}-{:.1}){}",
                t[t.len() / 2],
                t[0],
                t[t.len() - 1],
                paired.unwrap_or_default()
            );
        }
        drop(competitors);
        for (name, pool) in [
            ("tierpool", &pool),
            ("tierpool_owned", &*pool_arc),
            ("tierpool_cache_64_32_2", &pool_c2),
            ("tierpool_global_512", &pool_g512),
        ] {
            let t = &pool.stats().tiers[TIERS.iter().position(|&(p, _)| p == param).expect("a tier")];
            let (n, gets) = (t.gets as f64, t.gets);
            if gets == 0 {
                continue;
            }
            println!(
                "  {name}: {gets} gets, from this thread's cache {:.3}, from the global queue {:.3}, misses {:.4}; global_full {}",
                t.cache_hits as f64 / n,
                t.global_hits as f64 / n,
                t.misses as f64 / n,
                t.discards.global_full
            );
        }
    }
}
