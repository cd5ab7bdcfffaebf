//! A bare hit-path loop for instruction counting: `scripts/callgrind.sh`
//! runs it under `valgrind --tool=callgrind` at two iteration counts and
//! prints the difference per iteration, so set-up cost cancels out.
//!
//! Usage: `hit_loop <tierpool|tierpool_global|bytesmut|held64> <size> <iterations>`
//!
//! `held64` gets 64 buffers, then drops them all, per iteration (the `held`
//! bench at k = 64), to show where a working set beyond the thread cache
//! spends its instructions.

use std::hint::black_box;

use bytes::BytesMut;

const PAYLOAD: [u8; 64] = [0x5A; 64];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, mode, size, iters] = &args[..] else {
        eprintln!("usage: hit_loop <tierpool|tierpool_global|bytesmut|held64> <size> <iterations>");
        std::process::exit(2);
    };
    let size: usize = size.parse().expect("size is a number");
    let iters: u64 = iters.parse().expect("iterations is a number");
    let pool = tierpool::BufPool::new();
    drop(pool.get(size)); // warm the thread cache, as in the criterion bench
    drop(tierpool::get(size));
    match mode.as_str() {
        "tierpool" => {
            for _ in 0..iters {
                let mut buf = pool.get(black_box(size));
                buf.extend_from_slice(&PAYLOAD);
                black_box(&*buf);
            }
        }
        "tierpool_global" => {
            for _ in 0..iters {
                let mut buf = tierpool::get(black_box(size));
                buf.extend_from_slice(&PAYLOAD);
                black_box(&*buf);
            }
        }
        "bytesmut" => {
            for _ in 0..iters {
                let mut buf = BytesMut::with_capacity(black_box(size));
                buf.extend_from_slice(&PAYLOAD);
                black_box(&*buf);
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
