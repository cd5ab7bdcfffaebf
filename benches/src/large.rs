//! Payloads larger than any tier (issue 14), per payload:
//!
//! - `large`: a JSON document of 256 KiB, 3 MiB or 32 MiB encoded with
//!   `serde_json::to_writer` into a fresh `PooledChain` (chunks of 64 KiB or
//!   1 MiB, and the same followed by a copy-out `freeze`), `Vec::new()`,
//!   `BytesMut::new()` and `tierpool::get(4096)`, beside one reused `Vec`
//!   (the floor: encoding alone). Runs under each allocator.
//! - `socket_write`: a 3 MiB or 32 MiB body copied into a chain and sent on
//!   loopback TCP with `write_all_buf` (vectored writes), or chunk by chunk,
//!   or copied into one `Vec` and sent with `write_all`, beside sending a
//!   prebuilt buffer (the floor: the socket alone).
//! - `socket_read`: a 20 MiB body read from loopback TCP with `read_buf`
//!   into a chain, into `BytesMut::new()` (grows by doubling), and into
//!   `BytesMut::with_capacity(20 MiB)` (the floor: the size known ahead).

use std::io::{Read, Write as _};
use std::net::TcpListener;
use std::thread;

use bytes::{BufMut, BytesMut};
use criterion::Criterion;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::json::{doc, encode};
use crate::{Group, Lineup, Opaque, Write, touch};

const SERIALIZED: [(&str, usize); 3] = [("256KiB", 256 << 10), ("3MiB", 3 << 20), ("32MiB", 32 << 20)];
const SENT: [(&str, usize); 2] = [("3MiB", 3 << 20), ("32MiB", 32 << 20)];
const BODY: usize = 20 << 20;
const KIB64: usize = 64 << 10;
const MIB1: usize = 1 << 20;

/// Iterations over which allocations are counted: about 64 MiB of payload.
fn counted(bytes: usize) -> u64 {
    ((64 << 20) / bytes).clamp(4, 256) as u64
}

/// `large`: `to_writer` of a big document into each kind of buffer.
pub fn serialize_large<W: Write>(c: &mut Criterion, lineup: Lineup) {
    let mut g = Group::new(c, &lineup.group::<W>("large")).flat(10);
    let pool = tierpool::BufPool::new();
    for (param, bytes) in SERIALIZED {
        let doc = doc(bytes);
        let n = counted(bytes);
        for (name, chunk) in [("chain_64KiB", KIB64), ("chain_1MiB", MIB1)] {
            g.bench_slow(name, param, n, || {
                let mut chain = pool.chain(chunk);
                encode::<W, _>(&mut chain, &doc);
                touch(&chain);
            });
        }
        g.bench_slow("chain_64KiB_freeze", param, n, || {
            let mut chain = pool.chain(KIB64);
            encode::<W, _>(&mut chain, &doc);
            touch(&chain.freeze());
        });
        g.bench_slow("vec_new", param, n, || {
            let mut out = Vec::new();
            encode::<W, _>(&mut out, &doc);
            touch(&out);
        });
        g.bench_slow("bytesmut_new", param, n, || {
            let mut out = BytesMut::new().writer();
            encode::<W, _>(&mut out, &doc);
            touch(out.get_ref());
        });
        g.bench_slow("tierpool_get4096", param, n, || {
            let mut out = tierpool::get(4096);
            encode::<W, _>(&mut out, &doc);
            touch(&out);
        });
        let mut reused = Vec::new();
        g.bench_slow("vec_reused", param, n, || {
            reused.clear();
            encode::<W, _>(&mut reused, &doc);
            touch(&reused);
        });
    }
    g.finish();
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_io().build().expect("a tokio runtime")
}

/// `socket_write`: a big body sent on loopback, from a chain and from one buffer.
pub fn socket_write(c: &mut Criterion, lineup: Lineup) {
    let rt = runtime();
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    let drain = thread::spawn(move || {
        let (mut socket, _) = listener.accept().expect("accept");
        let mut sink = vec![0u8; MIB1];
        while matches!(socket.read(&mut sink), Ok(n) if n > 0) {}
    });
    let mut socket = rt.block_on(TcpStream::connect(addr)).expect("connect");
    assert!(tokio::io::AsyncWrite::is_write_vectored(&socket), "tokio's TcpStream writes vectored");
    let mut g = Group::new(c, &lineup.group::<Opaque>("socket_write")).flat(10);
    let pool = tierpool::BufPool::new();
    for (param, bytes) in SENT {
        let body = vec![0x5A; bytes];
        let n = counted(bytes);
        for (name, chunk) in [("chain_64KiB_vectored", KIB64), ("chain_1MiB_vectored", MIB1)] {
            g.bench_slow(name, param, n, || {
                rt.block_on(async {
                    let mut chain = pool.chain(chunk);
                    chain.extend_from_slice(&body);
                    socket.write_all_buf(&mut chain).await.expect("send");
                });
            });
        }
        g.bench_slow("chain_64KiB_per_chunk", param, n, || {
            rt.block_on(async {
                let mut chain = pool.chain(KIB64);
                chain.extend_from_slice(&body);
                for piece in chain.chunks() {
                    socket.write_all(piece).await.expect("send");
                }
            });
        });
        g.bench_slow("contiguous_vec", param, n, || {
            rt.block_on(async {
                let mut out = Vec::with_capacity(bytes);
                out.extend_from_slice(&body);
                socket.write_all(&out).await.expect("send");
            });
        });
        g.bench_slow("prebuilt", param, n, || {
            rt.block_on(async { socket.write_all(&body).await.expect("send") });
        });
    }
    g.finish();
    drop(socket);
    drain.join().expect("drain thread");
}

/// `socket_read`: a 20 MiB body read from loopback with `read_buf`.
pub fn socket_read(c: &mut Criterion, lineup: Lineup) {
    let rt = runtime();
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = listener.local_addr().expect("local addr");
    let source = thread::spawn(move || {
        let (mut socket, _) = listener.accept().expect("accept");
        let body = vec![0x5A; BODY];
        while socket.write_all(&body).is_ok() {}
    });
    let mut socket = rt.block_on(TcpStream::connect(addr)).expect("connect");
    let mut g = Group::new(c, &lineup.group::<Opaque>("socket_read")).flat(10);
    let pool = tierpool::BufPool::new();
    let n = counted(BODY);
    for (name, chunk) in [("chain_64KiB", KIB64), ("chain_1MiB", MIB1)] {
        g.bench_slow(name, "20MiB", n, || {
            rt.block_on(async {
                let mut chain = pool.chain(chunk);
                let mut body = (&mut socket).take(BODY as u64);
                while body.read_buf(&mut chain).await.expect("receive") > 0 {}
                assert_eq!(chain.len(), BODY);
                touch(&chain);
            });
        });
    }
    for (name, capacity) in [("bytesmut_new", 0), ("bytesmut_with_capacity", BODY)] {
        g.bench_slow(name, "20MiB", n, || {
            rt.block_on(async {
                let mut buf = BytesMut::with_capacity(capacity);
                let mut body = (&mut socket).take(BODY as u64);
                while body.read_buf(&mut buf).await.expect("receive") > 0 {}
                assert_eq!(buf.len(), BODY);
                touch(&buf);
            });
        });
    }
    g.finish();
    drop(socket);
    source.join().expect("source thread");
}
