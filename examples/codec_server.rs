//! tokio-util codecs with pooled read buffers, on TCP loopback, and what an
//! idle connection holds with each.
//!
//! A server decodes length-delimited frames from 1000 short connections.
//! Each connection's `FramedRead` gets a pooled 64 KiB read buffer, swapped
//! in with `read_buffer_mut`, and gives it back with `into_parts()` and
//! `BufPool::put` when the connection ends. The same run without the pool
//! lets `FramedRead` allocate its own buffer per connection. The stats and a
//! counting allocator show the difference.
//!
//! A `FramedRead` holds its read buffer for as long as the connection lives,
//! idle or not. With `--features tokio`, a third way decodes the same frames
//! readiness first (`tierpool::tokio::read_when_ready`, and
//! `read_more_when_ready` for a frame that came in part): a connection
//! waiting for its next frame holds no buffer. The last section opens 200
//! connections that each send one frame and fall silent, and prints the live
//! heap they hold each way.
//!
//! Run: `cargo run --release --example codec_server`
//! (add `--features tokio` for the readiness-first way).

mod common;

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tierpool::BufPool;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::codec::{Framed, FramedRead, LengthDelimitedCodec};

#[global_allocator]
static ALLOC: common::Counting<std::alloc::System> = common::Counting::new(std::alloc::System);

const CONNECTIONS: usize = 1000;
const CONCURRENT: usize = 8;
const FRAMES_PER_CONNECTION: usize = 4;
/// Two sockets each, 400 file descriptors: within the usual limit of 1024.
const IDLE: usize = 200;

#[derive(Clone, Copy, PartialEq)]
enum Way {
    /// `FramedRead` with a buffer of its own.
    Unpooled,
    /// `FramedRead` with a pooled buffer, swapped in and given back.
    Pooled,
    /// Readiness first, with a small decoder of the same frames.
    #[cfg(feature = "tokio")]
    WhenReady,
}

impl Way {
    fn all() -> Vec<Self> {
        #[cfg_attr(not(feature = "tokio"), allow(unused_mut))]
        let mut ways = vec![Way::Unpooled, Way::Pooled];
        #[cfg(feature = "tokio")]
        ways.push(Way::WhenReady);
        ways
    }

    fn name(self) -> &'static str {
        match self {
            Way::Unpooled => "FramedRead's own buffer",
            Way::Pooled => "pooled read buffer",
            #[cfg(feature = "tokio")]
            Way::WhenReady => "read_when_ready",
        }
    }
}

/// Decodes every frame of one connection `way`; returns the bytes decoded.
/// Adds a permit to `decoded`, if given, after each frame.
async fn handle(socket: TcpStream, way: Way, pool: &BufPool, decoded: Option<&Semaphore>) -> usize {
    let mut bytes = 0;
    let mut on_frame = |len: usize| {
        bytes += len;
        if let Some(decoded) = decoded {
            decoded.add_permits(1);
        }
    };
    #[cfg(feature = "tokio")]
    if way == Way::WhenReady {
        decode_when_ready(&socket, pool, on_frame).await.expect("well-formed frames");
        return bytes;
    }
    let mut framed = match way {
        Way::Pooled => {
            let mut framed = FramedRead::with_capacity(socket, LengthDelimitedCodec::new(), 0);
            *framed.read_buffer_mut() = pool.get(64 * 1024).detach();
            framed
        }
        _ => FramedRead::new(socket, LengthDelimitedCodec::new()),
    };
    while let Some(frame) = framed.next().await {
        on_frame(frame.expect("a well-formed frame").len()); // the frame drops here
    }
    if way == Way::Pooled {
        pool.put(framed.into_parts().read_buf);
    }
    bytes
}

/// `LengthDelimitedCodec`'s default frames (a 4-byte big-endian length, then
/// the frame), decoded readiness first: a connection waiting for its next
/// frame holds no buffer; one with part of a frame holds the buffer that
/// part is in. Frames are at most 64 KiB - 4 here.
#[cfg(feature = "tokio")]
async fn decode_when_ready(socket: &TcpStream, pool: &BufPool, mut on_frame: impl FnMut(usize)) -> std::io::Result<()> {
    use bytes::Buf;
    use std::io::{Error, ErrorKind};
    use tierpool::tokio::{read_more_when_ready, read_when_ready};

    const BUFFER: usize = 64 * 1024;
    while let Some(mut buf) = read_when_ready(socket, pool, BUFFER).await? {
        loop {
            // Every whole frame in `buf`.
            while buf.len() >= 4 {
                let len = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
                if len > BUFFER - 4 {
                    return Err(Error::new(ErrorKind::InvalidData, "frame above the 64 KiB buffer"));
                }
                if buf.len() < 4 + len {
                    break;
                }
                on_frame(len); // a real server handles `&buf[4..4 + len]` here
                buf.advance(4 + len);
            }
            if buf.is_empty() {
                break; // nothing held: back to waiting with no buffer
            }
            if buf.len() == buf.capacity() {
                // The part fills what is left of `buf`: move it to the
                // front of a fresh one.
                let mut fresh = pool.get(BUFFER);
                fresh.extend_from_slice(&buf);
                buf = fresh;
            }
            if read_more_when_ready(socket, &mut buf).await? == 0 {
                return Err(ErrorKind::UnexpectedEof.into()); // the stream ended inside a frame
            }
        }
    }
    Ok(())
}

/// Runs the server and the clients once; returns (seconds, bytes decoded).
async fn run(way: Way, pool: Arc<BufPool>) -> (f64, usize) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind on loopback");
    let addr = listener.local_addr().expect("bound");
    let start = Instant::now();
    let server = tokio::spawn(async move {
        let mut handlers = Vec::with_capacity(CONNECTIONS);
        for _ in 0..CONNECTIONS {
            let (socket, _) = listener.accept().await.expect("accept");
            let pool = pool.clone();
            handlers.push(tokio::spawn(async move { handle(socket, way, &pool, None).await }));
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
    let mut unpooled_bytes = 0;
    for way in Way::all() {
        // A worker keeps at most 4 read buffers to itself; the rest go round
        // through the global queue (see docs/guide.md, *tokio-util codecs*).
        let pool = Arc::new(BufPool::builder().thread_cache(&[64, 4, 2]).build().expect("valid settings"));
        let before = common::Counts::now();
        let (secs, bytes) = runtime.block_on(run(way, Arc::clone(&pool)));
        let counts = before.since();
        println!(
            "{:<24} {:.2} s, {} decoded, {} allocations ({} requested)",
            format!("{}:", way.name()),
            secs,
            common::human(bytes as u64),
            counts.allocs,
            common::human(counts.bytes)
        );
        if way == Way::Unpooled {
            unpooled_bytes = counts.bytes;
            continue;
        }
        let t = &pool.stats().tiers[1];
        println!(
            "  64 KiB tier: {} gets, {} misses (buffers allocated), {} back through put; {} retained",
            t.gets,
            t.misses,
            t.adopted,
            common::human(t.retained_bytes)
        );
    }
    println!("(bytes requested from the allocator without the pool: {})", common::human(unpooled_bytes));

    println!("\n{IDLE} connections, each after one frame, waiting for the next:");
    for way in Way::all() {
        let serve = move |socket, pool: Arc<BufPool>, decoded: Arc<Semaphore>| async move {
            handle(socket, way, &pool, Some(&decoded)).await
        };
        // One frame each, through a codec whose buffers go with it.
        let greet = |n: usize, socket| async move {
            let mut framed = Framed::new(socket, LengthDelimitedCodec::new());
            framed.send(Bytes::from(vec![n as u8; 200 + (n * 37) % 3000])).await.expect("send");
            framed.into_inner()
        };
        let (_, held) = common::idle_connections(IDLE, serve, greet);
        println!(
            "  {:<24} {} of live heap ({} a connection, sockets and tasks included)",
            format!("{}:", way.name()),
            common::human(held as u64),
            common::human((held / IDLE) as u64)
        );
    }
    #[cfg(not(feature = "tokio"))]
    println!("  (`--features tokio` adds read_when_ready, which holds no buffer while a connection waits)");
}
