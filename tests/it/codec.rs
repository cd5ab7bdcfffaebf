//! tokio-util codecs over TCP loopback with pooled read buffers: the buffer
//! goes in through `FramedParts` (or `read_buffer_mut`) and comes back with
//! `into_parts()` and `BufPool::put`, so a connection's buffer returns to the
//! pool when the connection ends. Also the reader → workers hand-off of
//! frames as `Bytes` from `into_shared`. These are the recipes of
//! docs/guide.md, as tests.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use tierpool::{BufPool, Put};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::{Framed, FramedParts, FramedRead, LengthDelimitedCodec, LinesCodec};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

async fn listener() -> (TcpListener, std::net::SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (listener, addr)
}

/// A frame of `len` bytes whose contents depend on `seed`, so every byte can
/// be checked at the other end.
fn frame(seed: usize, len: usize) -> Vec<u8> {
    (0..len).map(|i| (seed * 31 + i * 7) as u8).collect()
}

/// The recipe for `FramedRead`: an empty initial buffer, the pooled one
/// swapped in, and given back when the stream ends.
async fn decode_frames(pool: &BufPool, socket: TcpStream) -> Vec<Vec<u8>> {
    let mut framed = FramedRead::with_capacity(socket, LengthDelimitedCodec::new(), 0);
    *framed.read_buffer_mut() = pool.get(64 * 1024).detach();
    let mut frames = Vec::new();
    while let Some(frame) = framed.next().await {
        // A frame is split off the read buffer and shares its storage until
        // it drops: handle it (here, copy it out), then let it go.
        frames.push(frame.unwrap().to_vec());
    }
    let put = pool.put(framed.into_parts().read_buf);
    assert!(matches!(put, Put::Pooled { tier_size: 65536 }), "{put:?}");
    frames
}

#[test]
fn framed_read_with_length_delimited_frames_reads_into_a_pooled_buffer() {
    runtime().block_on(async {
        let pool = Arc::new(BufPool::new());
        let (listener, addr) = listener().await;
        let server = {
            let pool = Arc::clone(&pool);
            tokio::spawn(async move { decode_frames(&pool, listener.accept().await.unwrap().0).await })
        };
        let mut client = Framed::new(TcpStream::connect(addr).await.unwrap(), LengthDelimitedCodec::new());
        let sizes = [1, 100, 5000, 40_000, 3];
        for (seed, &len) in sizes.iter().enumerate() {
            client.send(Bytes::from(frame(seed, len))).await.unwrap();
        }
        drop(client);
        let frames = server.await.unwrap();
        assert_eq!(frames.len(), sizes.len());
        for (seed, (got, &len)) in frames.iter().zip(&sizes).enumerate() {
            assert_eq!(&got[..], &frame(seed, len)[..], "frame {seed}");
        }
        let t = &pool.stats().tiers[1];
        assert_eq!((t.gets, t.detached, t.adopted), (1, 1, 1), "the buffer went out and came back");
    });
}

#[test]
fn framed_lines_codec_echo_with_a_pooled_read_buffer() {
    runtime().block_on(async {
        let pool = Arc::new(BufPool::new());
        let (listener, addr) = listener().await;
        let server = {
            let pool = Arc::clone(&pool);
            tokio::spawn(async move {
                let (socket, _) = listener.accept().await.unwrap();
                let mut parts = FramedParts::new::<String>(socket, LinesCodec::new());
                parts.read_buf = pool.get(4096).detach();
                let mut framed = Framed::from_parts(parts);
                while let Some(line) = framed.next().await {
                    framed.send(line.unwrap().to_uppercase()).await.unwrap();
                }
                pool.put(framed.into_parts().read_buf)
            })
        };
        let mut client = Framed::new(TcpStream::connect(addr).await.unwrap(), LinesCodec::new());
        let lines: Vec<String> = (0..200).map(|i| format!("line {i} {}", "x".repeat(i % 50))).collect();
        for line in &lines {
            client.send(line.clone()).await.unwrap();
            assert_eq!(client.next().await.unwrap().unwrap(), line.to_uppercase());
        }
        drop(client);
        assert_eq!(server.await.unwrap(), Put::Pooled { tier_size: 4096 });
    });
}

#[test]
fn a_thousand_short_connections_run_on_a_handful_of_buffers() {
    const CONNECTIONS: usize = 1000;
    const CONCURRENT: usize = 8;
    runtime().block_on(async {
        // A worker thread keeps up to `thread_cache` buffers of a tier for
        // itself; a server that holds one read buffer per connection keeps
        // that small, so its workers share what is free through the global
        // queue.
        let pool = Arc::new(BufPool::builder().thread_cache(&[64, 4, 2]).build().unwrap());
        let (listener, addr) = listener().await;
        // Connections the server handles at once, and the most there were.
        let open = Arc::new((AtomicUsize::new(0), AtomicUsize::new(0)));
        let server = {
            let (pool, open) = (Arc::clone(&pool), Arc::clone(&open));
            tokio::spawn(async move {
                let mut handlers = Vec::new();
                for _ in 0..CONNECTIONS {
                    let (socket, _) = listener.accept().await.unwrap();
                    let (pool, open) = (Arc::clone(&pool), Arc::clone(&open));
                    handlers.push(tokio::spawn(async move {
                        let now = open.0.fetch_add(1, SeqCst) + 1;
                        open.1.fetch_max(now, SeqCst);
                        let frames = decode_frames(&pool, socket).await.len();
                        open.0.fetch_sub(1, SeqCst);
                        frames
                    }));
                }
                let mut frames = 0;
                for h in handlers {
                    frames += h.await.unwrap();
                }
                frames
            })
        };
        let mut clients = Vec::new();
        for c in 0..CONCURRENT {
            clients.push(tokio::spawn(async move {
                for n in (c..CONNECTIONS).step_by(CONCURRENT) {
                    let socket = TcpStream::connect(addr).await.unwrap();
                    let mut framed = Framed::new(socket, LengthDelimitedCodec::new());
                    framed.send(Bytes::from(frame(n, 100 + n % 900))).await.unwrap();
                    framed.send(Bytes::from(frame(n + 1, 10))).await.unwrap();
                    // Close, and wait until the server has put its buffer
                    // back and closed too, so that at most `CONCURRENT`
                    // connections are open at once, however the tasks are
                    // scheduled.
                    let mut socket = framed.into_inner(); // `send` flushed
                    socket.shutdown().await.unwrap();
                    let mut rest = Vec::new();
                    socket.read_to_end(&mut rest).await.unwrap();
                    assert!(rest.is_empty(), "the server sends nothing");
                }
            }));
        }
        for c in clients {
            c.await.unwrap();
        }
        assert_eq!(server.await.unwrap(), 2 * CONNECTIONS);
        let t = &pool.stats().tiers[1];
        assert_eq!((t.gets, t.adopted), (CONNECTIONS as u64, CONNECTIONS as u64));
        // A buffer is allocated for each connection open at once (and each of
        // the 2 workers may keep 4 to itself); the rest are reused.
        let most_open = open.1.load(SeqCst) as u64;
        println!("{} misses for {CONNECTIONS} connections, at most {most_open} open at once", t.misses);
        assert!(t.misses <= most_open + 2 * 4, "{} misses, {most_open} open at once", t.misses);
        assert!(t.misses < 50, "a handful of buffers: {}", t.misses);
    });
}

/// The reader → workers hand-off: one task reads length-prefixed frames into
/// pooled buffers with `read_buf` (through the guard's own `BufMut`, bounded
/// by `take` so the buffer never grows), sends each as a zero-copy `Bytes`
/// (`into_shared`) over an mpsc channel, and workers check and drop them;
/// each buffer returns to the pool when its last `Bytes` drops.
#[test]
fn a_reader_task_hands_frames_to_workers_as_shared_bytes() {
    use tokio::io::AsyncReadExt;
    const FRAMES: usize = 3000;
    runtime().block_on(async {
        let pool = Arc::new(BufPool::builder().idle_timeout(None).build().unwrap());
        let (listener, addr) = listener().await;
        let writer = tokio::spawn(async move {
            let mut socket = TcpStream::connect(addr).await.unwrap();
            for n in 0..FRAMES {
                let body = frame(n, 1 + n * 37 % 9000);
                socket.write_u32(body.len() as u32).await.unwrap();
                socket.write_all(&body).await.unwrap();
            }
        });
        let (tx, rx) = tokio::sync::mpsc::channel::<(usize, Bytes)>(16);
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        let workers: Vec<_> = (0..3)
            .map(|_| {
                let rx = Arc::clone(&rx);
                tokio::spawn(async move {
                    let mut checked = 0;
                    while let Some((n, bytes)) = { rx.lock().await.recv().await } {
                        assert_eq!(&bytes[..], &frame(n, bytes.len())[..], "frame {n}");
                        checked += 1;
                    }
                    checked
                })
            })
            .collect();
        let (mut socket, _) = listener.accept().await.unwrap();
        for n in 0..FRAMES {
            let len = socket.read_u32().await.unwrap() as usize;
            let mut buf = pool.get_owned(len);
            while buf.len() < len {
                let spare = len - buf.len();
                let mut limited = (&mut socket).take(spare as u64);
                let read = limited.read_buf(&mut buf).await.unwrap();
                assert!(read > 0, "the socket ended early");
            }
            tx.send((n, buf.into_shared())).await.unwrap();
        }
        drop(tx);
        writer.await.unwrap();
        let mut checked = 0;
        for w in workers {
            checked += w.await.unwrap();
        }
        assert_eq!(checked, FRAMES);
        let stats = pool.stats();
        assert_eq!(stats.outstanding, 0, "every buffer came back with its last Bytes");
        assert_eq!(stats.discards().total(), 0, "and was pooled");
        // Until the workers' caches fill and spill, the reader allocates.
        // However the tasks are scheduled: nothing was dropped, so each miss
        // made a buffer that stays, and a get misses only when the reader's
        // cache and the global queue are empty, so every other buffer of the
        // tier is in flight (the channel's 16, one per worker, the reader's)
        // or in one of the two worker threads' caches (64 each): at most
        // 20 + 128 per tier, of the two tiers the frames use. (No idle
        // decay: it would free buffers by the clock.)
        let most = 2 * (16 + 3 + 1 + 2 * 64);
        let misses: u64 = stats.tiers.iter().map(|t| t.misses).sum();
        assert!(misses <= most, "buffers were reused: {misses} misses for {FRAMES} frames, at most {most}");
    });
}

/// A 20 MiB request body read with `read_chain` into 64 KiB chunks, under a
/// limit that a second, larger body exceeds: a typed error, and nothing lost.
#[cfg(feature = "tokio")]
#[test]
fn a_large_body_is_read_into_a_chain_under_a_limit() {
    const BODY: usize = 20 << 20;
    runtime().block_on(async {
        let pool = Arc::new(BufPool::new());
        let (listener, addr) = listener().await;
        let writer = tokio::spawn(async move {
            let mut socket = TcpStream::connect(addr).await.unwrap();
            socket.write_all(&frame(1, BODY)).await.unwrap();
        });
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut chain = pool.chain_owned(64 << 10).with_limit(BODY);
        while tierpool::tokio::read_chain(&mut socket, &mut chain).await.unwrap() > 0 {}
        writer.await.unwrap();
        assert_eq!(chain.len(), BODY);
        assert_eq!(chain.chunk_count(), BODY / (64 << 10), "whole chunks, none grown");
        assert!(chain.chunks().flatten().copied().eq(frame(1, BODY)), "every byte, in order");

        // A body one byte over the limit: the read that would cross it fails.
        let writer = tokio::spawn(async move {
            let mut socket = TcpStream::connect(addr).await.unwrap();
            let _ = socket.write_all(&frame(2, (1 << 20) + 1)).await;
        });
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut capped = pool.chain(64 << 10).with_limit(1 << 20);
        let err = loop {
            match tierpool::tokio::read_chain(&mut socket, &mut capped).await {
                Ok(0) => panic!("the end of the stream came before the limit"),
                Ok(_) => continue,
                Err(e) => break e,
            }
        };
        assert_eq!(err.kind(), std::io::ErrorKind::FileTooLarge);
        assert_eq!(capped.len(), 1 << 20, "what was read below the limit stays");
        assert!(capped.chunks().flatten().copied().eq(frame(2, 1 << 20)));
        drop((capped, socket));
        writer.await.unwrap();
        drop(chain);
        assert_eq!(pool.stats().outstanding, 0);
    });
}

/// A chain written to a socket with `write_all_buf` goes out with vectored
/// writes, every byte in order, and its chunks come back as they are sent.
#[test]
fn a_chain_is_sent_with_vectored_writes() {
    use tokio::io::AsyncReadExt;
    runtime().block_on(async {
        let pool = Arc::new(BufPool::new());
        let (listener, addr) = listener().await;
        let reader = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut got = Vec::new();
            socket.read_to_end(&mut got).await.unwrap();
            got
        });
        let mut socket = TcpStream::connect(addr).await.unwrap();
        assert!(tokio::io::AsyncWrite::is_write_vectored(&socket));
        let mut chain = pool.chain(64 << 10);
        let body = frame(3, 3 << 20);
        chain.extend_from_slice(&body);
        socket.write_all_buf(&mut chain).await.unwrap();
        assert_eq!((chain.len(), chain.chunk_count()), (0, 0), "sent, and every chunk returned");
        drop(socket);
        assert_eq!(reader.await.unwrap(), body);
        assert_eq!(pool.stats().outstanding, 0);
    });
}
