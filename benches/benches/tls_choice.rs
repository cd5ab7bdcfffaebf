//! Why the thread caches live in `std::thread_local!` rather than the
//! `thread_local` crate: the cost of reaching a thread's cache and moving one
//! buffer out and back, both ways, in the same run.
//!
//! - `std_registry`: what `src/local.rs` does, a `std::thread_local!`
//!   `RefCell<Vec<Slot>>`, with the slot found by pool id (first slot
//!   checked first);
//! - `thread_local_crate`: a per-pool `thread_local::ThreadLocal<RefCell<Vec>>`,
//!   the design the crate's docs suggest;
//! - `std_bare`: a single `std::thread_local!` magazine, the floor.
//!
//! Run: `cargo bench -p tierpool-benches --bench tls_choice`

use std::cell::RefCell;
use std::hint::black_box;

use bytes::BytesMut;
use criterion::{Criterion, criterion_group, criterion_main};
use thread_local::ThreadLocal;

struct Slot {
    pool_id: u64,
    mag: Vec<BytesMut>,
}

thread_local! {
    static REGISTRY: RefCell<Vec<Slot>> = const { RefCell::new(Vec::new()) };
    static BARE: RefCell<Vec<BytesMut>> = const { RefCell::new(Vec::new()) };
}

fn with_slot<R>(pool_id: u64, f: impl FnOnce(&mut Slot) -> R) -> R {
    REGISTRY.with(|r| {
        let mut slots = r.borrow_mut();
        let index = match slots.first() {
            Some(first) if first.pool_id == pool_id => 0,
            _ => match slots.iter().position(|s| s.pool_id == pool_id) {
                Some(i) => i,
                None => {
                    slots.push(Slot { pool_id, mag: Vec::with_capacity(64) });
                    slots.len() - 1
                }
            },
        };
        f(&mut slots[index])
    })
}

fn tls(c: &mut Criterion) {
    let mut group = c.benchmark_group("tls_choice");
    let pool_id = black_box(7u64);
    with_slot(pool_id, |s| s.mag.push(BytesMut::with_capacity(4096)));
    group.bench_function("std_registry", |b| {
        b.iter(|| {
            let buf = with_slot(pool_id, |s| s.mag.pop()).unwrap();
            black_box(&buf);
            with_slot(pool_id, |s| s.mag.push(buf));
        })
    });

    let per_pool: ThreadLocal<RefCell<Vec<BytesMut>>> = ThreadLocal::new();
    per_pool.get_or(|| RefCell::new(Vec::with_capacity(64))).borrow_mut().push(BytesMut::with_capacity(4096));
    group.bench_function("thread_local_crate", |b| {
        b.iter(|| {
            let cache = per_pool.get_or(|| RefCell::new(Vec::with_capacity(64)));
            let buf = cache.borrow_mut().pop().unwrap();
            black_box(&buf);
            per_pool.get_or(|| RefCell::new(Vec::with_capacity(64))).borrow_mut().push(buf);
        })
    });

    BARE.with(|m| m.borrow_mut().push(BytesMut::with_capacity(4096)));
    group.bench_function("std_bare", |b| {
        b.iter(|| {
            let buf = BARE.with(|m| m.borrow_mut().pop()).unwrap();
            black_box(&buf);
            BARE.with(|m| m.borrow_mut().push(buf));
        })
    });
    group.finish();
}

criterion_group!(benches, tls);
criterion_main!(benches);
