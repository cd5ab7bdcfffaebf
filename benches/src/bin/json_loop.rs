//! A serialization loop for instruction counting: `serde_json::to_writer` of
//! the `large` group's document into one kind of buffer per iteration.
//! `scripts/callgrind.sh` runs it (`BIN=json_loop`) at two iteration counts
//! and prints the difference per iteration.
//!
//! Usage: `json_loop <mode> <bytes> <iterations>`, modes as in the `large`
//! bench group (`benches/src/large.rs`): `chain_64KiB`, `chain_1MiB`,
//! `chain_64KiB_freeze`, `vec_new`, `bytesmut_new`, `tierpool_get4096`,
//! `vec_reused`; and as in the `serialize` group, for documents that fit a
//! tier: `guard_write` (into `pool.get(bytes)`), `guard_freeze` (then
//! `freeze()`), `to_vec_bytes` (`serde_json::to_vec` then `Bytes::from`). Callgrind counts user-space instructions only: the kernel's
//! work for fresh pages and `mremap` (which a growing `Vec` leans on) is not
//! in these counts.

use std::hint::black_box;

use bytes::{BufMut, BytesMut};
use tierpool_benches::json::doc;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, mode, bytes, iters] = &args[..] else {
        eprintln!("usage: json_loop <mode> <bytes> <iterations>");
        std::process::exit(2);
    };
    let bytes: usize = bytes.parse().expect("bytes is a number");
    let iters: u64 = iters.parse().expect("iterations is a number");
    let doc = doc(bytes);
    let pool = tierpool::BufPool::new();
    let mut reused = Vec::new();
    let mut once = || match mode.as_str() {
        "chain_64KiB" | "chain_1MiB" => {
            let mut chain = pool.chain(if mode == "chain_1MiB" { 1 << 20 } else { 64 << 10 });
            serde_json::to_writer(&mut chain, &doc).expect("serializes");
            black_box(&chain);
        }
        "chain_64KiB_freeze" => {
            let mut chain = pool.chain(64 << 10);
            serde_json::to_writer(&mut chain, &doc).expect("serializes");
            black_box(chain.freeze());
        }
        "vec_new" => {
            let mut out = Vec::new();
            serde_json::to_writer(&mut out, &doc).expect("serializes");
            black_box(out);
        }
        "bytesmut_new" => {
            let mut out = BytesMut::new().writer();
            serde_json::to_writer(&mut out, &doc).expect("serializes");
            black_box(out);
        }
        "tierpool_get4096" => {
            let mut out = pool.get(4096);
            serde_json::to_writer(&mut out, &doc).expect("serializes");
            black_box(&out);
        }
        "guard_write" => {
            let mut out = pool.get(bytes);
            serde_json::to_writer(&mut out, &doc).expect("serializes");
            black_box(&out);
        }
        "guard_freeze" => {
            let mut out = pool.get(bytes);
            serde_json::to_writer(&mut out, &doc).expect("serializes");
            black_box(out.freeze());
        }
        "to_vec_bytes" => {
            black_box(bytes::Bytes::from(serde_json::to_vec(&doc).expect("serializes")));
        }
        "vec_reused" => {
            reused.clear();
            serde_json::to_writer(&mut reused, &doc).expect("serializes");
            black_box(&reused);
        }
        other => panic!("unknown mode {other}"),
    };
    once(); // warm: the pool holds the chain's chunks
    for _ in 0..iters {
        once();
    }
}
