//! A minimal tokio echo server that reads sockets through the pool, and
//! clients that check every byte, all on loopback.
//!
//! Each read takes a 64 KiB buffer from the global pool and drops it after
//! the echo, so an idle connection holds no buffer, and the memory behind a
//! thousand connections is what is in flight, not a thousand buffers.
//!
//! Run: `cargo run --release --example tcp_echo`
//! (add `--features tokio` to also see `tierpool::tokio::read_pooled`).

use std::io;
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const CLIENTS: usize = 32;
const MESSAGES: usize = 200;

async fn serve(mut socket: TcpStream) -> io::Result<()> {
    loop {
        let mut buf = tierpool::get(64 * 1024); // instead of BytesMut::with_capacity(64 * 1024)
        if socket.read_buf(&mut buf).await? == 0 {
            return Ok(()); // end of stream
        }
        socket.write_all(&buf).await?;
    } // `buf` goes back to the pool here, before the next read waits
}

/// Sends `MESSAGES` messages of varied sizes and checks every echoed byte.
async fn client(id: usize, addr: std::net::SocketAddr) -> io::Result<usize> {
    let mut socket = TcpStream::connect(addr).await?;
    let mut echoed = 0;
    for m in 0..MESSAGES {
        let len = 1 + (id * 7919 + m * 104_729) % 60_000;
        let msg: Vec<u8> = (0..len).map(|i| (i + id + m) as u8).collect();
        socket.write_all(&msg).await?;
        let mut buf = tierpool::get(64 * 1024);
        while buf.len() < len {
            if socket.read_buf(&mut buf).await? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
        assert_eq!(&buf[..], &msg[..], "client {id}, message {m}");
        echoed += len;
    }
    Ok(echoed)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> io::Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(serve(socket));
        }
    });

    let start = Instant::now();
    let clients: Vec<_> = (0..CLIENTS).map(|id| tokio::spawn(client(id, addr))).collect();
    let mut bytes = 0;
    for c in clients {
        bytes += c.await.expect("client task")?;
    }
    let elapsed = start.elapsed();
    println!(
        "{CLIENTS} clients x {MESSAGES} messages: {:.1} MiB echoed and checked in {elapsed:.2?}",
        bytes as f64 / (1 << 20) as f64
    );
    let stats = tierpool::global().stats();
    let t = &stats.tiers[1];
    println!(
        "64 KiB tier: {} gets, {} misses, hit rate {:.4}, {} discards, {} buffers retained",
        t.gets,
        t.misses,
        stats.hit_rate(),
        t.discards.total(),
        t.retained_buffers
    );

    big_reply(addr).await
}

/// A 300 KiB reply read into one 64 KiB buffer: `read_buf` doubles it on
/// every full read, past the 128 KiB ceiling, and the pool discards it.
async fn big_reply(addr: std::net::SocketAddr) -> io::Result<()> {
    const LEN: usize = 300 * 1024;
    let msg = vec![0x5Au8; LEN];
    let before = tierpool::global().stats().tiers[1].discards.above_ceiling;

    let mut socket = TcpStream::connect(addr).await?;
    socket.write_all(&msg).await?;
    let mut buf = tierpool::get(64 * 1024);
    while buf.len() < LEN {
        socket.read_buf(&mut buf).await?;
    }
    println!("\nread_buf accumulating a 300 KiB reply grew a 64 KiB buffer to {} KiB", buf.capacity() >> 10);
    drop(buf);
    let after = tierpool::global().stats().tiers[1].discards.above_ceiling;
    println!("  discarded above the 128 KiB ceiling on return: {}", after - before);

    #[cfg(feature = "tokio")]
    {
        // Bounded: consume each full 64 KiB buffer (here: check and clear)
        // instead of letting it grow.
        let mut socket = TcpStream::connect(addr).await?;
        socket.write_all(&msg).await?;
        let mut buf = tierpool::get(64 * 1024);
        let mut seen = 0;
        while seen < LEN {
            match tierpool::tokio::read_pooled(&mut socket, &mut buf).await {
                Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                Ok(n) => seen += n,
                Err(e) if e.kind() == io::ErrorKind::OutOfMemory => {
                    assert!(buf.iter().all(|&b| b == 0x5A));
                    buf.clear();
                }
                Err(e) => return Err(e),
            }
        }
        println!("read_pooled read the same reply through a buffer of {} KiB", buf.capacity() >> 10);
        drop(buf);
        let last = tierpool::global().stats().tiers[1].discards.above_ceiling;
        println!("  discarded on return: {}", last - after);
    }
    #[cfg(not(feature = "tokio"))]
    println!("  (`--features tokio` adds tierpool::tokio::read_pooled, which reads without growing)");
    Ok(())
}
