//! A bare hit-path loop for instruction counting: `scripts/callgrind.sh`
//! runs it under `valgrind --tool=callgrind` at two iteration counts and
//! prints the difference per iteration, so set-up cost cancels out.
//!
//! Usage: `hit_loop <mode> <size> <iterations>`. Each mode is get + a 64 B
//! write + drop:
//!
//! - `inlined`: the write is `extend_from_slice`, which the compiler sees;
//! - `opaque`: the write happens in a `dyn FnMut(&mut BytesMut)`, which it
//!   cannot see into (a handler in another crate, a codec);
//! - `opaque_bufmut`: the write goes through `&mut dyn BufMut` on the guard
//!   (the shape of `read_buf` and serializers that take a `BufMut`);
//! - `bytesmut`: `BytesMut::with_capacity` and the opaque write;
//! - `bare` and `bare_exact`: the bound, a thread-local stack of boxed
//!   `BytesMut`; `bare` takes a buffer back when its start pointer and
//!   capacity are unchanged, `bare_exact` also proves it whole and unique as
//!   tierpool's return path does.
//!
//! `held64` gets 64 buffers, then drops them all, per iteration.

// Boxed on purpose: moving one pointer, not a 32-byte `BytesMut`, is what
// tierpool does, so the bound does the same.
#![allow(clippy::vec_box)]

use std::cell::RefCell;
use std::hint::black_box;

use bytes::{Buf, BufMut, BytesMut};

const PAYLOAD: [u8; 64] = [0x5A; 64];

#[inline(never)]
fn opaque(write: &mut dyn FnMut(&mut BytesMut), buf: &mut BytesMut) {
    write(buf);
}

#[inline(never)]
fn opaque_bufmut(write: &mut dyn FnMut(&mut dyn BufMut), buf: &mut dyn BufMut) {
    write(buf);
}

thread_local! {
    static STACK: RefCell<Vec<Box<BytesMut>>> = const { RefCell::new(Vec::new()) };
}

/// The stack, reached as tierpool reaches its registry (`src/local.rs`):
/// through a pointer taken in `with`, so that `with` is inlined.
#[inline(always)]
fn stack() -> &'static RefCell<Vec<Box<BytesMut>>> {
    let stack: *const RefCell<Vec<Box<BytesMut>>> = STACK.with(std::ptr::from_ref);
    // SAFETY: as in tierpool's `local::caches`: this thread's storage, valid
    // while the thread runs; the reference is `!Send` and stays here. The
    // `Vec` needs drop, so std registers a destructor, but nothing uses the
    // stack after `main` returns.
    unsafe { &*stack }
}

#[inline(always)]
fn bare_get(size: usize) -> Box<BytesMut> {
    stack().borrow_mut().pop().unwrap_or_else(|| Box::new(BytesMut::with_capacity(size)))
}

#[inline(always)]
fn bare_put(mut buf: Box<BytesMut>, start: *const u8, capacity: usize, exact: bool) {
    if exact {
        // tierpool's uniqueness-and-wholeness probe (src/recycle.rs).
        buf.clear();
        buf.put_u8(0);
        buf.advance(1);
        let before = buf.as_ptr();
        if !buf.try_reclaim(buf.capacity() + 1) || buf.as_ptr() >= before {
            return;
        }
    }
    if buf.as_ptr() == start && buf.capacity() == capacity {
        buf.clear();
        stack().borrow_mut().push(buf);
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, mode, size, iters] = &args[..] else {
        eprintln!("usage: hit_loop <mode> <size> <iterations>");
        std::process::exit(2);
    };
    let size: usize = size.parse().expect("size is a number");
    let iters: u64 = iters.parse().expect("iterations is a number");
    let mut write = |b: &mut BytesMut| b.extend_from_slice(&PAYLOAD);
    let write: &mut dyn FnMut(&mut BytesMut) = black_box(&mut write);
    let mut write_bufmut = |b: &mut dyn BufMut| b.put_slice(&PAYLOAD);
    let write_bufmut: &mut dyn FnMut(&mut dyn BufMut) = black_box(&mut write_bufmut);
    let pool = tierpool::BufPool::new();
    drop(pool.get(size)); // warm the thread cache, as in the criterion bench
    match mode.as_str() {
        "inlined" => {
            for _ in 0..iters {
                let mut buf = pool.get(black_box(size));
                buf.extend_from_slice(&PAYLOAD);
                black_box(&*buf);
            }
        }
        "opaque" => {
            for _ in 0..iters {
                let mut buf = pool.get(black_box(size));
                opaque(write, &mut buf);
            }
        }
        "opaque_bufmut" => {
            for _ in 0..iters {
                let mut buf = pool.get(black_box(size));
                opaque_bufmut(write_bufmut, &mut buf);
            }
        }
        "global_opaque" => {
            drop(tierpool::get(size));
            for _ in 0..iters {
                let mut buf = tierpool::get(black_box(size));
                opaque(write, &mut buf);
            }
        }
        "bytesmut" => {
            for _ in 0..iters {
                let mut buf = BytesMut::with_capacity(black_box(size));
                opaque(write, &mut buf);
            }
        }
        "bare" | "bare_exact" => {
            let exact = mode == "bare_exact";
            drop(bare_get(size));
            for _ in 0..iters {
                let mut buf = bare_get(black_box(size));
                let (start, capacity) = (buf.as_ptr(), buf.capacity());
                opaque(write, &mut buf);
                bare_put(buf, start, capacity, exact);
            }
        }
        "held64" => {
            let mut out = Vec::with_capacity(64);
            for _ in 0..iters {
                for _ in 0..64 {
                    let mut buf = pool.get(black_box(size));
                    buf.extend_from_slice(&PAYLOAD);
                    out.push(buf);
                }
                out.clear();
            }
        }
        other => {
            eprintln!("unknown mode {other}");
            std::process::exit(2);
        }
    }
}
