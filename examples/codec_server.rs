//! tokio-util codecs with pooled read buffers, on TCP loopback.
//!
//! A server decodes length-delimited frames from 1000 short connections.
//! Each connection's `FramedRead` gets a pooled 64 KiB read buffer, swapped
//! in with `read_buffer_mut`, and gives it back with `into_parts()` and
//! `BufPool::put` when the connection ends. The same run without the pool
//! lets `FramedRead` allocate its own buffer per connection. The stats and a
//! counting allocator show the difference.
//!
//! Run: `cargo run --release --example codec_server`

mod common;

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tierpool::BufPool;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::{Framed, FramedRead, LengthDelimitedCodec};

#[global_allocator]
static ALLOC: common::Counting<std::alloc::System> = common::Counting::new(std::alloc::System);

const CONNECTIONS: usize = 1000;
const CONCURRENT: usize = 8;
const FRAMES_PER_CONNECTION: usize = 4;

/// Decodes every frame of one connection, with a pooled read buffer or
/// FramedRead's own; returns the bytes decoded.
async fn handle(socket: TcpStream, pool: Option<&BufPool>) -> usize {
    let mut framed = match pool {
        Some(pool) => {
            let mut framed = FramedRead::with_capacity(socket, LengthDelimitedCodec::new(), 0);
            *framed.read_buffer_mut() = pool.get(64 * 1024).detach();
            framed
        }
        None => FramedRead::new(socket, LengthDelimitedCodec::new()),
    };
    let mut bytes = 0;
    while let Some(frame) = framed.next().await {
        bytes += frame.expect("a well-formed frame").len(); // the frame drops here
    }
    if let Some(pool) = pool {
        pool.put(framed.into_parts().read_buf);
    }
    bytes
}

/// Runs the server and the clients once; returns (seconds, bytes decoded).
async fn run(pool: Option<Arc<BufPool>>) -> (f64, usize) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind on loopback");
    let addr = listener.local_addr().expect("bound");
    let start = Instant::now();
    let server = tokio::spawn(async move {
        let mut handlers = Vec::with_capacity(CONNECTIONS);
        for _ in 0..CONNECTIONS {
            let (socket, _) = listener.accept().await.expect("accept");
            let pool = pool.clone();
            handlers.push(tokio::spawn(async move { handle(socket, pool.as_deref()).await }));
        }
        let mut total = 0;
        for h in handlers {
            total += h.await.expect("handler");
        }
        total
    });
    let clients: Vec<_> = (0..CONCURRENT)
        .map(|c| {
            tokio::spawn(async move {
                for n in (c..CONNECTIONS).step_by(CONCURRENT) {
                    let socket = TcpStream::connect(addr).await.expect("connect");
                    let mut framed = Framed::new(socket, LengthDelimitedCodec::new());
                    for f in 0..FRAMES_PER_CONNECTION {
                        framed.send(Bytes::from(vec![(n + f) as u8; 200 + (n * 37 + f) % 3000])).await.expect("send");
                    }
                }
            })
        })
        .collect();
    for c in clients {
        c.await.expect("client");
    }
    let bytes = server.await.expect("server");
    (start.elapsed().as_secs_f64(), bytes)
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    println!(
        "{CONNECTIONS} connections, {FRAMES_PER_CONNECTION} length-delimited frames each, {CONCURRENT} clients at once\n"
    );
    let before = common::Counts::now();
    let (secs, bytes) = runtime.block_on(run(None));
    let unpooled = before.since();
    println!(
        "FramedRead's own buffer: {:.2} s, {} decoded, {} allocations ({} requested)",
        secs,
        common::human(bytes as u64),
        unpooled.allocs,
        common::human(unpooled.bytes)
    );

    // A worker keeps at most 4 read buffers to itself; the rest go round
    // through the global queue (see docs/guide.md, *tokio-util codecs*).
    let pool = Arc::new(BufPool::builder().thread_cache(&[64, 4, 2]).build().expect("valid settings"));
    let before = common::Counts::now();
    let (secs, bytes) = runtime.block_on(run(Some(Arc::clone(&pool))));
    let pooled = before.since();
    println!(
        "pooled read buffer:      {:.2} s, {} decoded, {} allocations ({} requested)",
        secs,
        common::human(bytes as u64),
        pooled.allocs,
        common::human(pooled.bytes)
    );
    let t = &pool.stats().tiers[1];
    println!(
        "\n64 KiB tier: {} gets, {} misses (buffers allocated), {} back through put; {} retained",
        t.gets,
        t.misses,
        t.adopted,
        common::human(t.retained_bytes)
    );
    println!(
        "bytes requested from the allocator: {} unpooled, {} pooled",
        common::human(unpooled.bytes),
        common::human(pooled.bytes)
    );
}
