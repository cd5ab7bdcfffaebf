//! Shared by the examples: the counting global allocator of the tests
//! (`tests/support/counting.rs`), so an example can print what the pool
//! saved, and a byte formatter. Not an example itself (Cargo only picks up
//! `examples/*.rs` and `examples/*/main.rs`).

#![allow(dead_code, unused_imports)] // each example takes a subset

#[path = "../../tests/support/counting.rs"]
mod counting;

pub use counting::{Counting, Counts, live, peak, reset_peak};

/// `1.5 MiB`, `64 KiB`, `300 B`.
pub fn human(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64),
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}

/// Runs `a` and `b` in `rounds` interleaved rounds (alternating which goes
/// first), each returning its own measure (time per op, say), and prints a
/// progress line for a phase that runs longer than about 2 s.
pub fn interleave(
    label: &str,
    rounds: usize,
    mut a: impl FnMut() -> f64,
    mut b: impl FnMut() -> f64,
) -> (Vec<f64>, Vec<f64>) {
    let start = std::time::Instant::now();
    let mut next_note = std::time::Duration::from_secs(2);
    let (mut xs, mut ys) = (Vec::with_capacity(rounds), Vec::with_capacity(rounds));
    for round in 0..rounds {
        if round % 2 == 0 {
            xs.push(a());
            ys.push(b());
        } else {
            ys.push(b());
            xs.push(a());
        }
        if start.elapsed() >= next_note && round + 1 < rounds {
            println!("    {label}: round {} of {rounds}...", round + 1);
            next_note = start.elapsed() + std::time::Duration::from_secs(2);
        }
    }
    (xs, ys)
}

/// The median, and the range, of `xs`.
pub fn spread(xs: &[f64]) -> (f64, f64, f64) {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

/// How `pooled` compares with `unpooled` (lower is better): a ratio of
/// medians when the ranges do not overlap, "within noise" when they do.
pub fn verdict(unpooled: &[f64], pooled: &[f64]) -> String {
    let ((mu, lu, hu), (mp, lp, hp)) = (spread(unpooled), spread(pooled));
    if lp <= hu && lu <= hp {
        format!("within noise (the ranges overlap; medians {:.2}x)", mu / mp)
    } else if mp < mu {
        format!("pooled {:.2}x faster (median over median; no overlap)", mu / mp)
    } else {
        format!("pooled {:.2}x slower (median over median; no overlap)", mp / mu)
    }
}

/// What `n` loopback connections hold while they wait: the guards out, and
/// the live heap above what it was before the first connection (the pool's
/// own retained buffers trimmed away first).
///
/// Runs on a current-thread runtime. `serve` handles each accepted socket
/// and adds a permit to the semaphore just before the read that then waits;
/// on this runtime a task that adds its permit goes on into that read within
/// the same poll, so once all `n` have, each waits, holding what it holds
/// while idle. `greet` is what a client sends before it falls silent; it
/// gives its socket back, which stays open until the figures are taken.
pub fn idle_connections<S, SF, G, GF>(n: usize, serve: S, greet: G) -> (u64, usize)
where
    S: Fn(tokio::net::TcpStream, std::sync::Arc<tierpool::BufPool>, std::sync::Arc<tokio::sync::Semaphore>) -> SF
        + 'static,
    SF: std::future::Future + 'static,
    G: Fn(usize, tokio::net::TcpStream) -> GF,
    GF: std::future::Future<Output = tokio::net::TcpStream>,
{
    use std::sync::Arc;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_io().build().expect("runtime");
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async {
        let pool = Arc::new(tierpool::BufPool::new());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind on loopback");
        let addr = listener.local_addr().expect("bound");
        let waiting = Arc::new(tokio::sync::Semaphore::new(0));
        // This thread's cache of the pool, made (and a previous pool's
        // released) before the baseline.
        drop(pool.get_owned(64 * 1024));
        pool.trim();
        let baseline = live();
        let server = {
            let (pool, waiting) = (Arc::clone(&pool), Arc::clone(&waiting));
            tokio::task::spawn_local(async move {
                for _ in 0..n {
                    let (socket, _) = listener.accept().await.expect("accept");
                    tokio::task::spawn_local(serve(socket, Arc::clone(&pool), Arc::clone(&waiting)));
                }
            })
        };
        let mut clients = Vec::with_capacity(n);
        for i in 0..n {
            let socket = tokio::net::TcpStream::connect(addr).await.expect("connect");
            clients.push(greet(i, socket).await);
        }
        server.await.expect("accept task");
        waiting.acquire_many(n as u32).await.expect("open").forget();
        pool.trim(); // what is left of the pool is what the connections hold
        let held = (pool.stats().outstanding, live().saturating_sub(baseline));
        drop(clients);
        held
    })
}

/// How a silent echo connection is read (feature `tokio`): with a guard
/// taken before the read waits, or with `tierpool::tokio::read_when_ready`,
/// which takes one once there is data.
#[cfg(feature = "tokio")]
#[derive(Clone, Copy)]
pub enum IdleRead {
    GetThenRead,
    ReadWhenReady,
}

/// An echo connection read one way; adds a permit to `waiting` just before
/// its first read, which then waits: the connection is silent.
#[cfg(feature = "tokio")]
pub async fn serve_idle(
    read: IdleRead,
    mut socket: tokio::net::TcpStream,
    pool: std::sync::Arc<tierpool::BufPool>,
    waiting: std::sync::Arc<tokio::sync::Semaphore>,
) -> std::io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    waiting.add_permits(1);
    loop {
        let buf = match read {
            IdleRead::GetThenRead => {
                let mut buf = pool.get_owned(64 * 1024); // taken before the read waits
                if socket.read_buf(&mut buf).await? == 0 {
                    return Ok(());
                }
                buf
            }
            IdleRead::ReadWhenReady => match tierpool::tokio::read_when_ready(&socket, &pool, 64 * 1024).await? {
                Some(buf) => buf, // taken once there is data
                None => return Ok(()),
            },
        };
        socket.write_all(&buf).await?;
    }
}

/// What `n` silent echo connections hold, read each way: the way's name,
/// the guards out and the live heap held ([`idle_connections`]).
#[cfg(feature = "tokio")]
pub fn idle_echo(n: usize) -> Vec<(&'static str, u64, usize)> {
    [(IdleRead::GetThenRead, "get then read_buf"), (IdleRead::ReadWhenReady, "read_when_ready")]
        .into_iter()
        .map(|(read, name)| {
            let serve = move |socket, pool, waiting| serve_idle(read, socket, pool, waiting);
            let (guards, heap) = idle_connections(n, serve, |_, socket| async { socket });
            (name, guards, heap)
        })
        .collect()
}
