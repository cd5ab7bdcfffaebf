//! tierpool beside every alternative, under glibc malloc: the bound, the
//! peer pools and `BytesMut::with_capacity`, on the same workloads in the
//! same run, each opaque and inlined. Allocations per op are printed next to
//! each benchmark and written to
//! `target/criterion/<group>/<function>/<param>/allocs.json`.
//!
//! Run: `cargo bench -p tierpool-benches --bench pools` (docs/benchmarks.md
//! has the flags).

use criterion::{criterion_group, criterion_main};
use tierpool_benches::{Counting, Lineup, suite};

#[global_allocator]
static ALLOC: Counting<std::alloc::System> = Counting::windowed(std::alloc::System);

fn benches(c: &mut criterion::Criterion) {
    suite::all(c, Lineup { alloc: "glibc", peers: true }, true);
}

criterion_group!(pools, benches);
criterion_main!(pools);
