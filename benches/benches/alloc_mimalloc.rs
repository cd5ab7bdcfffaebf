//! tierpool, the bound and `BytesMut::with_capacity` under mimalloc, on the
//! workloads of `pools`: groups are suffixed `_mimalloc`.
//!
//! Run: `cargo bench -p tierpool-benches --bench alloc_mimalloc`

use criterion::{criterion_group, criterion_main};
use tierpool_benches::{Counting, Lineup, suite};

#[global_allocator]
static ALLOC: Counting<mimalloc::MiMalloc> = Counting::windowed(mimalloc::MiMalloc);

fn benches(c: &mut criterion::Criterion) {
    suite::all(c, Lineup { alloc: "mimalloc", peers: false }, false);
}

criterion_group!(alloc, benches);
criterion_main!(alloc);
