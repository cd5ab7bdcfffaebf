//! tierpool and `BytesMut::with_capacity` under jemalloc, on the workloads of
//! `benches/pools.rs`: groups are suffixed `_jemalloc`.
//!
//! Run: `cargo bench --features bench-jemalloc --bench alloc_jemalloc` (builds
//! jemalloc from C, so it is behind a feature that is off by default).

mod common;

use criterion::{criterion_group, criterion_main};

#[global_allocator]
static ALLOC: common::Counting<tikv_jemallocator::Jemalloc> = common::Counting(tikv_jemallocator::Jemalloc);

const LINEUP: common::Lineup = common::Lineup { alloc: "jemalloc", peers: false };

fn benches(c: &mut criterion::Criterion) {
    common::allocator_workloads(c, LINEUP);
}

criterion_group!(alloc, benches);
criterion_main!(alloc);
