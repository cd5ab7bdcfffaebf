//! Metrics an operator can scrape: the pool's counters and gauges through
//! the `metrics` facade, served by `metrics-exporter-prometheus` on
//! 127.0.0.1, scraped once over HTTP and printed.
//!
//! Run: `cargo run --release --features metrics --example metrics`
//!
//! A server would call `export_metrics` from a timer (or
//! `tierpool::tokio::spawn_metrics`) and let Prometheus scrape; here the
//! example exports once after its workload, then scrapes itself.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BufMut;
use metrics_exporter_prometheus::PrometheusBuilder;
use tierpool::BufPool;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A free port on loopback, for the exporter's listener.
    let port = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?.local_addr()?.port();
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    PrometheusBuilder::new().with_http_listener(addr).install()?;

    // A workload on four threads: requests of three sizes, some held a
    // while, a few grown past their tier, then a trim.
    let pool = Arc::new(BufPool::builder().name("example").max_retained_bytes(64 << 20).build()?);
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let pool = Arc::clone(&pool);
            std::thread::spawn(move || {
                let mut held = Vec::new();
                for i in 0..20_000usize {
                    let size = [300, 9_000, 200_000][(i + t) % 3];
                    let mut buf = pool.get(size);
                    buf.put_bytes(b'x', size / 2);
                    if i % 1000 == 0 {
                        buf.reserve(size * 3); // grown: re-tiered or discarded on return
                    }
                    held.push(buf);
                    if held.len() == 8 {
                        held.clear();
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().map_err(|_| "a worker panicked")?;
    }
    let held = pool.get(4096); // one still out when the figures are taken
    pool.export_metrics();

    let scrape = scrape(addr)?;
    let ours: Vec<&str> = scrape.lines().filter(|l| l.contains("tierpool_")).collect();
    println!("GET http://{addr}/metrics: {} lines of tierpool's", ours.len());
    for line in &ours {
        println!("{line}");
    }
    let want = r#"tierpool_retained_bytes{pool="example",tier="4096"}"#;
    assert!(scrape.contains(want), "the scrape has the tier gauges");
    assert!(scrape.contains(r#"tierpool_outstanding_buffers{pool="example"} 1"#));
    drop(held);
    Ok(())
}

/// `GET /metrics` over a plain TCP connection; the exporter's listener runs
/// on a thread of its own, so the first connection is retried for a moment.
fn scrape(addr: SocketAddr) -> Result<String, Box<dyn std::error::Error>> {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut socket = loop {
        match TcpStream::connect(addr) {
            Ok(socket) => break socket,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => return Err(e.into()),
        }
    };
    socket.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(socket, "GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")?;
    let mut response = String::new();
    socket.read_to_string(&mut response)?;
    let (head, body) = response.split_once("\r\n\r\n").ok_or("no HTTP body")?;
    if !head.starts_with("HTTP/1.1 200") {
        return Err(format!("the exporter answered {}", head.lines().next().unwrap_or_default()).into());
    }
    Ok(body.to_owned())
}
