//! The tour's workload: a tokio JSON echo service on loopback, run once with
//! plain `Vec<u8>` buffers and once with pooled ones. The code is the same
//! for both; only [`Source::get`] differs.
//!
//! Each request is one round trip on a kept-alive connection:
//! 1. the client encodes a request with `serde_json::to_writer` into a 4 KiB
//!    buffer (after a 4-byte length prefix) and writes it;
//! 2. the server reads the frame with `read_buf` into a 64 KiB buffer, decodes
//!    it without allocating (borrowed `&str`), encodes a 1-10 KiB response
//!    into a 64 KiB buffer and writes it;
//! 3. the client reads the response with `read_buf` into a 64 KiB buffer and
//!    checks it.
//!
//! That is four buffers per request, three of them 64 KiB, the size at
//! which allocators stop caching per thread.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use bytes::BufMut;
use serde::de::{IgnoredAny, SeqAccess, Visitor};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use tierpool::{BufPool, PooledBuf};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::common::{Counts, human};

const CONNECTIONS: usize = 32;
const REQUESTS_PER_CONNECTION: u64 = 200;
const ROUNDS: usize = 5;
const READ_BUF: usize = 64 * 1024;

/// Where buffers come from: the one thing that differs between the runs.
trait Source: Clone + Send + Sync + 'static {
    type Buf: BufMut + io::Write + AsRef<[u8]> + AsMut<[u8]> + Send + Unpin + 'static;
    fn get(&self, n: usize) -> Self::Buf;
}

#[derive(Clone)]
struct Unpooled;

impl Source for Unpooled {
    type Buf = Vec<u8>;
    fn get(&self, n: usize) -> Vec<u8> {
        Vec::with_capacity(n)
    }
}

#[derive(Clone)]
struct Pooled(Arc<BufPool>);

impl Source for Pooled {
    type Buf = PooledBuf<'static>;
    fn get(&self, n: usize) -> PooledBuf<'static> {
        self.0.get_owned(n)
    }
}

#[derive(Serialize, Deserialize)]
struct Request<'a> {
    id: u64,
    user: &'a str,
    items: u32,
}

/// Serialized from an iterator, so the server builds no `Vec`.
struct Response<'a> {
    id: u64,
    user: &'a str,
    items: u32,
}

impl Serialize for Response<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Item {
            sku: u32,
            quantity: u32,
            price_cents: u64,
            in_stock: bool,
        }
        let items = (0..self.items).map(|i| Item {
            sku: 100_000 + i,
            quantity: i % 7 + 1,
            price_cents: 1999 + u64::from(i),
            in_stock: i % 3 != 0,
        });
        let mut st = s.serialize_struct("Response", 3)?;
        st.serialize_field("id", &self.id)?;
        st.serialize_field("user", self.user)?;
        st.serialize_field("items", &Seq(std::cell::Cell::new(Some(items))))?;
        st.end()
    }
}

struct Seq<I>(std::cell::Cell<Option<I>>);

impl<I: Iterator<Item = T>, T: Serialize> Serialize for Seq<I> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.take().expect("serialized once"))
    }
}

/// What the client checks: id, user, and how many items came back, counted
/// without collecting them.
#[derive(Deserialize)]
struct ResponseView<'a> {
    id: u64,
    user: &'a str,
    items: Count,
}

struct Count(u32);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Count;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a sequence")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Count, A::Error> {
                let mut n = 0;
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    n += 1;
                }
                Ok(Count(n))
            }
        }
        d.deserialize_seq(V)
    }
}

const USERS: [&str; 4] = ["ada", "grace", "edsger", "barbara"];

/// Encodes `value` after a 4-byte big-endian length prefix.
fn encode<B: BufMut + io::Write + AsMut<[u8]>>(buf: &mut B, value: &impl Serialize) {
    buf.put_u32(0);
    serde_json::to_writer(&mut *buf, value).expect("serializing to memory cannot fail");
    let body = (buf.as_mut().len() - 4) as u32;
    buf.as_mut()[..4].copy_from_slice(&body.to_be_bytes());
}

/// Reads one length-prefixed frame into `buf`; `false` at a clean end of
/// stream.
async fn read_frame<B: BufMut + AsRef<[u8]> + Unpin>(socket: &mut TcpStream, buf: &mut B) -> io::Result<bool> {
    loop {
        let have = buf.as_ref();
        if have.len() >= 4 {
            let body = u32::from_be_bytes(have[..4].try_into().unwrap()) as usize;
            if have.len() >= 4 + body {
                return Ok(true);
            }
        }
        if socket.read_buf(buf).await? == 0 {
            return if have_nothing(buf) { Ok(false) } else { Err(io::ErrorKind::UnexpectedEof.into()) };
        }
    }
}

fn have_nothing<B: AsRef<[u8]>>(buf: &B) -> bool {
    buf.as_ref().is_empty()
}

async fn serve<S: Source>(src: S, mut socket: TcpStream) -> io::Result<()> {
    loop {
        let mut frame = src.get(READ_BUF);
        if !read_frame(&mut socket, &mut frame).await? {
            return Ok(());
        }
        let req: Request<'_> = serde_json::from_slice(&frame.as_ref()[4..])?;
        let mut out = src.get(16 * 1024);
        encode(&mut out, &Response { id: req.id, user: req.user, items: req.items });
        socket.write_all(out.as_ref()).await?;
    }
}

async fn client<S: Source>(src: S, addr: std::net::SocketAddr, conn: usize, done: Arc<AtomicU64>) -> io::Result<()> {
    let mut socket = TcpStream::connect(addr).await?;
    socket.set_nodelay(true)?;
    for r in 0..REQUESTS_PER_CONNECTION {
        let id = conn as u64 * REQUESTS_PER_CONNECTION + r;
        let items = 20 + (id * 37 % 180) as u32; // 1-10 KiB responses
        let user = USERS[id as usize % USERS.len()];
        let mut req = src.get(4096);
        encode(&mut req, &Request { id, user, items });
        socket.write_all(req.as_ref()).await?;
        drop(req);

        let mut resp = src.get(READ_BUF);
        if !read_frame(&mut socket, &mut resp).await? {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let view: ResponseView<'_> = serde_json::from_slice(&resp.as_ref()[4..])?;
        assert_eq!((view.id, view.user, view.items.0), (id, user, items), "response to request {id}");
        done.fetch_add(1, Relaxed);
    }
    Ok(())
}

struct Outcome {
    requests: u64,
    elapsed: Duration,
    allocs: Counts,
}

fn run_one<S: Source>(rt: &tokio::runtime::Runtime, src: S) -> Outcome {
    let done = Arc::new(AtomicU64::new(0));
    let allocs = Counts::now();
    let start = Instant::now();
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let server = {
            let src = src.clone();
            tokio::spawn(async move {
                let mut conns = Vec::with_capacity(CONNECTIONS);
                for _ in 0..CONNECTIONS {
                    let (socket, _) = listener.accept().await?;
                    socket.set_nodelay(true)?;
                    conns.push(tokio::spawn(serve(src.clone(), socket)));
                }
                for c in conns {
                    c.await.expect("server task")?;
                }
                io::Result::Ok(())
            })
        };
        let clients: Vec<_> =
            (0..CONNECTIONS).map(|conn| tokio::spawn(client(src.clone(), addr, conn, Arc::clone(&done)))).collect();
        for c in clients {
            c.await.expect("client task").expect("client");
        }
        server.await.expect("server task").expect("server")
    });
    let elapsed = start.elapsed();
    let allocs = allocs.since();
    Outcome { requests: done.load(Relaxed), elapsed, allocs }
}

pub(crate) fn run() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    println!(
        "  {CONNECTIONS} connections x {REQUESTS_PER_CONNECTION} requests a round, {ROUNDS} rounds a side, interleaved; \
         per request: a 4 KiB request buffer and three 64 KiB buffers (server read, response encode, client read)"
    );
    let pool = Arc::new(BufPool::new());
    let mut outcomes: (Vec<Outcome>, Vec<Outcome>) = (Vec::new(), Vec::new());
    let (plain, pooled) = crate::common::interleave(
        "loopback",
        ROUNDS,
        || {
            let o = run_one(&rt, Unpooled);
            let us = o.elapsed.as_secs_f64() * 1e6 / o.requests as f64;
            outcomes.0.push(o);
            us
        },
        || {
            let o = run_one(&rt, Pooled(Arc::clone(&pool)));
            let us = o.elapsed.as_secs_f64() * 1e6 / o.requests as f64;
            outcomes.1.push(o);
            us
        },
    );
    let stats = pool.stats();
    println!(
        "\n  {:<9} {:>13} {:>17} {:>10} {:>14} {:>9} {:>9} {:>10}",
        "run", "µs/request", "range", "allocs/req", "allocated/req", "hit rate", "discards", "retained"
    );
    for (name, times, runs) in [("unpooled", &plain, &outcomes.0), ("pooled", &pooled, &outcomes.1)] {
        let (median, lo, hi) = crate::common::spread(times);
        let requests: u64 = runs.iter().map(|o| o.requests).sum();
        let allocs: u64 = runs.iter().map(|o| o.allocs.allocs).sum();
        let bytes: u64 = runs.iter().map(|o| o.allocs.bytes).sum();
        let (hit, discards, retained) = if name == "pooled" {
            (format!("{:.4}", stats.hit_rate()), stats.discards().total().to_string(), human(stats.retained_bytes()))
        } else {
            ("-".into(), "-".into(), "-".into())
        };
        println!(
            "  {name:<9} {median:>13.1} {:>17} {:>10.2} {:>14} {hit:>9} {discards:>9} {retained:>10}",
            format!("{lo:.1}-{hi:.1}"),
            allocs as f64 / requests as f64,
            human(bytes / requests),
        );
    }
    println!("  => time per request: {}", crate::common::verdict(&plain, &pooled));
    println!(
        "  (allocs: alloc + realloc calls of the whole process during the rounds, from a counting #[global_allocator])"
    );
}
