//! Readiness-first reads (`tierpool::tokio::read_when_ready` and its owned
//! and appending variants) over real sockets: TCP on 127.0.0.1 and Unix
//! socket pairs, every socket type that implements `ReadReady`. What an idle
//! connection holds is measured in its own test binary,
//! `tests/idle_connections.rs`.

use std::future::{Future, poll_fn};
use std::io;
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;

use tierpool::BufPool;
use tierpool::tokio::{ReadReady, read_more_when_ready, read_owned_when_ready, read_when_ready};
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::pool;

/// The `i`-th byte of the stream a writer sends.
fn byte(i: usize) -> u8 {
    (i * 31 + i / 251) as u8
}

/// Message sizes from 1 B to 100,000 B: above 64 KiB too, so that one
/// message takes several reads.
fn sizes(messages: usize) -> impl Iterator<Item = usize> {
    (0..messages).map(|m| 1 + (m * 104_729) % 100_000)
}

/// A connected pair of TCP sockets on 127.0.0.1: (client, server).
async fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
    let (server, _) = listener.accept().await.unwrap();
    (client, server)
}

/// Writes `messages` messages of [`sizes`], then ends the stream; returns
/// the bytes written.
async fn send<W: AsyncWrite + Unpin>(mut writer: W, messages: usize) -> usize {
    let mut at = 0;
    for len in sizes(messages) {
        let msg: Vec<u8> = (at..at + len).map(byte).collect();
        writer.write_all(&msg).await.unwrap();
        at += len;
    }
    writer.shutdown().await.unwrap();
    at
}

/// Reads `socket` to its end with `read_when_ready`, checking every byte;
/// returns the bytes read. Every buffer keeps the capacity it came with.
async fn drain<R: ReadReady>(socket: &R, pool: &BufPool) -> usize {
    let mut at = 0;
    while let Some(buf) = read_when_ready(socket, pool, 64 * 1024).await.unwrap() {
        assert!(!buf.is_empty(), "Some is never empty");
        assert_eq!(buf.capacity(), 64 * 1024, "never grown");
        assert!(buf.iter().enumerate().all(|(i, &b)| b == byte(at + i)), "bytes {at}.. in order");
        at += buf.len();
    }
    // The end of the stream stays the end.
    assert!(read_when_ready(socket, pool, 64 * 1024).await.unwrap().is_none());
    at
}

/// After a drain: every buffer went back, pooled in its tier.
fn assert_all_back(pool: &BufPool) {
    let stats = pool.stats();
    let t = &stats.tiers[1];
    assert_eq!(stats.outstanding, 0);
    assert_eq!(t.returns, t.gets, "every buffer went back");
    assert_eq!((t.retiered, t.discards.total()), (0, 0), "none grew");
}

#[tokio::test]
async fn read_when_ready_reads_every_byte_of_many_messages_then_the_end_of_stream() {
    let pool = pool();
    let (client, server) = tcp_pair().await;
    let writer = tokio::spawn(send(client, 300));
    let read = drain(&server, &pool).await;
    assert_eq!(read, writer.await.unwrap());
    assert_eq!(read, sizes(300).sum::<usize>());
    assert_all_back(&pool);
}

#[tokio::test]
async fn read_when_ready_reads_tcp_read_halves() {
    let pool = pool();
    let (client, mut server) = tcp_pair().await;
    let writer = tokio::spawn(send(client, 100));
    let (reader, _writer) = server.split();
    assert_eq!(drain(&reader, &pool).await, writer.await.unwrap());

    let (client, server) = tcp_pair().await;
    let writer = tokio::spawn(send(client, 100));
    let (reader, _writer) = server.into_split();
    assert_eq!(drain(&reader, &pool).await, writer.await.unwrap());
    assert_all_back(&pool);
}

#[cfg(unix)]
#[tokio::test]
async fn read_when_ready_reads_unix_sockets_and_their_read_halves() {
    use tokio::net::UnixStream;

    let pool = pool();
    let (client, server) = UnixStream::pair().unwrap();
    let writer = tokio::spawn(send(client, 100));
    assert_eq!(drain(&server, &pool).await, writer.await.unwrap());

    let (client, mut server) = UnixStream::pair().unwrap();
    let writer = tokio::spawn(send(client, 100));
    let (reader, _writer) = server.split();
    assert_eq!(drain(&reader, &pool).await, writer.await.unwrap());

    let (client, server) = UnixStream::pair().unwrap();
    let writer = tokio::spawn(send(client, 100));
    let (reader, _writer) = server.into_split();
    assert_eq!(drain(&reader, &pool).await, writer.await.unwrap());
    assert_all_back(&pool);
}

/// Polls `fut` once, from inside the runtime.
async fn poll_once<F: Future + Unpin>(fut: &mut F) -> Poll<F::Output> {
    poll_fn(|cx| Poll::Ready(std::pin::Pin::new(&mut *fut).poll(cx))).await
}

/// Readiness that finds nothing to read: another reader of the same socket
/// took the data between the event and the helper's read. The helper takes
/// a buffer, finds `WouldBlock`, gives it back, and waits again holding
/// none; dropped while it waits, it holds none and loses nothing.
#[tokio::test]
async fn spurious_readiness_gives_the_buffer_back_and_waits_holding_none() {
    let pool = pool();
    let (mut client, server) = tcp_pair().await;
    client.write_all(b"x").await.unwrap();
    server.readable().await.unwrap();
    // Drain it: tokio keeps the readiness until a read finds nothing.
    assert_eq!(server.try_read(&mut [0; 16]).unwrap(), 1);

    let mut read = pin!(read_when_ready(&server, &pool, 4096));
    assert!(poll_once(&mut read).await.is_pending(), "nothing to read: it waits");
    let stats = pool.stats();
    let t = &stats.tiers[0];
    assert_eq!((t.gets, t.returns), (1, 1), "the readiness was stale: a buffer was taken and given back");
    assert_eq!(stats.outstanding, 0, "it waits holding no buffer");

    client.write_all(b"yz").await.unwrap();
    let buf = read.await.unwrap().expect("data, not the end");
    assert_eq!(&buf[..], b"yz");
    assert_eq!(pool.stats().outstanding, 1);
    drop(buf);

    // Cancelled while it waits: no buffer held, and the next read gets
    // every byte.
    let mut cancelled = Box::pin(read_when_ready(&server, &pool, 4096));
    assert!(poll_once(&mut cancelled).await.is_pending());
    assert_eq!(pool.stats().outstanding, 0);
    drop(cancelled);
    client.write_all(b"after").await.unwrap();
    let buf = read_when_ready(&server, &pool, 4096).await.unwrap().unwrap();
    assert_eq!(&buf[..], b"after");
    drop(buf);
    drop(client);
    assert!(read_when_ready(&server, &pool, 4096).await.unwrap().is_none());
    let t = &pool.stats().tiers[0];
    assert_eq!(t.returns, t.gets);
    assert_eq!(t.discards.total(), 0);
}

/// Appending to a partial frame: the rest comes into the spare capacity, a
/// full buffer is an error at once (not a wait, not `Ok(0)`), and `Ok(0)`
/// is the end of the stream.
#[tokio::test]
async fn read_more_when_ready_appends_within_the_capacity_and_reports_a_full_buffer() {
    let pool = pool();
    let (mut client, server) = tcp_pair().await;
    client.write_all(b"abc").await.unwrap();
    let mut buf = read_when_ready(&server, &pool, 4096).await.unwrap().unwrap();
    while buf.len() < 3 {
        assert!(read_more_when_ready(&server, &mut buf).await.unwrap() > 0);
    }
    client.write_all(b"defg").await.unwrap();
    while buf.len() < 7 {
        assert!(read_more_when_ready(&server, &mut buf).await.unwrap() > 0);
    }
    assert_eq!(&buf[..], b"abcdefg");

    // 10 bytes more than fit: the buffer fills, then reports itself full.
    let rest: Vec<u8> = (0..4096 - 7 + 10).map(byte).collect();
    client.write_all(&rest).await.unwrap();
    let err = loop {
        match read_more_when_ready(&server, &mut buf).await {
            Ok(n) => assert!(n > 0, "Ok(0) only at the end of the stream"),
            Err(e) => break e,
        }
    };
    assert_eq!(err.kind(), io::ErrorKind::OutOfMemory);
    assert_eq!((buf.len(), buf.capacity()), (4096, 4096), "filled, not grown");
    assert_eq!(&buf[7..], &rest[..4096 - 7]);
    // Full: an error at once, without waiting for the socket.
    {
        let mut full = pin!(read_more_when_ready(&server, &mut buf));
        match poll_once(&mut full).await {
            Poll::Ready(Err(e)) => assert_eq!(e.kind(), io::ErrorKind::OutOfMemory),
            other => panic!("a full buffer must fail at once: {other:?}"),
        }
    }

    // The 10 bytes that did not fit are still in the socket.
    buf.clear();
    drop(client);
    let mut tail = Vec::new();
    loop {
        match read_more_when_ready(&server, &mut buf).await.unwrap() {
            0 => break,
            _ => {
                tail.extend_from_slice(&buf);
                buf.clear();
            }
        }
    }
    assert_eq!(tail, &rest[4096 - 7..]);
    drop(buf);
    let t = &pool.stats().tiers[0];
    assert_eq!((t.gets, t.returns, t.retiered, t.discards.total()), (1, 1, 0, 0));
}

/// The owned variant in tasks: an echo server of one task per connection,
/// reading from `OwnedReadHalf`s, with clients that check every byte.
#[test]
fn read_owned_when_ready_serves_an_echo_task_per_connection() {
    const CLIENTS: usize = 16;
    const MESSAGES: usize = 20;
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let pool = Arc::new(pool());
    runtime.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = {
            let pool = Arc::clone(&pool);
            tokio::spawn(async move {
                let mut conns = Vec::new();
                for _ in 0..CLIENTS {
                    let (socket, _) = listener.accept().await.unwrap();
                    let pool = Arc::clone(&pool);
                    conns.push(tokio::spawn(async move {
                        let (reader, mut writer) = socket.into_split();
                        while let Some(buf) = read_owned_when_ready(&reader, &pool, 64 * 1024).await.unwrap() {
                            writer.write_all(&buf).await.unwrap();
                        }
                    }));
                }
                for c in conns {
                    c.await.unwrap();
                }
            })
        };
        let clients: Vec<_> = (0..CLIENTS)
            .map(|client| {
                tokio::spawn(async move {
                    let mut socket = TcpStream::connect(addr).await.unwrap();
                    for (m, len) in sizes(MESSAGES).enumerate() {
                        let msg: Vec<u8> = (0..len).map(|i| byte(i + client + m)).collect();
                        socket.write_all(&msg).await.unwrap();
                        let mut reply = vec![0; len];
                        socket.read_exact(&mut reply).await.unwrap();
                        assert!(reply == msg, "client {client}, message {m}");
                    }
                })
            })
            .collect();
        for c in clients {
            c.await.unwrap();
        }
        server.await.unwrap();
    });
    drop(runtime);
    assert_all_back(&pool);
}

/// With `track_callers`, a buffer the helper took is attributed to the line
/// that called the helper; and a size above `max_request` panics at the
/// call, not when data arrives.
#[tokio::test]
async fn read_when_ready_attributes_its_buffers_to_the_callers_line() {
    let pool = Arc::new(BufPool::builder().track_callers(true).max_request(1 << 20).build().unwrap());
    let (mut client, server) = tcp_pair().await;
    client.write_all(b"tracked").await.unwrap();
    let (read, line) = (read_when_ready(&server, &pool, 4096), line!());
    let buf = read.await.unwrap().unwrap();
    let sites = pool.outstanding_by_caller();
    assert_eq!(sites.len(), 1);
    assert_eq!((sites[0].location.file(), sites[0].location.line()), (file!(), line));
    drop(buf);

    client.write_all(b"owned").await.unwrap();
    let (read, line) = (read_owned_when_ready(&server, &pool, 4096), line!());
    let buf = read.await.unwrap().unwrap();
    assert_eq!(pool.outstanding_by_caller()[0].location.line(), line);
    drop(buf);
    pool.assert_quiescent();

    let too_big = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        drop(read_when_ready(&server, &pool, (1 << 20) + 1));
    }));
    let msg = too_big.expect_err("panics at the call").downcast::<String>().unwrap();
    assert!(msg.contains("use try_get"), "{msg}");
}
