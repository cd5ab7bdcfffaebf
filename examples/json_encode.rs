//! serde_json into a pooled buffer, then `freeze()` for the response: the
//! encoding scratch space is reused, and the response is an exact-size copy
//! that never pins a pool buffer.
//!
//! Run: `cargo run --release --example json_encode`

mod common;

use std::time::Instant;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

#[global_allocator]
static ALLOC: common::Counting<std::alloc::System> = common::Counting::new(std::alloc::System);

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Order<'a> {
    id: u64,
    customer: &'a str,
    lines: Vec<Line<'a>>,
    total_cents: u64,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Line<'a> {
    sku: &'a str,
    quantity: u32,
    price_cents: u64,
}

const ROUNDS: u64 = 100_000;

fn main() {
    let lines: Vec<Line<'_>> = (0..20)
        .map(|i| Line { sku: ["A-100", "B-220", "C-7"][i % 3], quantity: i as u32 + 1, price_cents: 1999 })
        .collect();
    let order = Order { id: 0, customer: "ACME Corporation", total_cents: 0, lines };

    // The pooled way: one line differs from the usual `serde_json::to_vec`.
    let mut buf = tierpool::get(4096);
    serde_json::to_writer(&mut buf, &order).unwrap();
    let body: Bytes = buf.freeze(); // exact-size copy; the 4 KiB buffer is back in the pool
    println!("encoded {} bytes: {}...", body.len(), std::str::from_utf8(&body[..60]).unwrap());
    let decoded: Order<'_> = serde_json::from_slice(&body).unwrap();
    assert_eq!(decoded, order);

    println!("\n{ROUNDS} encodes of a {} B document, each ending in a `Bytes` response:", body.len());
    println!("  {:<34} {:>10} {:>12} {:>12}", "", "ns/encode", "allocs/enc", "bytes/enc");

    let (t, a) = measure(|| {
        let v = serde_json::to_vec(&order).unwrap(); // grows 0 -> 8 -> ... -> 2 KiB
        Bytes::from(v)
    });
    row("serde_json::to_vec -> Bytes", t, a);

    let (t, a) = measure(|| {
        let mut v = Vec::with_capacity(4096);
        serde_json::to_writer(&mut v, &order).unwrap();
        Bytes::from(v) // pins 4 KiB for a ~1 KiB body unless shrunk
    });
    row("Vec::with_capacity(4096) -> Bytes", t, a);

    let (t, a) = measure(|| {
        let mut buf = tierpool::get(4096);
        serde_json::to_writer(&mut buf, &order).unwrap();
        buf.freeze()
    });
    row("tierpool::get(4096) + freeze()", t, a);

    let stats = tierpool::global().stats();
    println!(
        "\npool: {} gets, hit rate {:.4}, {} discards, {} retained",
        stats.gets(),
        stats.hit_rate(),
        stats.discards().total(),
        common::human(stats.retained_bytes())
    );
}

fn measure(mut encode: impl FnMut() -> Bytes) -> (f64, common::Counts) {
    let mut total = 0usize;
    for _ in 0..1000 {
        total += encode().len(); // warm the pool, the allocator and the caches
    }
    let allocs = common::Counts::now();
    let start = Instant::now();
    for _ in 0..ROUNDS {
        total += std::hint::black_box(encode()).len();
    }
    let ns = start.elapsed().as_nanos() as f64 / ROUNDS as f64;
    assert!(total > 0);
    (ns, allocs.since())
}

fn row(name: &str, ns: f64, a: common::Counts) {
    println!(
        "  {name:<34} {ns:>10.0} {:>12.2} {:>12.0}",
        a.allocs as f64 / ROUNDS as f64,
        a.bytes as f64 / ROUNDS as f64
    );
}
