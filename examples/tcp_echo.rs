//! A minimal tokio echo server that reads sockets through the pool,
//! readiness first, and clients that check every byte, all on loopback;
//! then what idle connections hold, read each way.
//!
//! The server waits until a socket is readable before it takes a 64 KiB
//! buffer from the global pool (`tierpool::tokio::read_when_ready`), and
//! drops it after the echo, so a connection waiting for data holds no
//! buffer. The usual `let mut buf = tierpool::get(..);
//! socket.read_buf(&mut buf).await` takes the buffer before the read waits:
//! each idle connection holds one. The second section opens 200 silent
//! connections to a server of each kind and prints what they hold.
//!
//! Run: `cargo run --release --features tokio --example tcp_echo`

mod common;

use std::io;
use std::time::Instant;

use tierpool::tokio::read_when_ready;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[global_allocator]
static ALLOC: common::Counting<std::alloc::System> = common::Counting::new(std::alloc::System);

const CLIENTS: usize = 32;
const MESSAGES: usize = 200;
/// Two sockets each, 400 file descriptors: within the usual limit of 1024.
const IDLE: usize = 200;

async fn serve(mut socket: TcpStream) -> io::Result<()> {
    // was: loop { let mut buf = tierpool::get(64 * 1024); socket.read_buf(&mut buf).await?; ... }
    while let Some(buf) = read_when_ready(&socket, tierpool::global(), 64 * 1024).await? {
        socket.write_all(&buf).await?;
    } // `buf` goes back to the pool here; none is held while the socket waits
    Ok(()) // end of stream
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

/// Runs the echo server and the clients; returns the server's address.
async fn echo() -> io::Result<std::net::SocketAddr> {
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
    Ok(addr)
}

fn main() -> io::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let addr = runtime.block_on(echo())?;

    println!("\n{IDLE} silent connections:");
    for (name, guards, heap) in common::idle_echo(IDLE) {
        println!(
            "  {name:>17}: {guards:>3} buffers out, {} of live heap for them ({} a connection, sockets and tasks included)",
            common::human(heap as u64),
            common::human((heap / IDLE) as u64)
        );
    }

    runtime.block_on(big_reply(addr))
}

/// A 300 KiB reply read into one 64 KiB buffer: `read_buf` doubles it on
/// every full read, past the 128 KiB ceiling, and the pool discards it;
/// `read_pooled` fills it to its capacity and no further.
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
    Ok(())
}
