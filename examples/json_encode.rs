//! serde_json into a pooled buffer, then `freeze()` for the response: the
//! encoding scratch space is reused, and the response is an exact-size copy
//! that never pins a pool buffer. Beside it, the usual ways to get a
//! `Bytes`, and the writers alone (a reused `Vec` against the guard's own
//! `io::Write`), each measured in interleaved rounds: median and range per
//! way, and "within noise" when the ranges overlap.
//!
//! Run: `cargo run --release --example json_encode`

mod common;

use std::hint::black_box;
use std::time::Instant;

use bytes::{BufMut, Bytes, BytesMut};
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

/// Encodes a round of each way takes.
const PER_ROUND: u64 = 20_000;
/// Rounds a way, the order rotating each round.
const ROUNDS: usize = 7;

/// One way to encode: a name and a closure that encodes once and returns
/// the length it produced.
type Way<'a> = (&'static str, Box<dyn FnMut() -> usize + 'a>);

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

    let order = &order;
    let mut reused = Vec::with_capacity(4096);
    let mut reused_bytes = BytesMut::with_capacity(4096);
    let ways: Vec<Way<'_>> = vec![
        (
            "serde_json::to_vec -> Bytes",
            Box::new(|| Bytes::from(serde_json::to_vec(order).unwrap()).len()), // grows 0 -> 8 -> ... -> 2 KiB
        ),
        (
            "Vec::with_capacity(4096) -> Bytes",
            Box::new(|| {
                let mut v = Vec::with_capacity(4096);
                serde_json::to_writer(&mut v, order).unwrap();
                Bytes::from(v).len() // pins 4 KiB for a ~1 KiB body unless shrunk
            }),
        ),
        (
            "tierpool::get(4096) + freeze()",
            Box::new(|| {
                let mut buf = tierpool::get(4096);
                serde_json::to_writer(&mut buf, order).unwrap();
                buf.freeze().len()
            }),
        ),
        (
            "a reused Vec<u8>, no Bytes",
            Box::new(move || {
                reused.clear();
                serde_json::to_writer(&mut reused, order).unwrap();
                black_box(&reused).len()
            }),
        ),
        (
            "a reused BytesMut, no Bytes",
            Box::new(move || {
                reused_bytes.clear();
                serde_json::to_writer((&mut reused_bytes).writer(), order).unwrap();
                black_box(&reused_bytes).len()
            }),
        ),
        (
            "tierpool::get(4096), no Bytes",
            Box::new(|| {
                let mut buf = tierpool::get(4096);
                serde_json::to_writer(&mut buf, order).unwrap();
                black_box(&buf).len()
            }),
        ),
    ];
    let results = measure(ways);

    println!("\n{ROUNDS} interleaved rounds of {PER_ROUND} encodes a way, of a {} B document:", body.len());
    println!("  {:<34} {:>10} {:>15} {:>11} {:>10}", "", "ns/encode", "range", "allocs/enc", "bytes/enc");
    for (i, r) in results.iter().enumerate() {
        if i == 3 {
            println!("  the writers alone (the buffer dropped or reused, no response):");
        }
        let (median, lo, hi) = common::spread(&r.ns);
        let encodes = (ROUNDS as u64 * PER_ROUND) as f64;
        println!(
            "  {:<34} {median:>10.0} {:>15} {:>11.2} {:>10.0}",
            r.name,
            format!("{lo:.0}-{hi:.0}"),
            r.counts.allocs as f64 / encodes,
            r.counts.bytes as f64 / encodes
        );
    }
    println!("  => get + freeze against to_vec: {}", common::verdict(&results[0].ns, &results[2].ns));
    println!("  => the guard's io::Write against a reused Vec: {}", common::verdict(&results[3].ns, &results[5].ns));
    println!("  => against a reused BytesMut: {}", common::verdict(&results[4].ns, &results[5].ns));

    let stats = tierpool::global().stats();
    println!(
        "\npool: {} gets, hit rate {:.4}, {} discards, {} retained",
        stats.gets(),
        stats.hit_rate(),
        stats.discards().total(),
        common::human(stats.retained_bytes())
    );
}

struct Measured {
    name: &'static str,
    /// ns per encode, one entry a round.
    ns: Vec<f64>,
    /// What the allocator saw during this way's rounds.
    counts: common::Counts,
}

/// Warms each way, then runs `ROUNDS` rounds of `PER_ROUND` encodes of
/// each, the starting way rotating from round to round.
fn measure(mut ways: Vec<Way<'_>>) -> Vec<Measured> {
    let mut out: Vec<Measured> = ways
        .iter()
        .map(|(name, _)| Measured { name, ns: Vec::new(), counts: common::Counts { allocs: 0, deallocs: 0, bytes: 0 } })
        .collect();
    let mut total = 0usize;
    for (_, encode) in &mut ways {
        for _ in 0..1000 {
            total += encode(); // warm the pool, the allocator and the caches
        }
    }
    for round in 0..ROUNDS {
        for k in 0..ways.len() {
            let i = (round + k) % ways.len();
            let encode = &mut ways[i].1;
            let allocs = common::Counts::now();
            let start = Instant::now();
            for _ in 0..PER_ROUND {
                total += black_box(encode());
            }
            out[i].ns.push(start.elapsed().as_nanos() as f64 / PER_ROUND as f64);
            let c = allocs.since();
            out[i].counts.allocs += c.allocs;
            out[i].counts.bytes += c.bytes;
        }
    }
    assert!(total > 0);
    out
}
