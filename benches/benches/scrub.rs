//! The price of `scrub_on_return(true)`: get + write 64 B + drop per tier,
//! with and without scrubbing, in the same run.
//!
//! Run: `cargo bench -p tierpool-benches --bench scrub`

use std::hint::black_box;

use bytes::BufMut;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use tierpool::BufPool;

fn scrub(c: &mut Criterion) {
    let mut group = c.benchmark_group("scrub");
    for scrub in [false, true] {
        let pool = BufPool::builder().scrub_on_return(scrub).build().unwrap();
        let name = if scrub { "scrub_on" } else { "scrub_off" };
        for (tier, size) in [("4KiB", 4 << 10), ("64KiB", 64 << 10), ("1MiB", 1 << 20)] {
            drop(pool.get(size));
            group.bench_with_input(BenchmarkId::new(name, tier), &size, |b, &size| {
                b.iter(|| {
                    let mut buf = pool.get(black_box(size));
                    buf.put_bytes(0x5A, 64);
                    black_box(&buf);
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, scrub);
criterion_main!(benches);
