//! The workloads of `pools` under jemalloc, peers included: groups are
//! suffixed `_jemalloc`.
//!
//! Run: `cargo bench -p tierpool-benches --features bench-jemalloc --bench
//! alloc_jemalloc` (jemalloc builds from C, so it is behind a feature).

use criterion::{criterion_group, criterion_main};
use tierpool_benches::{Counting, Lineup, suite};

#[global_allocator]
static ALLOC: Counting<tikv_jemallocator::Jemalloc> = Counting::windowed(tikv_jemallocator::Jemalloc);

fn benches(c: &mut criterion::Criterion) {
    suite::all(c, Lineup { alloc: "jemalloc", peers: true }, false);
}

criterion_group!(alloc, benches);
criterion_main!(alloc);
