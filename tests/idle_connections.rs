//! What an idle connection holds: N loopback connections each send one
//! 64 KiB message, the server reads it and waits for the next, and then the
//! pool's outstanding guards and the live heap are measured, two ways:
//!
//! - get-then-read, the usual code: `let mut buf = pool.get(64 KiB);
//!   socket.read_buf(&mut buf).await`. The guard is taken before the read
//!   waits, so each idle connection holds one: N guards, N × 64 KiB.
//! - readiness-first, `tierpool::tokio::read_owned_when_ready`: the buffer is
//!   taken only once the socket is readable, so an idle connection holds
//!   none: 0 guards, and the live heap above the baseline is the
//!   connections' own state (tasks, sockets), far below a buffer each.
//!
//! Deterministic: a current-thread runtime runs the clients, the server and
//! the measurement on this one thread, so when the measurement runs every
//! server task is between two polls. Each task signals when its read of the
//! next message returns `Pending` after the whole first message was read,
//! i.e. once it is parked in that read; the measurement waits for all N
//! signals. A parked task may be woken again by a stale readiness event, but
//! the helper takes and gives back its buffer within one poll, so between
//! polls it holds none, and get-then-read holds its one at every point.
//!
//! A counting global allocator gives the live heap; this file is its own
//! test binary, with a single test, so that nothing else allocates meanwhile.
//!
//! Run: `cargo test --release --features tokio --test idle_connections -- --nocapture`

#![cfg(all(feature = "tokio", not(miri)))]

#[path = "support/counting.rs"]
mod counting;

use std::future::{Future, poll_fn};
use std::io;
use std::pin::pin;
use std::sync::Arc;

use tierpool::{BufPool, PooledBuf};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

#[global_allocator]
static ALLOCATOR: counting::Counting<std::alloc::System> = counting::Counting::new(std::alloc::System);

const CONNECTIONS: usize = 200;
const MESSAGE: usize = 64 * 1024;
const BUFFER: usize = 64 * 1024;
/// The heap a connection may take beyond its buffers, both ends: the server
/// task (its header and its future), the two sockets' registrations with the
/// reactor, a slot in the client list and in the list of server tasks.
/// A few hundred bytes each in practice; 8 KiB leaves room for a runtime
/// that grows its own tables, and is still an eighth of a buffer.
const SLACK_PER_CONNECTION: usize = 8 * 1024;

#[derive(Clone, Copy, Debug)]
enum Way {
    /// `pool.get_owned(BUFFER)`, then `read_buf`: the guide's old recipe.
    GetThenRead,
    /// `tierpool::tokio::read_owned_when_ready`.
    ReadWhenReady,
}

/// The `i`-th byte of every connection's message.
fn byte(i: usize) -> u8 {
    (i % 251) as u8
}

/// One read of the next message, `None` at the end of the stream.
async fn read(way: Way, socket: &mut TcpStream, pool: &Arc<BufPool>) -> io::Result<Option<PooledBuf<'static>>> {
    match way {
        Way::GetThenRead => {
            let mut buf = pool.get_owned(BUFFER);
            Ok((socket.read_buf(&mut buf).await? > 0).then_some(buf))
        }
        Way::ReadWhenReady => tierpool::tokio::read_owned_when_ready(&*socket, pool, BUFFER).await,
    }
}

/// A server connection: reads until the end of the stream, checking every
/// byte; adds a permit to `parked` the first time a read waits after the
/// whole message came in. Returns the bytes read.
async fn serve(way: Way, mut socket: TcpStream, pool: Arc<BufPool>, parked: Arc<Semaphore>) -> usize {
    let mut seen = 0;
    let mut signalled = false;
    loop {
        let mut next = pin!(read(way, &mut socket, &pool));
        let got = poll_fn(|cx| {
            let poll = next.as_mut().poll(cx);
            if poll.is_pending() && seen == MESSAGE && !signalled {
                signalled = true;
                parked.add_permits(1);
            }
            poll
        })
        .await;
        match got.unwrap() {
            Some(buf) => {
                assert!(buf.iter().enumerate().all(|(i, &b)| b == byte(seen + i)), "bytes {seen}.. in order");
                seen += buf.len();
            }
            None => return seen,
        }
    }
}

/// What the pool and the heap held once every connection sat idle.
#[derive(Debug)]
struct Idle {
    /// Guards checked out.
    outstanding: u64,
    /// Bytes the pool kept after `trim` (0: only the guards remain).
    retained: u64,
    /// Live heap bytes above the baseline taken before the first connection.
    above_baseline: usize,
}

fn idle(way: Way) -> Idle {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_io().build().unwrap();
    let idle = runtime.block_on(async {
        let pool = Arc::new(BufPool::new());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let parked = Arc::new(Semaphore::new(0));
        let message: Vec<u8> = (0..MESSAGE).map(byte).collect();
        let mut clients = Vec::with_capacity(CONNECTIONS);
        // This thread's cache of the pool exists before the baseline; the
        // buffer it held goes with the trim.
        drop(pool.get_owned(BUFFER));
        pool.trim();
        let baseline = counting::live();

        let server = {
            let (pool, parked) = (Arc::clone(&pool), Arc::clone(&parked));
            tokio::spawn(async move {
                let mut conns = Vec::with_capacity(CONNECTIONS);
                for _ in 0..CONNECTIONS {
                    let (socket, _) = listener.accept().await.unwrap();
                    conns.push(tokio::spawn(serve(way, socket, Arc::clone(&pool), Arc::clone(&parked))));
                }
                conns
            })
        };
        for _ in 0..CONNECTIONS {
            let mut client = TcpStream::connect(addr).await.unwrap();
            client.write_all(&message).await.unwrap();
            clients.push(client);
        }
        // Every server task has read its message and is parked in the next read.
        parked.acquire_many(CONNECTIONS as u32).await.unwrap().forget();
        pool.trim(); // every cache of this pool is this thread's: all of it goes
        let stats = pool.stats();
        let idle = Idle {
            outstanding: stats.outstanding,
            retained: stats.retained_bytes(),
            above_baseline: counting::live() - baseline,
        };

        drop(clients); // the end of every stream
        for conn in server.await.unwrap() {
            assert_eq!(conn.await.unwrap(), MESSAGE, "every connection read its whole message");
        }
        pool.assert_quiescent();
        idle
    });
    drop(runtime);
    idle
}

#[test]
fn an_idle_connection_holds_a_buffer_with_get_then_read_and_none_with_read_when_ready() {
    let n = CONNECTIONS as u64;
    let got = idle(Way::GetThenRead);
    println!("{CONNECTIONS} idle connections, get-then-read: {got:?}");
    assert_eq!(got.retained, 0, "trim left only the guards");
    assert_eq!(got.outstanding, n, "one guard per idle connection");
    assert!(got.above_baseline >= CONNECTIONS * BUFFER, "{} B live for {n} guards of {BUFFER} B", got.above_baseline);

    let ready = idle(Way::ReadWhenReady);
    println!("{CONNECTIONS} idle connections, read_owned_when_ready: {ready:?}");
    assert_eq!(ready.retained, 0, "trim left only the guards");
    assert_eq!(ready.outstanding, 0, "no guard held by an idle connection");
    assert!(
        ready.above_baseline < CONNECTIONS * SLACK_PER_CONNECTION,
        "{} B live above the baseline for {n} idle connections: more than {SLACK_PER_CONNECTION} B each",
        ready.above_baseline
    );
    assert!(ready.above_baseline < CONNECTIONS * BUFFER, "less than a buffer per connection");
}
