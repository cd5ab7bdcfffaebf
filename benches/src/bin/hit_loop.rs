//! A bare hit-path loop for instruction counting: `scripts/callgrind.sh`
//! runs it under `valgrind --tool=callgrind` at two iteration counts and
//! prints the difference per iteration, so set-up cost cancels out.
//!
//! Usage: `hit_loop <mode> <size> <iterations>`. Each mode is get + a 64 B
//! write + drop, opaque unless it says `inlined` (see the crate docs):
//!
//! - `tierpool`: the write through `&mut BytesMut` (`DerefMut`);
//! - `tierpool_bufmut`: through the guard's own `BufMut` (`&mut dyn BufMut`);
//! - `tierpool_inlined`: the guard's own `extend_from_slice`, inlined;
//! - `bare`, `bare_exact`: the bound (`bare.rs`);
//! - `bare_bufmut`: the bound, written as `tierpool_bufmut` is, through
//!   `&mut dyn BufMut` (`BytesMut`'s own);
//! - `lockfree_object_pool`, `opool`: the fastest peers, made as the
//!   benches make them (`peers.rs`);
//! - `bytesmut`: `BytesMut::with_capacity` under the system allocator.
//!
//! `tierpool_held64` gets 64 buffers, then drops them all, per iteration;
//! `bare_held64` and `lockfree_object_pool_held64` do the same, and
//! `tierpool_held64_tc32` on a pool with the previous default thread
//! caches, (64, 32, 2), whose 64 KiB cache holds half the working set.
//! `tierpool_swing` swings a thread cache across its full mark: with one
//! buffer short of a full cache and two out, each iteration drops the two
//! (written through `BufMut`) and gets two again, so per iteration 2 gets
//! and 2 returns; a policy that spills the whole magazine then moves it out
//! and back every iteration, the half-flush rule once.
//! `tierpool_tracked`, `tierpool_sampled` and `tierpool_chaos` are
//! `tierpool_bufmut` on a pool with `track_callers(true)`,
//! `track_callers_sampled(128)` or `chaos(1)`: what the test modes and the
//! sampled tracking cost.
//! `tierpool_limited` is `tierpool_bufmut` on a pool with
//! `max_outstanding_bytes(1 GiB)`: what the limit's accounting costs a hit
//! (a limited pool takes its general paths; its room comes from the
//! thread's batch).

use std::hint::black_box;
use std::ops::DerefMut;

use bytes::BytesMut;
use tierpool_benches::bare::{Bare, BareExact};
use tierpool_benches::peers::{Competitor, LockfreeObjectPool, Opool};
use tierpool_benches::{PAYLOAD, opaque, opaque_bufmut};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, mode, size, iters] = &args[..] else {
        eprintln!("usage: hit_loop <mode> <size> <iterations>");
        std::process::exit(2);
    };
    let size: usize = size.parse().expect("size is a number");
    let iters: u64 = iters.parse().expect("iterations is a number");
    let pool = tierpool::BufPool::new();
    drop(pool.get(size)); // warm the thread cache, as in the criterion bench
    match mode.as_str() {
        "tierpool" => {
            for _ in 0..iters {
                let mut buf = pool.get(black_box(size));
                opaque(&mut buf);
            }
        }
        "tierpool_bufmut" => {
            for _ in 0..iters {
                let mut buf = pool.get(black_box(size));
                opaque_bufmut(&mut buf);
            }
        }
        "tierpool_tracked" | "tierpool_chaos" | "tierpool_sampled" | "tierpool_limited" => {
            let builder = tierpool::BufPool::builder();
            let pool = match mode.as_str() {
                "tierpool_tracked" => builder.track_callers(true),
                "tierpool_limited" => builder.max_outstanding_bytes(1 << 30),
                // `track_callers_sampled(128)`: one get in 128, on average, recorded.
                "tierpool_sampled" => builder.track_callers_sampled(128),
                _ => builder.chaos(1),
            };
            let pool = pool.build().expect("valid settings");
            drop(pool.get(size));
            for _ in 0..iters {
                let mut buf = pool.get(black_box(size));
                opaque_bufmut(&mut buf);
            }
        }
        "tierpool_inlined" => {
            for _ in 0..iters {
                let mut buf = pool.get(black_box(size));
                buf.extend_from_slice(&PAYLOAD);
                black_box(&*buf);
            }
        }
        "bare" => {
            drop(Bare::get(size));
            for _ in 0..iters {
                opaque(&mut Bare::get(black_box(size)));
            }
        }
        "bare_bufmut" => {
            drop(Bare::get(size));
            for _ in 0..iters {
                opaque_bufmut(&mut *Bare::get(black_box(size)));
            }
        }
        "bare_exact" => {
            drop(BareExact::get(size));
            for _ in 0..iters {
                opaque(&mut BareExact::get(black_box(size)));
            }
        }
        "lockfree_object_pool" => {
            let lp = LockfreeObjectPool::new(size);
            drop(lp.get());
            for _ in 0..iters {
                opaque(&mut lp.get());
            }
        }
        "opool" => {
            let op = Opool::new(size);
            drop(op.get());
            for _ in 0..iters {
                opaque(&mut op.get());
            }
        }
        "bytesmut" => {
            for _ in 0..iters {
                opaque(&mut BytesMut::with_capacity(black_box(size)));
            }
        }
        "tierpool_held64" => held64(iters, || pool.get(black_box(size))),
        "tierpool_held64_tc32" => {
            let pool = tierpool::BufPool::builder().thread_cache(&[64, 32, 2]).build().expect("valid settings");
            held64(iters, || pool.get(black_box(size)));
        }
        "tierpool_swing" => {
            let cap = tierpool::default_thread_cache(size);
            let mut out: Vec<_> = (0..=cap).map(|_| pool.get(size)).collect();
            out.truncate(2); // cap - 1 back in the cache, 2 out
            for _ in 0..iters {
                out.clear();
                for _ in 0..2 {
                    let mut buf = pool.get(black_box(size));
                    opaque_bufmut(&mut buf);
                    out.push(buf);
                }
            }
        }
        "bare_held64" => held64(iters, || Bare::get(black_box(size))),
        "lockfree_object_pool_held64" => {
            let lp = LockfreeObjectPool::new(size);
            held64(iters, || lp.get());
        }
        other => {
            eprintln!("unknown mode {other}");
            std::process::exit(2);
        }
    }
}

/// `iters` times: 64 buffers from `get`, each written opaquely, then all
/// dropped.
fn held64<B: DerefMut<Target = BytesMut>>(iters: u64, mut get: impl FnMut() -> B) {
    let mut out = Vec::with_capacity(64);
    for _ in 0..iters {
        for _ in 0..64 {
            let mut buf = get();
            opaque(&mut buf);
            out.push(buf);
        }
        out.clear();
    }
}
