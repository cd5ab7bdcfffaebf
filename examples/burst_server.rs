//! Where the pool pays in a server: the memory a burst of large request
//! bodies takes, and what idle connections hold.
//!
//! A tokio server on loopback; 64 client connections that, at the same
//! moment, each send 4 bodies of 1 MiB (a `u32` length, then the body), one
//! after another. The server reads each whole body into a buffer, sums its
//! bytes and replies with the sum (8 bytes); the client checks the sum and
//! times the request. The server buffers each body one of three ways, and
//! nothing else differs:
//!
//! - `unpooled`: `BytesMut::with_capacity(len)` per body;
//! - `pooled`: `pool.get_owned(len)` from a `BufPool::new()`, which never
//!   waits;
//! - `pooled+limit`: `pool.acquire_owned(len).await` from a pool built with
//!   `max_outstanding_bytes(16 MiB)`: once 16 MiB of bodies are out, the
//!   next waits for a return, first come first served, and its bytes wait in
//!   the socket meanwhile, instead of in the heap.
//!
//! Each run (a way, a round) is a child process of its own (this program,
//! re-run with `--child WAY`), so that its peak RSS and page faults are its
//! own; it prints one line of results that the parent reads. The rounds are
//! interleaved, each way once a round, the order alternating. `--svg PATH`
//! adds one run per way that samples the live heap every millisecond through
//! one burst, and draws it. The last section opens idle connections to an
//! echo server read two ways (as `examples/tcp_echo.rs`) and prints what
//! they hold.
//!
//! Run: `cargo run --release --features tokio --example burst_server`
//! (`-- --rounds N`, `--idle N`, `--svg docs/burst-live-heap.svg`). The idle
//! section needs two file descriptors per connection: 4000 and a few at the
//! default `--idle 2000`.

mod common;

use std::fmt::Write as _;
use std::io;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::{BufMut, BytesMut};
use tierpool::BufPool;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Barrier, Semaphore};

#[global_allocator]
static ALLOC: common::Counting<std::alloc::System> = common::Counting::new(std::alloc::System);

const CONNECTIONS: usize = 64;
/// Bodies each connection sends in a burst, one after another.
const BODIES: usize = 4;
const BODY: usize = 1 << 20;
/// What the server accepts: a length is untrusted input.
const MAX_BODY: usize = 16 << 20;
const BURSTS: usize = 3;
/// Between bursts, so that what each way keeps between them shows.
const PAUSE: Duration = Duration::from_millis(20);
const LIMIT: usize = 16 << 20;
const ROUNDS: usize = 5;
const IDLE: usize = 2000;
/// Room for the sampler's samples, allocated before the baseline is taken.
const MAX_SAMPLES: usize = 60_000;
const CHILD_TAG: &str = "burst_server-child";
const TRACE_TAG: &str = "burst_server-trace";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Way {
    Unpooled,
    Pooled,
    Limited,
}

impl Way {
    const ALL: [Way; 3] = [Way::Unpooled, Way::Pooled, Way::Limited];

    fn name(self) -> &'static str {
        match self {
            Way::Unpooled => "unpooled",
            Way::Pooled => "pooled",
            Way::Limited => "pooled+limit",
        }
    }

    fn parse(s: &str) -> Option<Way> {
        Way::ALL.into_iter().find(|w| w.name() == s)
    }

    fn color(self) -> &'static str {
        match self {
            Way::Unpooled => "#d62728",
            Way::Pooled => "#1f77b4",
            Way::Limited => "#2ca02c",
        }
    }
}

// === the server and its clients ===

/// One connection of the server: per request a `u32` length
/// (little-endian), then the body; the reply is the body's byte sum, a
/// `u64`.
async fn serve(mut socket: TcpStream, way: Way, pool: Arc<BufPool>) -> io::Result<()> {
    socket.set_nodelay(true)?;
    let mut header = [0u8; 4];
    loop {
        match socket.read_exact(&mut header).await {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()), // the client is done
            Err(e) => return Err(e),
        }
        let len = u32::from_le_bytes(header) as usize;
        if len > MAX_BODY {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "body above 16 MiB"));
        }
        let sum = match way {
            Way::Unpooled => body_sum(&mut socket, BytesMut::with_capacity(len), len).await?,
            Way::Pooled => body_sum(&mut socket, pool.get_owned(len), len).await?,
            Way::Limited => {
                // While the limit has no room, this waits in line, and the
                // body waits in the socket, not in the heap.
                let buf = pool.acquire_owned(len).await.map_err(io::Error::other)?;
                body_sum(&mut socket, buf, len).await?
            }
        };
        socket.write_all(&sum.to_le_bytes()).await?;
    }
}

/// Reads a body of `len` bytes into `buf` and returns its byte sum. Reads
/// never past the body (the next request's header stays in the socket), so
/// `buf` never grows; it drops here, before the reply is written.
async fn body_sum<B: BufMut + AsRef<[u8]>>(socket: &mut TcpStream, mut buf: B, len: usize) -> io::Result<u64> {
    while buf.as_ref().len() < len {
        let want = len - buf.as_ref().len();
        if socket.read_buf(&mut (&mut buf).limit(want)).await? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
    }
    Ok(buf.as_ref().iter().map(|&b| u64::from(b)).sum())
}

/// The bodies every client sends, and their sums. Shared, so the clients
/// add the same few MiB to the heap whichever way the server buffers.
fn bodies() -> Vec<(Vec<u8>, u64)> {
    (0..BODIES)
        .map(|b| {
            let body: Vec<u8> = (0..BODY).map(|i| (i * 31 + b * 7 + i / 4093) as u8).collect();
            let sum = body.iter().map(|&x| u64::from(x)).sum();
            (body, sum)
        })
        .collect()
}

/// One client connection: in each of `bursts` bursts, once `start` lets it
/// go, sends `BODIES` bodies one after another, each after the previous
/// reply, and checks each reply; then meets the others at `done`. Returns
/// the latency of every request.
async fn client(
    addr: std::net::SocketAddr,
    bodies: Arc<Vec<(Vec<u8>, u64)>>,
    bursts: usize,
    start: Arc<Barrier>,
    done: Arc<Barrier>,
) -> io::Result<Vec<Duration>> {
    let mut latencies = Vec::with_capacity(bursts * BODIES);
    let mut socket = TcpStream::connect(addr).await?;
    socket.set_nodelay(true)?;
    let mut reply = [0u8; 8];
    for _ in 0..bursts {
        start.wait().await;
        for (body, sum) in bodies.iter() {
            let t = Instant::now();
            socket.write_all(&(body.len() as u32).to_le_bytes()).await?;
            socket.write_all(body).await?;
            socket.read_exact(&mut reply).await?;
            latencies.push(t.elapsed());
            assert_eq!(u64::from_le_bytes(reply), *sum, "the server's sum of a body");
        }
        done.wait().await;
    }
    Ok(latencies)
}

// === a child: one run of one way ===

/// What one run measured.
struct Run {
    /// Peak live heap above the live heap just before the first burst.
    peak_heap: u64,
    /// Peak RSS of the whole child (`VmHWM`), Linux only.
    rss: Option<u64>,
    /// Minor page faults during the bursts, Linux only.
    faults: Option<u64>,
    rps: f64,
    p99: Duration,
    /// Body buffers that came from the allocator.
    allocated: u64,
    /// `pooled+limit` only: acquires that waited, and checkouts past the limit.
    waits: Option<u64>,
    overdrafts: Option<u64>,
}

/// Peak RSS of this process, from `VmHWM` in `/proc/self/status` (Linux).
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Minor page faults of this process so far: field 10 (`minflt`) of
/// `/proc/self/stat` (Linux). The second field, the command name, is in
/// parentheses and may itself hold spaces and ')', so the fields are
/// counted from after the last ')': field 3 is the first there.
fn minor_faults() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(10 - 3)?.parse().ok()
}

/// Samples the live heap above `baseline` on a thread of its own, about
/// every millisecond, into room allocated before the baseline was taken.
struct Sampler {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Vec<(u32, u64)>>,
}

impl Sampler {
    fn start(mut samples: Vec<(u32, u64)>, baseline: usize, t0: Instant) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) && samples.len() < samples.capacity() {
                    let held = common::live().saturating_sub(baseline) as u64;
                    samples.push((t0.elapsed().as_micros() as u32, held));
                    std::thread::sleep(Duration::from_millis(1));
                }
                samples
            })
        };
        Sampler { stop, thread }
    }

    fn finish(self) -> Vec<(u32, u64)> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("sampler thread")
    }
}

/// Runs the server and the clients through the bursts (one when `trace`),
/// and prints one line for the parent: the results, or the samples.
fn child(way: Way, trace: bool) {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let bursts = if trace { 1 } else { BURSTS };
    let line = runtime.block_on(async move {
        let pool = Arc::new(match way {
            Way::Limited => BufPool::builder().max_outstanding_bytes(LIMIT).build().expect("valid settings"),
            _ => BufPool::new(),
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind on loopback");
        let addr = listener.local_addr().expect("bound");
        let accepted = Arc::new(Semaphore::new(0));
        {
            let (pool, accepted) = (Arc::clone(&pool), Arc::clone(&accepted));
            tokio::spawn(async move {
                for _ in 0..CONNECTIONS {
                    let (socket, _) = listener.accept().await.expect("accept");
                    let pool = Arc::clone(&pool);
                    tokio::spawn(async move { serve(socket, way, pool).await.expect("serve") });
                    accepted.add_permits(1);
                }
            });
        }
        let bodies = Arc::new(bodies());
        let start = Arc::new(Barrier::new(CONNECTIONS + 1));
        let done = Arc::new(Barrier::new(CONNECTIONS + 1));
        let clients: Vec<_> = (0..CONNECTIONS)
            .map(|_| tokio::spawn(client(addr, Arc::clone(&bodies), bursts, Arc::clone(&start), Arc::clone(&done))))
            .collect();
        accepted.acquire_many(CONNECTIONS as u32).await.expect("open").forget();

        // Every connection is open: what follows is the bursts.
        let mut samples = trace.then(|| Vec::with_capacity(MAX_SAMPLES));
        let baseline = common::live();
        common::reset_peak();
        let faults_before = minor_faults();
        let mut busy = Duration::ZERO;
        for burst in 0..bursts {
            let t0 = Instant::now();
            let sampler = samples.take().map(|room| Sampler::start(room, baseline, t0));
            start.wait().await;
            done.wait().await;
            busy += t0.elapsed();
            if let Some(sampler) = sampler {
                // A little after the burst: what each way keeps.
                tokio::time::sleep(busy / 4).await;
                samples = Some(sampler.finish());
            }
            if burst + 1 < bursts {
                tokio::time::sleep(PAUSE).await;
            }
        }
        let peak_heap = common::peak().saturating_sub(baseline) as u64;
        let faults = minor_faults().zip(faults_before).map(|(after, before)| after - before);
        let rss = peak_rss();

        let mut latencies = Vec::with_capacity(CONNECTIONS * bursts * BODIES);
        for c in clients {
            latencies.extend(c.await.expect("client task").expect("client"));
        }
        if let Some(samples) = samples {
            let mut line = format!("{TRACE_TAG} way={} points=", way.name());
            for (i, (t, held)) in samples.iter().enumerate() {
                let sep = if i == 0 { "" } else { "," };
                write!(line, "{sep}{t}:{held}").expect("a String");
            }
            return line;
        }
        latencies.sort();
        let p99 = latencies[(latencies.len() * 99).div_ceil(100) - 1];
        let stats = pool.stats();
        let allocated = match way {
            Way::Unpooled => latencies.len() as u64,
            _ => stats.tiers.iter().map(|t| t.misses).sum::<u64>() + stats.oversize.gets,
        };
        let opt = |x: Option<u64>| x.map_or("n/a".to_string(), |x| x.to_string());
        format!(
            "{CHILD_TAG} way={} peak_heap={peak_heap} rss={} faults={} rps={:.1} p99_us={} allocated={allocated} waits={} overdrafts={}",
            way.name(),
            opt(rss),
            opt(faults),
            latencies.len() as f64 / busy.as_secs_f64(),
            p99.as_micros(),
            opt(stats.admission.as_ref().map(|a| a.waits)),
            opt(stats.admission.as_ref().map(|a| a.overdrafts)),
        )
    });
    println!("{line}");
}

// === the parent ===

/// Runs this program as a child for `way`; returns its result line.
fn run_child(way: Way, trace: bool) -> String {
    let exe = std::env::current_exe().expect("this program's path");
    let mut cmd = Command::new(exe);
    cmd.args(["--child", way.name()]).stderr(Stdio::inherit());
    if trace {
        cmd.arg("--trace");
    }
    let out = cmd.output().expect("run a child");
    assert!(out.status.success(), "the {} child failed: {}", way.name(), out.status);
    let tag = if trace { TRACE_TAG } else { CHILD_TAG };
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .lines()
        .find(|l| l.starts_with(tag))
        .unwrap_or_else(|| panic!("the {} child printed no result", way.name()))
        .to_string()
}

/// The value of `key=` in a child's line.
fn field<'a>(line: &'a str, key: &str) -> &'a str {
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
        .unwrap_or_else(|| panic!("no {key} in {line:?}"))
}

fn parse_run(line: &str) -> Run {
    let num = |key| field(line, key).parse::<f64>().unwrap_or_else(|_| panic!("{key} in {line:?}"));
    let opt = |key| match field(line, key) {
        "n/a" => None,
        v => Some(v.parse::<u64>().unwrap_or_else(|_| panic!("{key} in {line:?}"))),
    };
    Run {
        peak_heap: num("peak_heap") as u64,
        rss: opt("rss"),
        faults: opt("faults"),
        rps: num("rps"),
        p99: Duration::from_micros(num("p99_us") as u64),
        allocated: num("allocated") as u64,
        waits: opt("waits"),
        overdrafts: opt("overdrafts"),
    }
}

/// `median [min–max]` of `xs`, each shown by `show`, or "n/a" if a run
/// had none.
fn cell(xs: &[Option<f64>], show: impl Fn(f64) -> String) -> String {
    if xs.iter().any(Option::is_none) {
        return "n/a".to_string();
    }
    let xs: Vec<f64> = xs.iter().flatten().copied().collect();
    let (median, lo, hi) = common::spread(&xs);
    format!("{} [{}–{}]", show(median), show(lo), show(hi))
}

fn mib(x: f64) -> String {
    format!("{:.1}", x / (1u64 << 20) as f64)
}

fn print_table(runs: &[Vec<Run>; 3]) {
    // The label, the measure, its format, and whether only `pooled+limit` has it.
    type Measure = (&'static str, fn(&Run) -> Option<f64>, fn(f64) -> String, bool);
    let measures: [Measure; 8] = [
        ("peak live heap (MiB)", |r| Some(r.peak_heap as f64), mib, false),
        ("peak RSS (MiB)", |r| r.rss.map(|x| x as f64), mib, false),
        ("minor page faults", |r| r.faults.map(|x| x as f64), |x| format!("{x:.0}"), false),
        ("requests/s", |r| Some(r.rps), |x| format!("{x:.0}"), false),
        ("p99 latency (ms)", |r| Some(r.p99.as_secs_f64() * 1e3), |x| format!("{x:.1}"), false),
        ("body buffers allocated", |r| Some(r.allocated as f64), |x| format!("{x:.0}"), false),
        ("acquires that waited", |r| r.waits.map(|x| x as f64), |x| format!("{x:.0}"), true),
        ("overdrafts", |r| r.overdrafts.map(|x| x as f64), |x| format!("{x:.0}"), true),
    ];
    let mut row = format!("  {:<24}", "");
    for way in Way::ALL {
        write!(row, " {:<26}", way.name()).expect("a String");
    }
    println!("{}", row.trim_end());
    for (label, get, show, limit_only) in measures {
        let mut row = format!("  {label:<24}");
        for (way, runs) in Way::ALL.into_iter().zip(runs) {
            let xs: Vec<Option<f64>> = runs.iter().map(get).collect();
            let text = if limit_only && way != Way::Limited { "-".to_string() } else { cell(&xs, show) };
            write!(row, " {text:<26}").expect("a String");
        }
        println!("{}", row.trim_end());
    }
}

/// The live-heap samples of each way's trace run, drawn as an SVG line
/// chart: time in ms across, MiB up, the limit dashed.
fn svg(traces: &[(Way, Vec<(f64, f64)>)]) -> String {
    const W: f64 = 760.0;
    const H: f64 = 440.0;
    let (x0, x1, y0, y1) = (70.0, W - 30.0, 60.0, H - 60.0); // plot area: left, right, top, bottom
    let limit = LIMIT as f64 / (1u64 << 20) as f64;
    let t_max = traces.iter().flat_map(|(_, s)| s.iter().map(|p| p.0)).fold(1.0, f64::max);
    let v_max = traces.iter().flat_map(|(_, s)| s.iter().map(|p| p.1)).fold(limit, f64::max);
    let (t_step, v_step) = (nice_step(t_max), nice_step(v_max));
    let (t_top, v_top) = ((t_max / t_step).ceil() * t_step, (v_max * 1.05 / v_step).ceil() * v_step);
    let x = |t: f64| x0 + (x1 - x0) * t / t_top;
    let y = |v: f64| y1 - (y1 - y0) * v / v_top;

    let mut s = String::new();
    let mut w = |line: String| {
        s.push_str(&line);
        s.push('\n');
    };
    w(format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">"#
    ));
    w(format!(r#"<rect width="{W}" height="{H}" fill="white"/>"#));
    w(format!(
        r#"<text x="{}" y="24" text-anchor="middle" font-size="15" font-weight="bold">Live heap through one burst: {CONNECTIONS} connections x {BODIES} bodies of 1 MiB</text>"#,
        W / 2.0
    ));
    w(format!(
        r##"<text x="{}" y="42" text-anchor="middle" fill="#555">sampled every ~1 ms in each way's own process, above the live heap before the burst (examples/burst_server.rs)</text>"##,
        W / 2.0
    ));
    let mut v = 0.0;
    while v <= v_top + 1e-9 {
        w(format!(r##"<line x1="{x0}" x2="{x1}" y1="{0:.1}" y2="{0:.1}" stroke="#ddd"/>"##, y(v)));
        w(format!(r#"<text x="{}" y="{:.1}" text-anchor="end">{v}</text>"#, x0 - 6.0, y(v) + 4.0));
        v += v_step;
    }
    let mut t = 0.0;
    while t <= t_top + 1e-9 {
        w(format!(r##"<line x1="{0:.1}" x2="{0:.1}" y1="{y1}" y2="{1}" stroke="#888"/>"##, x(t), y1 + 5.0));
        w(format!(r#"<text x="{:.1}" y="{}" text-anchor="middle">{t}</text>"#, x(t), y1 + 18.0));
        t += t_step;
    }
    w(format!(r##"<line x1="{x0}" x2="{x1}" y1="{y1}" y2="{y1}" stroke="#444"/>"##));
    w(format!(r##"<line x1="{x0}" x2="{x0}" y1="{y0}" y2="{y1}" stroke="#444"/>"##));
    w(format!(
        r#"<text x="{}" y="{}" text-anchor="middle">time since the burst started (ms)</text>"#,
        (x0 + x1) / 2.0,
        H - 22.0
    ));
    w(format!(
        r#"<text transform="translate(20,{}) rotate(-90)" text-anchor="middle">live heap (MiB)</text>"#,
        (y0 + y1) / 2.0
    ));
    w(format!(
        r##"<line x1="{x0}" x2="{x1}" y1="{0:.1}" y2="{0:.1}" stroke="#2ca02c" stroke-width="1.5" stroke-dasharray="6 4"/>"##,
        y(limit)
    ));
    w(format!(
        r##"<text x="{}" y="{:.1}" text-anchor="end" fill="#2ca02c">max_outstanding_bytes = {limit} MiB</text>"##,
        x1 - 4.0,
        y(limit) - 6.0
    ));
    for (way, samples) in traces {
        let mut points = String::new();
        for &(t, v) in samples {
            write!(points, "{:.1},{:.1} ", x(t), y(v)).expect("a String");
        }
        w(format!(
            r#"<polyline fill="none" stroke="{}" stroke-width="1.8" points="{}"/>"#,
            way.color(),
            points.trim_end()
        ));
    }
    for (i, (way, _)) in traces.iter().enumerate() {
        let ly = y0 + 14.0 + 18.0 * i as f64;
        w(format!(
            r#"<line x1="{}" x2="{}" y1="{ly:.1}" y2="{ly:.1}" stroke="{}" stroke-width="3"/>"#,
            x1 - 150.0,
            x1 - 126.0,
            way.color()
        ));
        w(format!(r#"<text x="{}" y="{:.1}">{}</text>"#, x1 - 120.0, ly + 4.0, way.name()));
    }
    w("</svg>".to_string());
    s
}

/// A tick step of 1, 2 or 5 times a power of ten that cuts `max` into at
/// most about five.
fn nice_step(max: f64) -> f64 {
    let raw = max / 5.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * magnitude).find(|&step| step >= raw).unwrap_or(10.0 * magnitude)
}

fn parse_trace(line: &str) -> Vec<(f64, f64)> {
    let points = field(line, "points");
    points
        .split(',')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (t, v) = p.split_once(':').expect("t:v");
            (t.parse::<f64>().expect("µs") / 1e3, v.parse::<f64>().expect("bytes") / (1u64 << 20) as f64)
        })
        .collect()
}

// === idle connections ===

fn idle(n: usize) {
    println!("\n{n} idle connections to an echo server (silent after connecting), read two ways:");
    println!("  (two file descriptors a connection: `ulimit -n` must allow {} and a few)", 2 * n);
    for (name, guards, heap) in common::idle_echo(n) {
        println!(
            "  {name:>17}: {guards:>5} buffers out, {} of live heap held ({} a connection, sockets and tasks included)",
            common::human(heap as u64),
            common::human((heap / n.max(1)) as u64)
        );
    }
}

// === main ===

struct Args {
    rounds: usize,
    idle: usize,
    svg: Option<String>,
}

fn usage() -> ! {
    eprintln!("usage: burst_server [--rounds N] [--idle N] [--svg PATH]");
    std::process::exit(2)
}

fn parse_args(args: &[String]) -> Args {
    let mut parsed = Args { rounds: ROUNDS, idle: IDLE, svg: None };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || it.next().cloned().unwrap_or_else(|| usage());
        match arg.as_str() {
            "--rounds" => parsed.rounds = value().parse().unwrap_or_else(|_| usage()),
            "--idle" => parsed.idle = value().parse().unwrap_or_else(|_| usage()),
            "--svg" => parsed.svg = Some(value()),
            _ => usage(),
        }
    }
    if parsed.rounds == 0 {
        usage();
    }
    parsed
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child") {
        let way = args.get(1).and_then(|w| Way::parse(w)).unwrap_or_else(|| usage());
        child(way, args.get(2).map(String::as_str) == Some("--trace"));
        return;
    }
    let opts = parse_args(&args);

    let mut command = "cargo run --release --features tokio --example burst_server".to_string();
    if !args.is_empty() {
        command = format!("{command} -- {}", args.join(" "));
    }
    println!("A burst of large request bodies into a tokio server on loopback, three ways of buffering each body.");
    println!(
        "  {CONNECTIONS} connections; in each burst all of them at once send {BODIES} bodies of {} each, one after another",
        common::human(BODY as u64)
    );
    println!("  (u32 length, then the body); the server reads each whole body, replies with its byte sum (8 bytes).");
    println!("  {BURSTS} bursts a run, {} apart.", format_args!("{PAUSE:?}"));
    println!("    unpooled:     BytesMut::with_capacity(len) per body");
    println!(
        "    pooled:       pool.get_owned(len) per body (BufPool::new(): tiers 4 KiB / 64 KiB / 1 MiB; never waits)"
    );
    println!(
        "    pooled+limit: pool.acquire_owned(len).await per body, pool built with max_outstanding_bytes({})",
        common::human(LIMIT as u64)
    );
    println!(
        "  Each run is a child process of its own; {} rounds, each way once a round, the order alternating.",
        opts.rounds
    );
    println!("  peak live heap: the counting allocator's peak, above the live heap just before the first burst;");
    println!("  peak RSS: the child's VmHWM, whole process; minor page faults: during the bursts (Linux only);");
    println!("  requests/s: bodies over the time in bursts; p99 latency: per request, as the client sees it");
    println!("  (length written to reply read); body buffers allocated: from the allocator, not from the pool.");
    println!("  Each cell: median [min–max] over the rounds. The limit bounds the bytes handed out; buffers back in");
    println!("  a worker thread's cache are not out, so the live heap can go a little past it.");
    println!("Run: {command}\n");

    let mut runs: [Vec<Run>; 3] = Default::default();
    for round in 0..opts.rounds {
        let mut order = Way::ALL;
        if round % 2 == 1 {
            order.reverse();
        }
        for way in order {
            runs[way as usize].push(parse_run(&run_child(way, false)));
        }
        let names: Vec<_> = order.iter().map(|w| w.name()).collect();
        println!("  round {} of {}: {}", round + 1, opts.rounds, names.join(", "));
    }
    println!();
    print_table(&runs);

    if let Some(path) = opts.svg {
        let traces: Vec<_> = Way::ALL.into_iter().map(|way| (way, parse_trace(&run_child(way, true)))).collect();
        std::fs::write(&path, svg(&traces)).unwrap_or_else(|e| panic!("write {path}: {e}"));
        println!("\nLive heap through one burst, sampled every ~1 ms, one child per way: wrote {path}");
    }

    idle(opts.idle);
}
