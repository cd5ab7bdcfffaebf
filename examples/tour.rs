//! A tour of tierpool: tiers, the ceiling, `freeze` vs `into_shared`, and
//! the stats that show what happened. Then three comparisons with plain
//! `BytesMut`, each in interleaved rounds (median and range of each side,
//! and "within noise" when the ranges overlap): a cross-thread hand-off of
//! 64 KiB buffers, 64 buffers of 64 KiB out at once, and a loopback JSON
//! service over TCP with tokio. Last, a burst of 1 MiB bodies from a pool
//! with and without `max_outstanding_bytes`.
//!
//! Run: `cargo run --release --example tour`

mod common;
mod workload;

use std::sync::Arc;
use std::sync::mpsc;
use std::time::Instant;

use bytes::{BufMut, BytesMut};
use tierpool::{BufPool, Stats};

#[global_allocator]
static ALLOC: common::Counting<std::alloc::System> = common::Counting::new(std::alloc::System);

fn main() {
    let pool = Arc::new(BufPool::new());

    section("1. Tiers: get(n) picks the smallest tier that fits");
    for n in [0, 1500, 4096, 4097, 65536, 300_000, 2 << 20] {
        let buf = pool.get(n);
        let tier = buf.tier_size().map_or("oversize (exact, unpooled)".to_string(), |t| format!("{} tier", human(t)));
        println!("  get({n:>8}) -> len {}, capacity {:>8}  from the {tier}", buf.len(), buf.capacity());
    }

    section("2. The ceiling: grown buffers are re-tiered or discarded");
    let mut buf = pool.get(100);
    buf.put_bytes(b'x', 70 * 1024);
    println!("  a 4 KiB buffer grown to {} bytes goes back to the 64 KiB tier", buf.capacity());
    drop(buf);
    let mut buf = pool.get(100);
    buf.reserve(20_000);
    println!("  a 4 KiB buffer grown to {} bytes is above the 8 KiB ceiling: discarded", buf.capacity());
    drop(buf);
    let mut buf = pool.get(100);
    buf.put_slice(b"frame");
    let aliased = buf.split().freeze();
    drop(buf);
    println!("  storage still shared with a frozen split ({aliased:?}) is discarded, never pooled");
    let t = &pool.stats().tiers[0];
    println!(
        "  tier 4 KiB: returns {}, re-tiered {}, discarded above ceiling {}, discarded shared {}",
        t.returns, t.retiered, t.discards.above_ceiling, t.discards.shared
    );

    section("3. freeze copies out; into_shared is zero-copy until the last clone drops");
    let mut buf = pool.get(1 << 20);
    buf.put_slice(b"small response from a 1 MiB buffer");
    let copied = buf.freeze();
    println!("  freeze: {} bytes copied out, the 1 MiB buffer is back at once", copied.len());
    let mut reused = pool.get(1 << 20);
    reused.put_bytes(b'#', 64);
    println!("  after reuse, the frozen copy still reads {:?}", std::str::from_utf8(&copied).unwrap());
    drop(reused);
    let mut buf = pool.get_owned(64 * 1024);
    buf.put_bytes(b'z', 60_000);
    let shared = buf.into_shared();
    let clone = shared.slice(0..10);
    drop(shared);
    println!("  into_shared: outstanding while a clone lives = {}", pool.stats().outstanding);
    drop(clone);
    println!("  into_shared: outstanding after the last clone drops = {}", pool.stats().outstanding);

    section("4. Hand-off: a producer thread fills 64 KiB buffers, a consumer drops them");
    println!("  per buffer, channel included; {HAND_OFFS} buffers a round, {ROUNDS} rounds a side, interleaved");
    compare("hand-off", || hand_off(|| BytesMut::with_capacity(64 * 1024)), || hand_off(|| pool.get_owned(64 * 1024)));

    section("5. Many buffers out at once: 64 buffers of 64 KiB, then all dropped");
    println!("  per buffer; {HELD_ROUNDS} batches a round, {ROUNDS} rounds a side, interleaved");
    compare("held", || held(|| BytesMut::with_capacity(64 * 1024)), || held(|| pool.get(64 * 1024)));

    section("6. Stats");
    print_stats(&pool.stats());
    let released = pool.trim();
    println!("\n  trim() released {}; retained now {}", human(released), human(pool.stats().retained_bytes() as usize));

    section("7. A loopback workload: JSON over TCP, unpooled vs pooled");
    workload::run();

    section("8. A burst under a limit: 32 bodies of 1 MiB at once, with and without max_outstanding_bytes");
    burst();
}

const ROUNDS: usize = 7;
const HAND_OFFS: usize = 50_000;
const HELD_ROUNDS: usize = 500;

/// Runs `plain` and `pooled` (each returning ns per buffer) in `ROUNDS`
/// interleaved rounds, then prints each side's median and range, and the
/// verdict.
fn compare(label: &str, plain: impl FnMut() -> f64, pooled: impl FnMut() -> f64) {
    let (plain, pooled) = common::interleave(label, ROUNDS, plain, pooled);
    for (name, xs) in [("BytesMut::with_capacity", &plain), ("tierpool", &pooled)] {
        let (median, lo, hi) = common::spread(xs);
        println!("  {name:<24} median {median:>8.1} ns/buffer   range {lo:.1}-{hi:.1}");
    }
    println!("  => {}", common::verdict(&plain, &pooled));
}

/// A producer (this thread) makes `HAND_OFFS` buffers, writes 64 bytes into
/// each and sends it over a bounded channel; a consumer thread drops them.
/// Returns ns per buffer.
fn hand_off<B: BufMut + Send + 'static>(make: impl Fn() -> B) -> f64 {
    let (tx, rx) = mpsc::sync_channel::<B>(64);
    let consumer = std::thread::spawn(move || rx.into_iter().count());
    let start = Instant::now();
    for i in 0..HAND_OFFS {
        let mut buf = make();
        buf.put_u64(i as u64);
        buf.put_bytes(0xAB, 56);
        tx.send(buf).unwrap();
    }
    drop(tx);
    assert_eq!(consumer.join().unwrap(), HAND_OFFS);
    start.elapsed().as_nanos() as f64 / HAND_OFFS as f64
}

/// `HELD_ROUNDS` times: 64 buffers checked out, each written, then all
/// dropped. Returns ns per buffer.
fn held<B: BufMut>(make: impl Fn() -> B) -> f64 {
    let mut out = Vec::with_capacity(64);
    let start = Instant::now();
    for _ in 0..HELD_ROUNDS {
        for i in 0..64u64 {
            let mut buf = make();
            buf.put_u64(i);
            out.push(buf);
        }
        std::hint::black_box(&out);
        out.clear();
    }
    start.elapsed().as_nanos() as f64 / (HELD_ROUNDS * 64) as f64
}

const BURST_TASKS: usize = 32;
const BODY: usize = 1 << 20;
const BURST_LIMIT: usize = 8 << 20;

/// `BURST_TASKS` tasks at once, each taking a 1 MiB buffer, filling it,
/// yielding (where a server would wait on its socket) and dropping it: from
/// a pool without a limit through `get_owned`, and from one with
/// `max_outstanding_bytes` through `acquire_owned`, which waits for room.
/// One thread, so every task takes its buffer before the first one drops.
fn burst() {
    println!(
        "  {BURST_TASKS} tasks on one thread, each: take a 1 MiB buffer, fill it, yield (a socket read would wait here), drop it"
    );
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    for limit in [None, Some(BURST_LIMIT)] {
        let pool = Arc::new(match limit {
            Some(bytes) => BufPool::builder().max_outstanding_bytes(bytes).build().expect("valid settings"),
            None => BufPool::new(),
        });
        let baseline = common::live();
        common::reset_peak();
        runtime.block_on(async {
            let tasks: Vec<_> = (0..BURST_TASKS)
                .map(|i| {
                    let pool = Arc::clone(&pool);
                    tokio::spawn(async move {
                        let mut body = match limit {
                            Some(_) => pool.acquire_owned(BODY).await.expect("1 MiB is within the limit"),
                            None => pool.get_owned(BODY),
                        };
                        body.put_bytes(i as u8, BODY);
                        tokio::task::yield_now().await;
                        body.iter().map(|&b| u64::from(b)).sum::<u64>()
                    })
                })
                .collect();
            for (i, task) in tasks.into_iter().enumerate() {
                assert_eq!(task.await.expect("task"), (i as u8) as u64 * BODY as u64);
            }
        });
        let peak = human(common::peak().saturating_sub(baseline));
        // Releases what the pool keeps, this thread's cache included (the
        // tasks ran here), so the next pool starts from a clean baseline.
        let kept = human(pool.trim());
        match pool.stats().admission {
            None => println!("  {:<38} peak live heap {peak:>8}, kept {kept:>6}; no limit", "pooled (get_owned):"),
            Some(a) => println!(
                "  {:<38} peak live heap {peak:>8}, kept {kept:>6}; {} of {BURST_TASKS} acquires waited, {} overdrafts",
                format!("pooled+limit (acquire_owned, {}):", human(a.limit)),
                a.waits,
                a.overdrafts
            ),
        }
    }
    println!("  (RSS, page faults and latency, over TCP: cargo run --release --features tokio --example burst_server)");
}

fn print_stats(stats: &Stats) {
    println!(
        "  {:>8} {:>9} {:>10} {:>8} {:>7} {:>9} {:>9} {:>10}",
        "tier", "gets", "cache hit", "global", "misses", "returns", "discards", "retained"
    );
    for t in &stats.tiers {
        println!(
            "  {:>8} {:>9} {:>10} {:>8} {:>7} {:>9} {:>9} {:>10}",
            human(t.size),
            t.gets,
            t.cache_hits,
            t.global_hits,
            t.misses,
            t.returns,
            t.discards.total(),
            human(t.retained_bytes as usize)
        );
    }
    println!(
        "  oversize gets {}, outstanding {}, hit rate {:.4}",
        stats.oversize.gets,
        stats.outstanding,
        stats.hit_rate()
    );
}

fn section(title: &str) {
    println!("\n{title}");
}

fn human(bytes: usize) -> String {
    match bytes {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1 << 20) as f64),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}
