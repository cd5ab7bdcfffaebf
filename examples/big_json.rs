//! A JSON document larger than any tier, serialized with
//! `serde_json::to_writer` into each kind of buffer, side by side: time per
//! serialization (median of interleaved rounds, with the range), heap
//! allocations and bytes allocated per serialization, and what happens to the
//! buffer afterwards.
//!
//! A single buffer grows by doubling: each step allocates anew and copies all
//! that was written so far, and a pooled 4 KiB buffer that grew to 4 MiB is
//! above every ceiling, so it is discarded. A `PooledChain` appends pooled
//! chunks instead: nothing is copied twice and, once the pool is warm,
//! nothing is allocated.
//!
//! Run: `cargo run --release --example big_json`

mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::{BufMut, BytesMut};
use serde::Serialize;

#[global_allocator]
static ALLOC: common::Counting<std::alloc::System> = common::Counting::new(std::alloc::System);

#[derive(Serialize)]
struct Record {
    id: u64,
    user: String,
    score: f64,
    tags: [&'static str; 3],
    active: bool,
}

/// Records whose JSON array is at least `bytes` long.
fn document(bytes: usize) -> Vec<Record> {
    let mut len = 2;
    let mut records = Vec::new();
    while len < bytes {
        let i = records.len() as u64;
        let record = Record {
            id: 1_000_000 + i,
            user: format!("user-{i:06}"),
            score: i as f64 * 0.75,
            tags: ["a", "bb", "ccc"],
            active: i.is_multiple_of(3),
        };
        len += serde_json::to_vec(&record).unwrap().len() + 1;
        records.push(record);
    }
    records
}

/// One way to serialize: returns the bytes written, and drops its buffer.
struct Way {
    name: &'static str,
    run: fn(&[Record]) -> usize,
}

const WAYS: [Way; 5] = [
    Way {
        name: "Vec::new()",
        run: |doc| {
            let mut out = Vec::new();
            serde_json::to_writer(&mut out, doc).unwrap();
            black_box(&out).len()
        },
    },
    Way {
        name: "BytesMut::new()",
        run: |doc| {
            let mut out = BytesMut::new().writer();
            serde_json::to_writer(&mut out, doc).unwrap();
            black_box(out.get_ref()).len()
        },
    },
    Way {
        name: "tierpool::get(4096)",
        run: |doc| {
            let mut out = tierpool::get(4096);
            serde_json::to_writer(&mut out, doc).unwrap();
            black_box(&out).len()
        },
    },
    Way {
        name: "global().chain(64 KiB)",
        run: |doc| {
            let mut out = tierpool::global().chain(64 << 10);
            serde_json::to_writer(&mut out, doc).unwrap();
            black_box(&out).len()
        },
    },
    Way {
        name: "chain(64 KiB) + freeze()",
        run: |doc| {
            let mut out = tierpool::global().chain(64 << 10);
            serde_json::to_writer(&mut out, doc).unwrap();
            black_box(out.freeze()).len()
        },
    },
];

fn main() {
    let started = Instant::now();
    for (label, bytes, rounds) in [("3 MiB", 3 << 20, 15), ("32 MiB", 32 << 20, 5)] {
        let doc = document(bytes);
        let len = (WAYS[0].run)(&doc);
        println!("\nserde_json::to_writer of a {label} document ({len} bytes), {rounds} interleaved rounds:");
        println!(
            "  {:<26} {:>10} {:>19} {:>8} {:>11} {:>11}",
            "into", "median", "range", "vs Vec", "allocs/ser", "alloc'd/ser"
        );
        let before = tierpool::global().stats();
        // Warm: two serializations each, so the pool holds the chain's chunks
        // and the thread its spare list of chunks.
        for way in WAYS.iter().chain(&WAYS) {
            assert_eq!((way.run)(&doc), len, "{} wrote every byte", way.name);
        }
        let mut times = vec![Vec::new(); WAYS.len()];
        let mut allocs = vec![(0u64, 0u64); WAYS.len()]; // (allocations, bytes)
        for _ in 0..rounds {
            for (i, way) in WAYS.iter().enumerate() {
                let counts = common::Counts::now();
                let start = Instant::now();
                (way.run)(&doc);
                let elapsed = start.elapsed();
                let counts = counts.since();
                times[i].push(elapsed);
                allocs[i].0 += counts.allocs;
                allocs[i].1 += counts.bytes;
            }
        }
        let medians: Vec<Duration> = times.iter_mut().map(|t| median(t)).collect();
        for (i, way) in WAYS.iter().enumerate() {
            let (lo, hi) = (times[i][0], times[i][rounds - 1]);
            println!(
                "  {:<26} {:>8.2}ms {:>8.2}-{:<8.2}ms {:>7.2}x {:>11.1} {:>11}",
                way.name,
                ms(medians[i]),
                ms(lo),
                ms(hi),
                medians[i].as_secs_f64() / medians[0].as_secs_f64(),
                allocs[i].0 as f64 / rounds as f64,
                common::human(allocs[i].1 / rounds as u64),
            );
        }
        let after = tierpool::global().stats();
        println!(
            "  pool: {} buffers discarded on return (the grown 4 KiB buffers), {} retained",
            after.discards().total() - before.discards().total(),
            common::human(after.retained_bytes())
        );
    }
    println!("\n(times vary by machine and run; allocation counts do not)");
    println!("finished in {:.1}s", started.elapsed().as_secs_f64());
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
