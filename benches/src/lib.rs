//! What every bench binary shares: the counting allocator, a recorder that
//! writes allocations per op beside criterion's estimates, the timing loops,
//! the two ways a workload writes into a buffer, the competitors, and the
//! groups.
//!
//! Each binary (`pools`, `alloc_jemalloc`, `alloc_mimalloc`) installs its own
//! `#[global_allocator]` as `Counting::windowed(<allocator>)`, so the same
//! workloads run under glibc, jemalloc and mimalloc.
//!
//! **Opaque and inlined.** A workload that writes through calls the compiler
//! can see lets it prove that the buffer was not replaced, split or grown,
//! and fold much of a pool's return path away. Real callers are opaque: a
//! `read_buf` on a socket, a serializer, a handler in another crate. So
//! every group runs twice: `<group>` writes through a function pointer the
//! compiler cannot see through ([`opaque`]), `<group>_inlined` writes with
//! `extend_from_slice` in place. Group names carry the allocator, except
//! under glibc: `hit`, `hit_inlined`, `hit_jemalloc`, `hit_inlined_jemalloc`.
#![allow(missing_docs)] // a bench harness, not an API

// The layers, each importing only from those above it in this list
// (`.ci/layers.py` checks it; rustfmt.toml keeps the order). The root's own
// items, below, use only `counting`, and every layer may use them.
#[path = "../../tests/support/counting.rs"]
mod counting;
pub mod json; // the JSON document of `serialize` and `large`
pub mod bare; // the bound: a bare thread-local stack
pub mod peers; // the peer pools
pub mod groups; // workloads on buffers within a tier
pub mod large; // workloads on payloads larger than any tier
pub mod suite; // all groups of a binary

use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Barrier;
use std::sync::mpsc::sync_channel;
use std::thread;
use std::time::{Duration, Instant};

use bytes::{BufMut, BytesMut};
pub use counting::Counting;
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, SamplingMode};

pub const PAYLOAD: [u8; 64] = [0x5A; 64];
pub const TIERS: [(&str, usize); 3] = [("4KiB", 4 << 10), ("64KiB", 64 << 10), ("1MiB", 1 << 20)];
/// Bound of the hand-off channel: a socket reader a few frames ahead of its worker.
pub const CHANNEL_BOUND: usize = 64;

// === writing into a buffer ===

fn write64(buf: &mut BytesMut) {
    buf.extend_from_slice(&PAYLOAD);
}

fn write64_bufmut(buf: &mut dyn BufMut) {
    buf.put_slice(&PAYLOAD);
}

/// Writes the payload through a function the compiler cannot see into: the
/// pointer passes through `black_box`, so the call is indirect and nothing
/// about `buf` survives it.
#[inline(never)]
pub fn opaque(buf: &mut BytesMut) {
    black_box(write64 as fn(&mut BytesMut))(buf);
}

/// As [`opaque`], through `&mut dyn BufMut`: the shape of `read_buf` and of
/// serializers that take a `BufMut`. On a `PooledBuf` this uses the guard's
/// own `BufMut`, not `DerefMut`.
#[inline(never)]
pub fn opaque_bufmut(buf: &mut dyn BufMut) {
    black_box(write64_bufmut as fn(&mut dyn BufMut))(buf);
}

/// How a workload writes its 64 bytes.
pub trait Write: Copy + Send + Sync + 'static {
    /// `opaque` or `inlined`, for group names.
    const NAME: &'static str;
    /// Into a `BytesMut`.
    fn bytes_mut(buf: &mut BytesMut);
    /// Into a tierpool guard: opaquely through `&mut BytesMut` (`DerefMut`), or
    /// inlined through the guard's own `extend_from_slice`.
    fn guard(buf: &mut tierpool::PooledBuf<'_>);
}

#[derive(Clone, Copy)]
pub struct Opaque;

#[derive(Clone, Copy)]
pub struct Inlined;

impl Write for Opaque {
    const NAME: &'static str = "opaque";

    #[inline]
    fn bytes_mut(buf: &mut BytesMut) {
        opaque(buf);
    }

    #[inline]
    fn guard(buf: &mut tierpool::PooledBuf<'_>) {
        opaque(buf);
    }
}

impl Write for Inlined {
    const NAME: &'static str = "inlined";

    #[inline]
    fn bytes_mut(buf: &mut BytesMut) {
        buf.extend_from_slice(&PAYLOAD);
    }

    #[inline]
    fn guard(buf: &mut tierpool::PooledBuf<'_>) {
        buf.extend_from_slice(&PAYLOAD);
    }
}

/// Keeps the optimiser from dropping a write.
#[inline]
pub fn touch<T: ?Sized>(x: &T) {
    black_box(x);
}

// === allocations per op ===

/// Where criterion writes: `$CARGO_TARGET_DIR/criterion`, else the
/// workspace's `target/criterion`.
fn criterion_dir() -> PathBuf {
    std::env::var_os("CRITERION_HOME").map(PathBuf::from).unwrap_or_else(|| {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
        target.join("criterion")
    })
}

/// Prints allocations per op and writes them to
/// `target/criterion/<group>/<function>/<param>/allocs.json`, beside
/// criterion's own `new/estimates.json`, for `scripts/chart.py`.
fn report_allocs(group: &str, function: &str, param: &str, ops: u64, counts: counting::Counts) {
    let per_op = counts.allocs as f64 / ops as f64;
    let bytes_per_op = counts.bytes as f64 / ops as f64;
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

    /// Like [`bench`](Self::bench), with allocations counted over `counted`
    /// iterations: for an op that takes milliseconds.
    pub fn bench_slow(&mut self, function: &str, param: &str, counted: u64, mut op: impl FnMut()) {
        self.bench_counted(function, param, 1, counted, |iters| {
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
                let (counts, _) = counting::count(|| routine(counted_iters));
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
/// barrier, and each times its own loop. Returns the mean of those times,
/// so time per iteration = time per op per thread, and total throughput =
/// threads / that.
///
/// The workers stamp their own start and end. A stamp taken by the spawning
/// thread after it passed the barrier measured when the scheduler ran it:
/// with two workers on two cores it is a third runnable thread
/// (notes/benchmarks-notebook.md, *How the benches are built*, has what that did).
pub fn churn(threads: usize, iters: u64, op: &(impl Fn() + Sync)) -> Duration {
    let barrier = Barrier::new(threads);
    let total: Duration = thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    let start = Instant::now();
                    for _ in 0..iters {
                        op();
                    }
                    start.elapsed()
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().expect("worker panicked")).sum()
    });
    total / u32::try_from(threads).expect("a few threads")
}

// === the line-up of one binary ===

/// Which competitors a binary runs: every binary runs tierpool, the bound
/// and `BytesMut::with_capacity` under its own allocator (named
/// `bytesmut_<alloc>`); `peers` adds the peer pools.
#[derive(Clone, Copy)]
pub struct Lineup {
    pub alloc: &'static str,
    pub peers: bool,
}

impl Lineup {
    pub fn bytesmut(self) -> String {
        format!("bytesmut_{}", self.alloc)
    }

    /// `base` for the opaque variant and `base_inlined` for the other, with
    /// the allocator's suffix except under glibc.
    pub fn group<W: Write>(self, base: &str) -> String {
        let variant = if W::NAME == "inlined" { format!("{base}_inlined") } else { base.to_owned() };
        if self.alloc == "glibc" { variant } else { format!("{variant}_{}", self.alloc) }
    }
}
