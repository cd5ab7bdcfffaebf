//! Shared by every bench binary: a counting global allocator, a recorder that
//! writes allocations per op next to criterion's estimates, the timing loops,
//! and the peer pools set up for one tier each.
//!
//! Each binary (`pools`, `alloc_jemalloc`, `alloc_mimalloc`) includes this
//! module with `mod common;` and installs its own `#[global_allocator]` as
//! `common::Counting(<allocator>)`, so the same workloads run under glibc,
//! jemalloc and mimalloc.
#![allow(dead_code)] // each binary uses a subset

use std::alloc::{GlobalAlloc, Layout};
use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Barrier;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::sync_channel;
use std::thread;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, SamplingMode};

pub const PAYLOAD: [u8; 64] = [0x5A; 64];
pub const TIERS: [(&str, usize); 3] = [("4KiB", 4 << 10), ("64KiB", 64 << 10), ("1MiB", 1 << 20)];
/// Bound of the hand-off channel: a socket reader a few frames ahead of its worker.
pub const CHANNEL_BOUND: usize = 64;

// === counting allocator ===

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

/// Wraps a global allocator and counts allocations (and reallocations) while
/// [`count_allocs`] runs. Outside that window the only cost is one relaxed
/// load of a read-mostly flag, so timed loops are not skewed.
pub struct Counting<A>(pub A);

impl<A> Counting<A> {
    #[inline]
    fn note(size: usize) {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
            BYTES.fetch_add(size as u64, Ordering::Relaxed);
        }
    }
}

// SAFETY: every method forwards to the wrapped allocator with the caller's
// arguments unchanged; counting touches only atomics and never allocates.
unsafe impl<A: GlobalAlloc> GlobalAlloc for Counting<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        Self::note(layout.size());
        // SAFETY: forwarded contract.
        unsafe { self.0.alloc(layout) }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        Self::note(layout.size());
        // SAFETY: forwarded contract.
        unsafe { self.0.alloc_zeroed(layout) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        Self::note(new_size);
        // SAFETY: forwarded contract.
        unsafe { self.0.realloc(ptr, layout, new_size) }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded contract.
        unsafe { self.0.dealloc(ptr, layout) }
    }
}

/// Runs `f` with counting on (all threads) and returns (allocations, bytes).
fn count_allocs(f: impl FnOnce()) -> (u64, u64) {
    ALLOCS.store(0, Ordering::SeqCst);
    BYTES.store(0, Ordering::SeqCst);
    COUNTING.store(true, Ordering::SeqCst);
    f();
    COUNTING.store(false, Ordering::SeqCst);
    (ALLOCS.load(Ordering::SeqCst), BYTES.load(Ordering::SeqCst))
}

/// Where criterion writes: `$CARGO_TARGET_DIR/criterion`, else `target/criterion`.
fn criterion_dir() -> PathBuf {
    std::env::var_os("CRITERION_HOME").map(PathBuf::from).unwrap_or_else(|| {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
        target.join("criterion")
    })
}

/// Prints allocations per op and writes them to
/// `target/criterion/<group>/<function>/<param>/allocs.json`, beside
/// criterion's own `new/estimates.json`, for `scripts/chart.py`.
fn report_allocs(group: &str, function: &str, param: &str, ops: u64, (allocs, bytes): (u64, u64)) {
    let per_op = allocs as f64 / ops as f64;
    let bytes_per_op = bytes as f64 / ops as f64;
    println!("allocs/op {group}/{function}/{param}: {per_op:.3} ({bytes_per_op:.0} B/op)");
    let dir = criterion_dir().join(group).join(function).join(param);
    let json = format!("{{\"ops\": {ops}, \"allocs_per_op\": {per_op}, \"bytes_per_op\": {bytes_per_op}}}\n");
    if std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(dir.join("allocs.json"), json)).is_err() {
        eprintln!("warning: could not write allocs.json under {}", dir.display());
    }
}

// === groups ===

/// A criterion group that also records allocations per op for each function.
pub struct Group<'a> {
    inner: BenchmarkGroup<'a, WallTime>,
    name: String,
}

impl<'a> Group<'a> {
    pub fn new(c: &'a mut Criterion, name: &str) -> Self {
        Group { inner: c.benchmark_group(name), name: name.to_owned() }
    }

    /// For thread-spawning workloads: the same iteration count per sample, so
    /// the spawn cost is amortised over a long sample.
    pub fn flat(mut self, samples: usize) -> Self {
        self.inner.sampling_mode(SamplingMode::Flat).sample_size(samples);
        self
    }

    /// Times `op` (one iteration = `ops_per_iter` ops) and records its
    /// allocations per op from a warm run of 1000 iterations.
    pub fn bench(&mut self, function: &str, param: &str, ops_per_iter: u64, mut op: impl FnMut()) {
        self.bench_counted(function, param, ops_per_iter, 1000, |iters| {
            let start = Instant::now();
            for _ in 0..iters {
                op();
            }
            start.elapsed()
        });
    }

    /// Like [`bench`](Self::bench), for a routine that runs `iters`
    /// iterations itself and returns the time they took. Allocations are
    /// counted over 20 000 iterations, so a thread spawn per call (about 5
    /// allocations) shows as at most 0.0003 per op.
    pub fn bench_custom(
        &mut self,
        function: &str,
        param: &str,
        ops_per_iter: u64,
        routine: impl FnMut(u64) -> Duration,
    ) {
        self.bench_counted(function, param, ops_per_iter, 20_000, routine);
    }

    fn bench_counted(
        &mut self,
        function: &str,
        param: &str,
        ops_per_iter: u64,
        counted_iters: u64,
        mut routine: impl FnMut(u64) -> Duration,
    ) {
        let mut recorded = false;
        let name = &self.name;
        self.inner.bench_function(BenchmarkId::new(function, param), |b| {
            if !recorded {
                recorded = true;
                routine(counted_iters); // warm: caches, thread registries, lazy statics
                let counts = count_allocs(|| {
                    routine(counted_iters);
                });
                report_allocs(name, function, param, counted_iters * ops_per_iter, counts);
            }
            b.iter_custom(&mut routine);
        });
    }

    pub fn finish(self) {
        self.inner.finish();
    }
}

// === workloads that spawn threads ===

/// A producer (this thread) makes `iters` items and sends them over a bounded
/// channel; a consumer thread drops them. Times until the consumer is done.
pub fn handoff<T: Send>(iters: u64, produce: impl Fn() -> T) -> Duration {
    let (tx, rx) = sync_channel::<T>(CHANNEL_BOUND);
    thread::scope(|s| {
        let consumer = s.spawn(move || rx.into_iter().for_each(drop));
        let start = Instant::now();
        for _ in 0..iters {
            tx.send(produce()).expect("consumer alive");
        }
        drop(tx);
        consumer.join().expect("consumer panicked");
        start.elapsed()
    })
}

/// `threads` threads each run `op` `iters` times, released together by a
/// barrier. Returns the wall time, so time per iteration = time per op per
/// thread, and total throughput = threads / that.
pub fn churn(threads: usize, iters: u64, op: &(impl Fn() + Sync)) -> Duration {
    let barrier = Barrier::new(threads + 1);
    thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    for _ in 0..iters {
                        op();
                    }
                })
            })
            .collect();
        barrier.wait();
        let start = Instant::now();
        for w in workers {
            w.join().expect("worker panicked");
        }
        start.elapsed()
    })
}

// === peers, each set up as a pool for one size ===

/// opool's allocator hook: one pool per tier size.
pub struct TierAlloc(pub usize);

impl opool::PoolAllocator<BytesMut> for TierAlloc {
    fn allocate(&self) -> BytesMut {
        BytesMut::with_capacity(self.0)
    }
    fn reset(&self, obj: &mut BytesMut) {
        obj.clear();
    }
    fn is_valid(&self, obj: &BytesMut) -> bool {
        obj.capacity() >= self.0
    }
}

pub type OPool = opool::Pool<TierAlloc, BytesMut>;
pub type LinearPool = lockfree_object_pool::LinearObjectPool<BytesMut>;
pub type MutexVecPool = object_pool::Pool<BytesMut>;

pub fn opool(size: usize) -> OPool {
    opool::Pool::new(1024, TierAlloc(size))
}

pub fn linear_pool(size: usize) -> LinearPool {
    lockfree_object_pool::LinearObjectPool::new(move || BytesMut::with_capacity(size), BytesMut::clear)
}

pub fn mutex_vec_pool(size: usize) -> MutexVecPool {
    object_pool::Pool::new(0, move || BytesMut::with_capacity(size))
}

/// Writes the 64-byte payload into the start of an uninitialised zeropool buffer.
#[inline]
pub fn write_uninit(buf: &mut zeropool::BufUninit<'_>) {
    for (dst, &src) in buf.as_uninit_mut()[..PAYLOAD.len()].iter_mut().zip(&PAYLOAD) {
        dst.write(src);
    }
}

/// Keeps the optimiser from dropping a write.
#[inline]
pub fn touch<T: ?Sized>(x: &T) {
    black_box(x);
}

// === the groups, shared by the allocator binaries ===

/// Which competitors a binary runs: every binary runs tierpool and
/// `BytesMut::with_capacity` under its own allocator (named `bytesmut_<alloc>`);
/// only the glibc binary runs the peer pools.
#[derive(Clone, Copy)]
pub struct Lineup {
    pub alloc: &'static str,
    pub peers: bool,
}

impl Lineup {
    fn bytesmut(self) -> String {
        format!("bytesmut_{}", self.alloc)
    }

    /// Group names carry the allocator, except under glibc (the default).
    pub fn group(self, base: &str) -> String {
        if self.alloc == "glibc" { base.to_owned() } else { format!("{base}_{}", self.alloc) }
    }
}

/// The workloads every allocator-only binary (`alloc_jemalloc`,
/// `alloc_mimalloc`) runs: tierpool beside `BytesMut` under that allocator.
pub fn allocator_workloads(c: &mut Criterion, lineup: Lineup) {
    hit(c, lineup);
    held(c, lineup);
    handoff_group(c, lineup);
    contention(c, lineup);
}

/// Group 1, hit: `get(n)` + write 64 B + drop, single thread, each tier.
pub fn hit(c: &mut Criterion, lineup: Lineup) {
    let mut g = Group::new(c, &lineup.group("hit"));
    let pool = tierpool::BufPool::new();
    for (param, size) in TIERS {
        g.bench("tierpool", param, 1, || {
            let mut buf = pool.get(black_box(size));
            buf.extend_from_slice(&PAYLOAD);
            touch(&*buf);
        });
        g.bench("tierpool_global", param, 1, || {
            let mut buf = tierpool::get(black_box(size));
            buf.extend_from_slice(&PAYLOAD);
            touch(&*buf);
        });
        g.bench(&lineup.bytesmut(), param, 1, || {
            let mut buf = BytesMut::with_capacity(black_box(size));
            buf.extend_from_slice(&PAYLOAD);
            touch(&*buf);
        });
        if !lineup.peers {
            continue;
        }
        let zp = zeropool::ZeroPool::new();
        g.bench("zeropool", param, 1, || {
            let mut buf = zp.alloc(black_box(size)); // safe API: zeroes `size` bytes
            buf[..PAYLOAD.len()].copy_from_slice(&PAYLOAD);
            touch(&*buf);
        });
        g.bench("zeropool_uninit", param, 1, || {
            let mut buf = zp.alloc_uninit(black_box(size));
            write_uninit(&mut buf);
            touch(&buf);
        });
        let op = opool(size);
        g.bench("opool", param, 1, || {
            let mut buf = op.get();
            buf.extend_from_slice(&PAYLOAD);
            touch(&**buf);
        });
        let lp = linear_pool(size);
        g.bench("lockfree_object_pool", param, 1, || {
            let mut buf = lp.pull();
            buf.extend_from_slice(&PAYLOAD);
            touch(&**buf);
        });
        let mp = mutex_vec_pool(size);
        g.bench("object_pool", param, 1, || {
            let mut buf = mp.pull(|| BytesMut::with_capacity(size));
            buf.clear(); // object-pool does not reset on return
            buf.extend_from_slice(&PAYLOAD);
            touch(&**buf);
        });
        let bp = byte_pool::BytePool::<Vec<u8>>::new();
        g.bench("byte_pool", param, 1, || {
            let mut buf = bp.alloc(black_box(size));
            buf[..PAYLOAD.len()].copy_from_slice(&PAYLOAD);
            touch(&**buf);
        });
    }
    g.finish();
}

/// Group 2, fill: get + write the whole tier + `freeze`.
pub fn fill(c: &mut Criterion, lineup: Lineup) {
    let mut g = Group::new(c, &lineup.group("fill"));
    let pool = std::sync::Arc::new(tierpool::BufPool::new());
    let src = vec![0xA5_u8; 1 << 20];
    for (param, size) in TIERS {
        freezes(&mut g, lineup, &pool, param, &src[..size]);
    }
    g.finish();
}

/// Group 3, held: k buffers out at once, then all dropped. Time per iteration is
/// for k buffers; allocations are reported per buffer.
pub fn held(c: &mut Criterion, lineup: Lineup) {
    const KS: [usize; 3] = [8, 64, 512];
    let mut g = Group::new(c, &lineup.group("held"));
    for (tier, size) in &TIERS[..2] {
        let size = *size;
        for k in KS {
            let param = format!("{tier}_k{k}");
            let pool = tierpool::BufPool::new();
            held_one(&mut g, "tierpool", &param, k, || {
                let mut buf = pool.get(black_box(size));
                buf.extend_from_slice(&PAYLOAD);
                buf
            });
            held_one(&mut g, &lineup.bytesmut(), &param, k, || {
                let mut buf = BytesMut::with_capacity(black_box(size));
                buf.extend_from_slice(&PAYLOAD);
                buf
            });
            if !lineup.peers {
                continue;
            }
            let zp = zeropool::ZeroPool::new();
            held_one(&mut g, "zeropool_uninit", &param, k, || {
                let mut buf = zp.alloc_uninit(black_box(size));
                write_uninit(&mut buf);
                buf
            });
            let op = opool(size);
            held_one(&mut g, "opool", &param, k, || {
                let mut buf = op.get();
                buf.extend_from_slice(&PAYLOAD);
                buf
            });
            let lp = linear_pool(size);
            held_one(&mut g, "lockfree_object_pool", &param, k, || {
                let mut buf = lp.pull();
                buf.extend_from_slice(&PAYLOAD);
                buf
            });
            let mp = mutex_vec_pool(size);
            held_one(&mut g, "object_pool", &param, k, || {
                let mut buf = mp.pull(|| BytesMut::with_capacity(size));
                buf.clear();
                buf.extend_from_slice(&PAYLOAD);
                buf
            });
            let bp = byte_pool::BytePool::<Vec<u8>>::new();
            held_one(&mut g, "byte_pool", &param, k, || {
                let mut buf = bp.alloc(black_box(size));
                buf[..PAYLOAD.len()].copy_from_slice(&PAYLOAD);
                buf
            });
        }
    }
    g.finish();
}

/// Group 4, cross-thread hand-off: producer gets + writes + sends, consumer drops.
pub fn handoff_group(c: &mut Criterion, lineup: Lineup) {
    let mut g = Group::new(c, &lineup.group("handoff")).flat(20);
    for (param, size) in TIERS {
        handoff_one(&mut g, "channel_only", param, || black_box([0_usize; 4]));
        let pool = std::sync::Arc::new(tierpool::BufPool::new());
        handoff_one(&mut g, "tierpool", param, || {
            let mut buf = pool.get_owned(black_box(size));
            buf.extend_from_slice(&PAYLOAD);
            buf
        });
        handoff_one(&mut g, &lineup.bytesmut(), param, || {
            let mut buf = BytesMut::with_capacity(black_box(size));
            buf.extend_from_slice(&PAYLOAD);
            buf
        });
        if !lineup.peers {
            continue;
        }
        let zp = zeropool::ZeroPool::new();
        handoff_one(&mut g, "zeropool_uninit", param, || {
            let mut buf = zp.alloc_uninit(black_box(size));
            write_uninit(&mut buf);
            buf
        });
        let op = opool(size);
        handoff_one(&mut g, "opool", param, || {
            let mut buf = op.get();
            buf.extend_from_slice(&PAYLOAD);
            buf
        });
        let lp = linear_pool(size);
        handoff_one(&mut g, "lockfree_object_pool", param, || {
            let mut buf = lp.pull();
            buf.extend_from_slice(&PAYLOAD);
            buf
        });
        let mp = mutex_vec_pool(size);
        handoff_one(&mut g, "object_pool", param, || {
            let mut buf = mp.pull(|| BytesMut::with_capacity(size));
            buf.clear();
            buf.extend_from_slice(&PAYLOAD);
            buf
        });
        let bp = byte_pool::BytePool::<Vec<u8>>::new();
        handoff_one(&mut g, "byte_pool", param, || {
            let mut buf = bp.alloc(black_box(size));
            buf[..PAYLOAD.len()].copy_from_slice(&PAYLOAD);
            buf
        });
    }
    g.finish();
}

/// One competitor of the held group: each iteration makes `k` items with
/// `make` (get and write), holds them all, then drops them all.
fn held_one<T>(g: &mut Group, name: &str, param: &str, k: usize, make: impl Fn() -> T) {
    let mut out = Vec::with_capacity(k);
    g.bench(name, param, k as u64, || {
        out.extend((0..k).map(|_| make()));
        out.clear();
    });
}

/// One competitor of the hand-off group: `produce` makes (gets and writes)
/// an item on this thread; the consumer thread drops it.
fn handoff_one<T: Send>(g: &mut Group, name: &str, param: &str, produce: impl Fn() -> T) {
    g.bench_custom(name, param, 1, |iters| handoff(iters, &produce));
}

/// Group 5, contention: 1, 2 and 4 threads churning one pool at 4 KiB. Time per
/// iteration is per op per thread.
pub fn contention(c: &mut Criterion, lineup: Lineup) {
    let mut g = Group::new(c, &lineup.group("contention")).flat(20);
    let size = TIERS[0].1;
    for threads in [1, 2, 4] {
        let param = format!("4KiB_t{threads}");
        let pool = tierpool::BufPool::new();
        churn_one(&mut g, "tierpool", &param, threads, || {
            let mut buf = pool.get(black_box(size));
            buf.extend_from_slice(&PAYLOAD);
            touch(&*buf);
        });
        churn_one(&mut g, &lineup.bytesmut(), &param, threads, || {
            let mut buf = BytesMut::with_capacity(black_box(size));
            buf.extend_from_slice(&PAYLOAD);
            touch(&*buf);
        });
        if !lineup.peers {
            continue;
        }
        let zp = zeropool::ZeroPool::new();
        churn_one(&mut g, "zeropool_uninit", &param, threads, || {
            let mut buf = zp.alloc_uninit(black_box(size));
            write_uninit(&mut buf);
            touch(&buf);
        });
        let op = opool(size);
        churn_one(&mut g, "opool", &param, threads, || {
            let mut buf = op.get();
            buf.extend_from_slice(&PAYLOAD);
            touch(&**buf);
        });
        let lp = linear_pool(size);
        churn_one(&mut g, "lockfree_object_pool", &param, threads, || {
            let mut buf = lp.pull();
            buf.extend_from_slice(&PAYLOAD);
            touch(&**buf);
        });
        let mp = mutex_vec_pool(size);
        churn_one(&mut g, "object_pool", &param, threads, || {
            let mut buf = mp.pull(|| BytesMut::with_capacity(size));
            buf.clear();
            buf.extend_from_slice(&PAYLOAD);
            touch(&**buf);
        });
        let bp = byte_pool::BytePool::<Vec<u8>>::new();
        churn_one(&mut g, "byte_pool", &param, threads, || {
            let mut buf = bp.alloc(black_box(size));
            buf[..PAYLOAD.len()].copy_from_slice(&PAYLOAD);
            touch(&**buf);
        });
    }
    g.finish();
}

/// One competitor of the contention group: `threads` threads each run `op`.
fn churn_one(g: &mut Group, name: &str, param: &str, threads: usize, op: impl Fn() + Sync) {
    g.bench_custom(name, param, threads as u64, |iters| churn(threads, iters, &op));
}

/// The freezes `fill` and `freeze_variants` share: a buffer of exactly
/// `data.len()` bytes gets `data`, then tierpool's copy-out `freeze`,
/// tierpool's zero-copy `into_shared`, or `BytesMut::freeze`.
fn freezes(g: &mut Group, lineup: Lineup, pool: &std::sync::Arc<tierpool::BufPool>, param: &str, data: &[u8]) {
    let n = data.len();
    g.bench("tierpool_freeze", param, 1, || {
        let mut buf = pool.get(n);
        buf.extend_from_slice(data);
        touch(&buf.freeze());
    });
    g.bench("tierpool_into_shared", param, 1, || {
        let mut buf = pool.get_owned(n);
        buf.extend_from_slice(data);
        touch(&buf.into_shared());
    });
    g.bench(&format!("{}_freeze", lineup.bytesmut()), param, 1, || {
        let mut buf = BytesMut::with_capacity(n);
        buf.extend_from_slice(data);
        touch(&buf.freeze());
    });
}

/// Group 6, freeze variants: copy-out `freeze`, zero-copy `into_shared`, and the
/// `bytes` idioms `BytesMut::freeze` and a long-lived `BytesMut` with
/// `split().freeze()`, for 64 B, 1.5 KiB and 64 KiB payloads.
pub fn freeze_variants(c: &mut Criterion, lineup: Lineup) {
    const PAYLOADS: [(&str, usize); 3] = [("64B", 64), ("1536B", 1536), ("64KiB", 64 << 10)];
    let mut g = Group::new(c, &lineup.group("freeze"));
    let pool = std::sync::Arc::new(tierpool::BufPool::new());
    let src = vec![0xA5_u8; 64 << 10];
    for (param, n) in PAYLOADS {
        let data = &src[..n];
        freezes(&mut g, lineup, &pool, param, data);
        let mut acc = BytesMut::with_capacity(64 << 10);
        g.bench("bytesmut_split_freeze", param, 1, || {
            acc.reserve(n); // reclaims in place once the previous frame is dropped
            acc.extend_from_slice(data);
            touch(&acc.split().freeze());
        });
    }
    g.finish();
}
