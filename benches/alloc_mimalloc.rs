//! tierpool and `BytesMut::with_capacity` under mimalloc, on the workloads of
//! `benches/pools.rs`: groups are suffixed `_mimalloc`.
//!
//! Run: `cargo bench --bench alloc_mimalloc`

mod common;

use criterion::{criterion_group, criterion_main};

#[global_allocator]
static ALLOC: common::Counting<mimalloc::MiMalloc> = common::Counting(mimalloc::MiMalloc);

const LINEUP: common::Lineup = common::Lineup { alloc: "mimalloc", peers: false };

fn benches(c: &mut criterion::Criterion) {
    common::allocator_workloads(c, LINEUP);
}

criterion_group!(alloc, benches);
criterion_main!(alloc);
