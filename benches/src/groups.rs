//! The workloads on buffers within a tier, each generic over how it writes
//! (`Opaque`, `Inlined`).
//!
//! - `hit`: get + write 64 B + drop, one thread, each tier.
//! - `held`: k buffers out at once, then all dropped; time per buffer.
//! - `handoff`: a producer gets and writes, a consumer thread drops.
//! - `contention`: 1, 2 and 4 threads churning one pool; time per op per thread.
//! - `fill`, `freeze`: a whole tier written, then frozen; freezes of small payloads.
//! - `serialize`: a JSON document encoded into a pooled buffer, beside `Vec`.

use std::hint::black_box;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use criterion::Criterion;

use crate::bare::{Bare, BareExact};
use crate::json::{doc, encode};
use crate::peers::{self, linear_pool, mutex_vec_pool, opool};
use crate::{Group, Lineup, TIERS, Write, churn, handoff, opaque_bufmut, touch};

/// `hit`: get + write 64 B + drop, single thread, each tier.
pub fn hit<W: Write>(c: &mut Criterion, lineup: Lineup) {
    let mut g = Group::new(c, &lineup.group::<W>("hit"));
    let pool = tierpool::BufPool::new();
    for (param, size) in TIERS {
        g.bench("tierpool", param, 1, || {
            let mut buf = pool.get(black_box(size));
            W::guard(&mut buf);
            touch(&*buf);
        });
        if W::NAME == "opaque" {
            // The guard's own `BufMut` through `&mut dyn BufMut`: `read_buf`'s shape.
            g.bench("tierpool_bufmut", param, 1, || {
                let mut buf = pool.get(black_box(size));
                opaque_bufmut(&mut buf);
                touch(&*buf);
            });
        }
        g.bench("tierpool_global", param, 1, || {
            let mut buf = tierpool::get(black_box(size));
            W::guard(&mut buf);
            touch(&*buf);
        });
        g.bench("bare_tls", param, 1, || {
            let mut buf = Bare::get(black_box(size));
            W::bytes_mut(&mut buf);
            touch(&*buf);
        });
        if W::NAME == "opaque" {
            // The bound written as `tierpool_bufmut` is: `BytesMut`'s own
            // `BufMut` through `&mut dyn BufMut`.
            g.bench("bare_tls_bufmut", param, 1, || {
                let mut buf = Bare::get(black_box(size));
                opaque_bufmut(&mut *buf);
                touch(&*buf);
            });
        }
        g.bench("bare_tls_exact", param, 1, || {
            let mut buf = BareExact::get(black_box(size));
            W::bytes_mut(&mut buf);
            touch(&*buf);
        });
        g.bench(&lineup.bytesmut(), param, 1, || {
            let mut buf = BytesMut::with_capacity(black_box(size));
            W::bytes_mut(&mut buf);
            touch(&*buf);
        });
        if !lineup.peers {
            continue;
        }
        let zp = zeropool::ZeroPool::new();
        g.bench("zeropool", param, 1, || {
            let mut buf = zp.alloc(black_box(size)); // safe API: zeroes `size` bytes
            peers::slice::<W>(&mut buf);
            touch(&*buf);
        });
        g.bench("zeropool_uninit", param, 1, || {
            let mut buf = zp.alloc_uninit(black_box(size));
            peers::uninit::<W>(buf.as_uninit_mut());
            touch(&buf);
        });
        let op = opool(size);
        g.bench("opool", param, 1, || {
            let mut buf = op.get();
            W::bytes_mut(&mut buf);
            touch(&**buf);
        });
        let lp = linear_pool(size);
        g.bench("lockfree_object_pool", param, 1, || {
            let mut buf = lp.pull();
            W::bytes_mut(&mut buf);
            touch(&**buf);
        });
        let mp = mutex_vec_pool(size);
        g.bench("object_pool", param, 1, || {
            let mut buf = mp.pull(|| BytesMut::with_capacity(size));
            buf.clear(); // object-pool does not reset on return
            W::bytes_mut(&mut buf);
            touch(&**buf);
        });
        let bp = byte_pool::BytePool::<Vec<u8>>::new();
        g.bench("byte_pool", param, 1, || {
            let mut buf = bp.alloc(black_box(size));
            peers::slice::<W>(&mut buf);
            touch(&**buf);
        });
    }
    g.finish();
}

/// `held`: k buffers out at once, then all dropped. Time per iteration is for
/// k buffers; allocations are reported per buffer.
pub fn held<W: Write>(c: &mut Criterion, lineup: Lineup) {
    const KS: [usize; 3] = [8, 64, 512];
    let mut g = Group::new(c, &lineup.group::<W>("held"));
    for (tier, size) in &TIERS[..2] {
        let size = *size;
        for k in KS {
            let param = format!("{tier}_k{k}");
            let pool = tierpool::BufPool::new();
            held_one(&mut g, "tierpool", &param, k, || {
                let mut buf = pool.get(black_box(size));
                W::guard(&mut buf);
                buf
            });
            held_one(&mut g, "bare_tls", &param, k, || {
                let mut buf = Bare::get(black_box(size));
                W::bytes_mut(&mut buf);
                buf
            });
            held_one(&mut g, &lineup.bytesmut(), &param, k, || {
                let mut buf = BytesMut::with_capacity(black_box(size));
                W::bytes_mut(&mut buf);
                buf
            });
            if !lineup.peers {
                continue;
            }
            let zp = zeropool::ZeroPool::new();
            held_one(&mut g, "zeropool_uninit", &param, k, || {
                let mut buf = zp.alloc_uninit(black_box(size));
                peers::uninit::<W>(buf.as_uninit_mut());
                buf
            });
            let op = opool(size);
            held_one(&mut g, "opool", &param, k, || {
                let mut buf = op.get();
                W::bytes_mut(&mut buf);
                buf
            });
            let lp = linear_pool(size);
            held_one(&mut g, "lockfree_object_pool", &param, k, || {
                let mut buf = lp.pull();
                W::bytes_mut(&mut buf);
                buf
            });
            let mp = mutex_vec_pool(size);
            held_one(&mut g, "object_pool", &param, k, || {
                let mut buf = mp.pull(|| BytesMut::with_capacity(size));
                buf.clear();
                W::bytes_mut(&mut buf);
                buf
            });
            let bp = byte_pool::BytePool::<Vec<u8>>::new();
            held_one(&mut g, "byte_pool", &param, k, || {
                let mut buf = bp.alloc(black_box(size));
                peers::slice::<W>(&mut buf);
                buf
            });
        }
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

/// `handoff`: the producer gets and writes, and sends over a bounded channel;
/// a consumer thread drops. `tierpool` hands over borrowed guards (the
/// threads are scoped, as for the peers); `tierpool_owned` hands over
/// `get_owned` guards, which hold a reference count.
pub fn handoff_group<W: Write>(c: &mut Criterion, lineup: Lineup) {
    let mut g = Group::new(c, &lineup.group::<W>("handoff")).flat(20);
    for (param, size) in TIERS {
        handoff_one(&mut g, "channel_only", param, || black_box([0_usize; 4]));
        let pool = Arc::new(tierpool::BufPool::new());
        handoff_one(&mut g, "tierpool", param, || {
            let mut buf = pool.get(black_box(size));
            W::guard(&mut buf);
            buf
        });
        handoff_one(&mut g, "tierpool_owned", param, || {
            let mut buf = pool.get_owned(black_box(size));
            W::guard(&mut buf);
            buf
        });
        handoff_one(&mut g, &lineup.bytesmut(), param, || {
            let mut buf = BytesMut::with_capacity(black_box(size));
            W::bytes_mut(&mut buf);
            buf
        });
        if !lineup.peers {
            continue;
        }
        let zp = zeropool::ZeroPool::new();
        handoff_one(&mut g, "zeropool_uninit", param, || {
            let mut buf = zp.alloc_uninit(black_box(size));
            peers::uninit::<W>(buf.as_uninit_mut());
            buf
        });
        let op = opool(size);
        handoff_one(&mut g, "opool", param, || {
            let mut buf = op.get();
            W::bytes_mut(&mut buf);
            buf
        });
        let lp = linear_pool(size);
        handoff_one(&mut g, "lockfree_object_pool", param, || {
            let mut buf = lp.pull();
            W::bytes_mut(&mut buf);
            buf
        });
        let mp = mutex_vec_pool(size);
        handoff_one(&mut g, "object_pool", param, || {
            let mut buf = mp.pull(|| BytesMut::with_capacity(size));
            buf.clear();
            W::bytes_mut(&mut buf);
            buf
        });
        let bp = byte_pool::BytePool::<Vec<u8>>::new();
        handoff_one(&mut g, "byte_pool", param, || {
            let mut buf = bp.alloc(black_box(size));
            peers::slice::<W>(&mut buf);
            buf
        });
    }
    g.finish();
}

/// One competitor of the hand-off group: `produce` makes (gets and writes)
/// an item on this thread; the consumer thread drops it.
fn handoff_one<T: Send>(g: &mut Group, name: &str, param: &str, produce: impl Fn() -> T) {
    g.bench_custom(name, param, 1, |iters| handoff(iters, &produce));
}

/// `contention`: 1, 2 and 4 threads churning one pool, at 4 KiB and 64 KiB.
/// Time per iteration is per op per thread.
pub fn contention<W: Write>(c: &mut Criterion, lineup: Lineup) {
    let mut g = Group::new(c, &lineup.group::<W>("contention")).flat(20);
    for (tier, size) in &TIERS[..2] {
        let size = *size;
        for threads in [1, 2, 4] {
            let param = format!("{tier}_t{threads}");
            let pool = tierpool::BufPool::new();
            churn_one(&mut g, "tierpool", &param, threads, || {
                let mut buf = pool.get(black_box(size));
                W::guard(&mut buf);
                touch(&*buf);
            });
            churn_one(&mut g, &lineup.bytesmut(), &param, threads, || {
                let mut buf = BytesMut::with_capacity(black_box(size));
                W::bytes_mut(&mut buf);
                touch(&*buf);
            });
            if !lineup.peers {
                continue;
            }
            let zp = zeropool::ZeroPool::new();
            churn_one(&mut g, "zeropool_uninit", &param, threads, || {
                let mut buf = zp.alloc_uninit(black_box(size));
                peers::uninit::<W>(buf.as_uninit_mut());
                touch(&buf);
            });
            let op = opool(size);
            churn_one(&mut g, "opool", &param, threads, || {
                let mut buf = op.get();
                W::bytes_mut(&mut buf);
                touch(&**buf);
            });
            let lp = linear_pool(size);
            churn_one(&mut g, "lockfree_object_pool", &param, threads, || {
                let mut buf = lp.pull();
                W::bytes_mut(&mut buf);
                touch(&**buf);
            });
            let mp = mutex_vec_pool(size);
            churn_one(&mut g, "object_pool", &param, threads, || {
                let mut buf = mp.pull(|| BytesMut::with_capacity(size));
                buf.clear();
                W::bytes_mut(&mut buf);
                touch(&**buf);
            });
            let bp = byte_pool::BytePool::<Vec<u8>>::new();
            churn_one(&mut g, "byte_pool", &param, threads, || {
                let mut buf = bp.alloc(black_box(size));
                peers::slice::<W>(&mut buf);
                touch(&**buf);
            });
        }
    }
    g.finish();
}

/// One competitor of the contention group: `threads` threads each run `op`.
fn churn_one(g: &mut Group, name: &str, param: &str, threads: usize, op: impl Fn() + Sync) {
    g.bench_custom(name, param, threads as u64, |iters| churn(threads, iters, &op));
}

/// Writes `data` opaquely or inlined.
#[inline]
fn fill_with<W: Write>(buf: &mut BytesMut, data: &[u8]) {
    if W::NAME == "opaque" {
        opaque_fill(buf, data);
    } else {
        buf.extend_from_slice(data);
    }
}

#[inline(never)]
fn opaque_fill(buf: &mut BytesMut, data: &[u8]) {
    black_box((|b: &mut BytesMut, d: &[u8]| b.extend_from_slice(d)) as fn(&mut BytesMut, &[u8]))(buf, data);
}

/// `fill`: get a buffer of exactly a tier's size, write all of it, and
/// freeze: tierpool's copy-out `freeze` and zero-copy `into_shared`, beside
/// `BytesMut::freeze`.
pub fn fill<W: Write>(c: &mut Criterion, lineup: Lineup) {
    let mut g = Group::new(c, &lineup.group::<W>("fill"));
    let pool = Arc::new(tierpool::BufPool::new());
    let src = vec![0xA5_u8; 1 << 20];
    for (param, size) in TIERS {
        freezes::<W>(&mut g, lineup, &pool, param, &src[..size]);
    }
    g.finish();
}

fn freezes<W: Write>(g: &mut Group, lineup: Lineup, pool: &Arc<tierpool::BufPool>, param: &str, data: &[u8]) {
    let n = data.len();
    g.bench("tierpool_freeze", param, 1, || {
        let mut buf = pool.get(n);
        if W::NAME == "opaque" {
            opaque_fill(&mut buf, data);
        } else {
            buf.extend_from_slice(data);
        }
        touch(&buf.freeze());
    });
    g.bench("tierpool_into_shared", param, 1, || {
        let mut buf = pool.get_owned(n);
        if W::NAME == "opaque" {
            opaque_fill(&mut buf, data);
        } else {
            buf.extend_from_slice(data);
        }
        touch(&buf.into_shared());
    });
    g.bench(&format!("{}_freeze", lineup.bytesmut()), param, 1, || {
        let mut buf = BytesMut::with_capacity(n);
        fill_with::<W>(&mut buf, data);
        touch(&buf.freeze());
    });
}

/// `freeze`: the freezes of `fill` for 64 B, 1.5 KiB and 64 KiB payloads,
/// plus the `bytes` idiom of one long-lived `BytesMut` and `split().freeze()`.
pub fn freeze_variants(c: &mut Criterion, lineup: Lineup) {
    const PAYLOADS: [(&str, usize); 3] = [("64B", 64), ("1536B", 1536), ("64KiB", 64 << 10)];
    let mut g = Group::new(c, &lineup.group::<crate::Inlined>("freeze"));
    let pool = Arc::new(tierpool::BufPool::new());
    let src = vec![0xA5_u8; 64 << 10];
    for (param, n) in PAYLOADS {
        let data = &src[..n];
        freezes::<crate::Inlined>(&mut g, lineup, &pool, param, data);
        let mut acc = BytesMut::with_capacity(64 << 10);
        g.bench("bytesmut_split_freeze", param, 1, || {
            acc.reserve(n); // reclaims in place once the previous frame is dropped
            acc.extend_from_slice(data);
            touch(&acc.split().freeze());
        });
    }
    g.finish();
}

/// `serialize`: JSON documents of 1 KiB and 16 KiB, per encode:
/// - `vec_reused`: into one `Vec<u8>`, cleared each time (the floor);
/// - `bytesmut_reused`: into one `BytesMut` through `.writer()`;
/// - `tierpool_write`: into a pooled guard through its own `io::Write`;
/// - `tierpool_freeze`: the same, then `freeze()`: a `Bytes` to send;
/// - `to_vec_bytes`: `serde_json::to_vec`'s own body (a `Vec` of 128 bytes,
///   then `to_writer`, here through the group's writer) then `Bytes::from`;
/// - `vec_capacity_bytes`: into `Vec::with_capacity(4096)` then `Bytes::from`.
pub fn serialize<W: Write>(c: &mut Criterion, lineup: Lineup) {
    let mut g = Group::new(c, &lineup.group::<W>("serialize"));
    let pool = tierpool::BufPool::new();
    for (param, bytes) in [("1KiB", 1 << 10), ("16KiB", 16 << 10)] {
        let doc = doc(bytes);
        let mut vec = Vec::new();
        g.bench("vec_reused", param, 1, || {
            vec.clear();
            encode::<W, _>(&mut vec, &doc);
            touch(&vec[..]);
        });
        let mut bytes_mut = BytesMut::new();
        g.bench("bytesmut_reused", param, 1, || {
            bytes_mut.clear();
            encode::<W, _>(&mut bytes::BufMut::writer(&mut bytes_mut), &doc);
            touch(&bytes_mut[..]);
        });
        g.bench("tierpool_write", param, 1, || {
            let mut buf = pool.get(black_box(bytes));
            encode::<W, _>(&mut buf, &doc);
            touch(&buf[..]);
        });
        g.bench("tierpool_freeze", param, 1, || {
            let mut buf = pool.get(black_box(bytes));
            encode::<W, _>(&mut buf, &doc);
            touch(&buf.freeze());
        });
        g.bench("to_vec_bytes", param, 1, || {
            // `serde_json::to_vec` is exactly this (a `Vec` of 128 bytes, then
            // `to_writer`), here through the group's writer like every other
            // competitor: opaque, its writes cross `&mut dyn io::Write` too.
            let mut out = Vec::with_capacity(128);
            encode::<W, _>(&mut out, &doc);
            touch(&Bytes::from(out));
        });
        g.bench("vec_capacity_bytes", param, 1, || {
            let mut out = Vec::with_capacity(4096);
            encode::<W, _>(&mut out, &doc);
            touch(&Bytes::from(out));
        });
    }
    g.finish();
}
