//! tierpool beside every alternative, under glibc malloc: the peer pools and
//! `BytesMut::with_capacity`, on the same workloads in the same run.
//! Allocations per op are printed next to each benchmark and written to
//! `target/criterion/<group>/<function>/<param>/allocs.json`.
//!
//! Run: `cargo bench --bench pools` (see docs/benchmarks.md for the flags).

mod common;

use criterion::{criterion_group, criterion_main};

#[global_allocator]
static ALLOC: common::Counting<std::alloc::System> = common::Counting(std::alloc::System);

const LINEUP: common::Lineup = common::Lineup { alloc: "glibc", peers: true };

fn benches(c: &mut criterion::Criterion) {
    common::hit(c, LINEUP);
    common::fill(c, LINEUP);
    common::held(c, LINEUP);
    common::handoff_group(c, LINEUP);
    common::contention(c, LINEUP);
    common::freeze_variants(c, LINEUP);
}

criterion_group!(pools, benches);
criterion_main!(pools);
