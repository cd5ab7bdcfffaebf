//! A bare hit-path loop for instruction counting: `scripts/callgrind.sh`
//! runs it under `valgrind --tool=callgrind` at two iteration counts and
//! prints the difference per iteration, so set-up cost cancels out.
//!
//! Usage: `hit_loop <tierpool|tierpool_global|bytesmut> <size> <iterations>`

use std::hint::black_box;

use bytes::BytesMut;

const PAYLOAD: [u8; 64] = [0x5A; 64];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, mode, size, iters] = &args[..] else {
        eprintln!("usage: hit_loop <tierpool|tierpool_global|bytesmut> <size> <iterations>");
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
        other => {
            eprintln!("unknown mode {other}");
            std::process::exit(2);
        }
    }
}
