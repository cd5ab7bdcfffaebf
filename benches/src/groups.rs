//! The workloads on buffers within a tier, each generic over how it writes
//! (`Opaque`, `Inlined`).
//!
//! - `hit`: get + write 64 B + drop, one thread, each tier.
//! - `held`: k buffers out at once, then all dropped, for k across the
//!   thread cache's size; time per buffer.
//! - `handoff`: a producer gets and writes, a consumer thread drops.
//! - `contention`: 1, 2 and 4 threads churning one pool; time per op per thread.
//! - `fill`, `freeze`: a whole tier written, then frozen; freezes of small payloads.
//! - `serialize`: a JSON document encoded into a pooled buffer, beside `Vec`.
//!
//! The first four run tierpool here, then the line-up of [`crate::peers`]
//! through a [`Visit`] each.

use std::hint::black_box;
use std::marker::PhantomData;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use criterion::Criterion;

use crate::bare::Bare;
use crate::json::{doc, encode};
use crate::peers::{self, Competitor, Visit};
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
            // The bound written as `tierpool_bufmut` is: `BytesMut`'s own
            // `BufMut` through `&mut dyn BufMut`.
            g.bench("bare_tls_bufmut", param, 1, || {
                let mut buf = Bare::get(black_box(size));
                opaque_bufmut(&mut *buf);
                touch(&*buf);
            });
        }
        g.bench("tierpool_global", param, 1, || {
            let mut buf = tierpool::get(black_box(size));
            W::guard(&mut buf);
            touch(&*buf);
        });
        peers::each(lineup, size, &mut Hit::<W> { g: &mut g, param, write: PhantomData });
    }
    g.finish();
}

/// Each competitor of `hit`: get, write, touch, drop.
struct Hit<'g, 'c, W> {
    g: &'g mut Group<'c>,
    param: &'g str,
    write: PhantomData<W>,
}

impl<W: Write> Visit for Hit<'_, '_, W> {
    const THREADS: bool = false;
    const SECOND_FORMS: bool = true;

    fn visit<C: Competitor>(&mut self, name: &str, pool: &C) {
        self.g.bench(name, self.param, 1, || {
            let mut buf = pool.get();
            C::write::<W>(&mut buf);
            C::touch(&buf);
        });
    }
}

/// `held`: k buffers out at once, then all dropped. Time per iteration is for
/// k buffers; allocations are reported per buffer.
pub fn held<W: Write>(c: &mut Criterion, lineup: Lineup) {
    // Across the thread cache's size (64 buffers at 4 KiB and 64 KiB): well
    // below, at it, one over (a spill and a refill every iteration), twice
    // and eight times it, so a change to the magazine shows where it acts.
    const KS: [usize; 6] = [8, 32, 64, 65, 128, 512];
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
            if W::NAME == "opaque" {
                // The guard's own `BufMut` through `&mut dyn BufMut`.
                held_one(&mut g, "tierpool_bufmut", &param, k, || {
                    let mut buf = pool.get(black_box(size));
                    opaque_bufmut(&mut buf);
                    buf
                });
            }
            peers::each(lineup, size, &mut Held::<W> { g: &mut g, param: &param, k, write: PhantomData });
        }
    }
    g.finish();
}

/// Each competitor of `held`: k gets and writes, held, then dropped.
struct Held<'g, 'c, W> {
    g: &'g mut Group<'c>,
    param: &'g str,
    k: usize,
    write: PhantomData<W>,
}

impl<W: Write> Visit for Held<'_, '_, W> {
    const THREADS: bool = false;
    const SECOND_FORMS: bool = false;

    fn visit<C: Competitor>(&mut self, name: &str, pool: &C) {
        held_one(self.g, name, self.param, self.k, || {
            let mut buf = pool.get();
            C::write::<W>(&mut buf);
            buf
        });
    }
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
        peers::each(lineup, size, &mut Handoff::<W> { g: &mut g, param, write: PhantomData });
    }
    g.finish();
}

/// Each competitor of `handoff`: got and written here, dropped on the
/// consumer thread.
struct Handoff<'g, 'c, W> {
    g: &'g mut Group<'c>,
    param: &'g str,
    write: PhantomData<W>,
}

impl<W: Write> Visit for Handoff<'_, '_, W> {
    const THREADS: bool = true;
    const SECOND_FORMS: bool = false;

    fn visit<C: Competitor>(&mut self, name: &str, pool: &C) {
        handoff_one(self.g, name, self.param, || {
            let mut buf = pool.get();
            C::write::<W>(&mut buf);
            buf
        });
    }
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
            peers::each(lineup, size, &mut Contention::<W> { g: &mut g, param: &param, threads, write: PhantomData });
        }
    }
    g.finish();
}

/// Each competitor of `contention`: `threads` threads each get, write,
/// touch and drop.
struct Contention<'g, 'c, W> {
    g: &'g mut Group<'c>,
    param: &'g str,
    threads: usize,
    write: PhantomData<W>,
}

impl<W: Write> Visit for Contention<'_, '_, W> {
    const THREADS: bool = true;
    const SECOND_FORMS: bool = false;

    fn visit<C: Competitor>(&mut self, name: &str, pool: &C) {
        churn_one(self.g, name, self.param, self.threads, || {
            let mut buf = pool.get();
            C::write::<W>(&mut buf);
            C::touch(&buf);
        });
    }
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
