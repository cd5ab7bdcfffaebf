//! The hit path: `get(n)` + write 64 B + drop, per tier, beside the
//! allocation a user would otherwise make, `BytesMut::with_capacity(n)`, under
//! the system allocator, on the same workload in the same run.
//!
//! Run: `cargo bench --bench hit`

use std::hint::black_box;

use bytes::{BufMut, BytesMut};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use tierpool::BufPool;

const PAYLOAD: [u8; 64] = [0x5A; 64];
const TIERS: [(&str, usize); 3] = [("4KiB", 4 << 10), ("64KiB", 64 << 10), ("1MiB", 1 << 20)];

fn hit(c: &mut Criterion) {
    let mut group = c.benchmark_group("hit");
    let pool = BufPool::new();
    for (name, size) in TIERS {
        drop(pool.get(size)); // warm: the thread cache holds one buffer of this tier
        group.bench_with_input(BenchmarkId::new("tierpool", name), &size, |b, &size| {
            b.iter(|| {
                let mut buf = pool.get(black_box(size));
                buf.put_slice(&PAYLOAD);
                black_box(&buf);
            })
        });
        group.bench_with_input(BenchmarkId::new("tierpool_global", name), &size, |b, &size| {
            b.iter(|| {
                let mut buf = tierpool::get(black_box(size));
                buf.put_slice(&PAYLOAD);
                black_box(&buf);
            })
        });
        group.bench_with_input(BenchmarkId::new("bytesmut_system", name), &size, |b, &size| {
            b.iter(|| {
                let mut buf = BytesMut::with_capacity(black_box(size));
                buf.put_slice(&PAYLOAD);
                black_box(&buf);
            })
        });
    }
    group.finish();
}

criterion_group!(benches, hit);
criterion_main!(benches);
