//! The real stack: tokio sockets reading into guards through `BufMut`, and
//! serde_json writing into guards through `io::Write`.

use std::io::Write;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::pool;

const CLIENTS: usize = 48;
const MESSAGES: usize = 12;
const MAX_MESSAGE: usize = 48 * 1024;

fn message(client: usize, m: usize) -> Vec<u8> {
    let len = 1 + (client * 7919 + m * 104_729) % MAX_MESSAGE;
    (0..len).map(|i| (i * 31 + client * 7 + m) as u8).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_server_reading_into_pooled_buffers_echoes_every_byte_to_concurrent_clients() {
    let pool = Arc::new(pool());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();

    let server = {
        let pool = Arc::clone(&pool);
        tokio::spawn(async move {
            let mut conns = Vec::new();
            for _ in 0..CLIENTS {
                let (mut socket, _) = listener.accept().await.unwrap();
                let pool = Arc::clone(&pool);
                conns.push(tokio::spawn(async move {
                    loop {
                        let mut buf = pool.get_owned(64 * 1024);
                        let n = socket.read_buf(&mut buf).await.unwrap();
                        if n == 0 {
                            break;
                        }
                        assert_eq!(buf.len(), n);
                        socket.write_all(&buf).await.unwrap();
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
            let pool = Arc::clone(&pool);
            tokio::spawn(async move {
                let mut socket = TcpStream::connect(addr).await.unwrap();
                for m in 0..MESSAGES {
                    let msg = message(client, m);
                    socket.write_all(&msg).await.unwrap();
                    let mut reply = pool.get_owned(64 * 1024);
                    while reply.len() < msg.len() {
                        assert!(socket.read_buf(&mut reply).await.unwrap() > 0, "early end of stream");
                    }
                    assert_eq!(&reply[..], &msg[..], "client {client}, message {m}");
                }
            })
        })
        .collect();
    for c in clients {
        c.await.unwrap();
    }
    server.await.unwrap();

    let stats = pool.stats();
    let t = &stats.tiers[1];
    assert_eq!(stats.outstanding, 0);
    assert_eq!(t.returns, t.gets, "every guard went back");
    assert_eq!(t.discards.total(), 0, "no read grew a buffer past its ceiling");
    assert!(t.gets >= (2 * CLIENTS * MESSAGES) as u64);
    // Each connection holds at most one server and one client buffer at once;
    // a few more may sit in the other worker's cache (4 per thread).
    assert!(t.misses <= 2 * CLIENTS as u64 + 16, "{} misses", t.misses);
}

#[tokio::test]
async fn read_buf_grows_a_full_guard_and_the_ceiling_discards_it() {
    let pool = pool();
    let data = vec![3u8; 300 * 1024];
    let mut reader: &[u8] = &data;
    let mut buf = pool.get(64 * 1024);
    while reader.read_buf(&mut buf).await.unwrap() > 0 {}
    assert_eq!(&buf[..], &data[..]);
    assert!(buf.capacity() > 128 * 1024);
    drop(buf);
    assert_eq!(pool.stats().tiers[1].discards.above_ceiling, 1);
}

#[cfg(feature = "tokio")]
#[tokio::test]
async fn read_pooled_over_tcp_keeps_the_buffer_in_its_tier() {
    let pool = pool();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let data: Vec<u8> = (0..300 * 1024).map(|i| (i % 251) as u8).collect();
    let sender = {
        let data = data.clone();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            socket.write_all(&data).await.unwrap();
        })
    };
    let mut socket = TcpStream::connect(addr).await.unwrap();
    let mut received = Vec::new();
    let mut buf = pool.get(64 * 1024);
    loop {
        match tierpool::tokio::read_pooled(&mut socket, &mut buf).await {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::OutOfMemory => {
                received.extend_from_slice(&buf);
                buf.clear();
            }
            Err(e) => panic!("{e}"),
        }
        assert_eq!(buf.capacity(), 64 * 1024);
    }
    received.extend_from_slice(&buf);
    sender.await.unwrap();
    assert_eq!(received, data);
    drop(buf);
    let t = &pool.stats().tiers[1];
    assert_eq!((t.returns, t.discards.total()), (1, 0));
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Document {
    id: u64,
    name: String,
    tags: Vec<String>,
    score: f64,
    parent: Option<u64>,
    payload: Vec<u32>,
}

fn document(items: usize) -> Document {
    Document {
        id: items as u64,
        name: "tiérpool \"quoted\" \\ \n\t ✓".to_string(),
        tags: (0..items % 7).map(|i| format!("tag-{i}")).collect(),
        score: -1.5e-3,
        parent: items.is_multiple_of(2).then_some(42),
        payload: (0..items as u32).collect(),
    }
}

#[test]
fn serde_json_round_trips_through_a_pooled_buffer() {
    let pool = pool();
    for items in [0, 1, 10, 500, 2_000, 20_000] {
        let doc = document(items);
        let mut buf = pool.get(4096);
        serde_json::to_writer(&mut buf, &doc).unwrap();
        assert_eq!(&buf[..], &serde_json::to_vec(&doc).unwrap()[..], "same bytes as to_vec");
        let back: Document = serde_json::from_slice(&buf).unwrap();
        assert_eq!(back, doc);
        let frozen = buf.freeze();
        assert_eq!(serde_json::from_slice::<Document>(&frozen).unwrap(), doc);
    }
    let stats = pool.stats();
    assert_eq!(stats.outstanding, 0);
    // Small documents reuse one 4 KiB buffer; the large ones grew it, and
    // the return path re-tiered or discarded it by its real capacity.
    assert_eq!(stats.gets(), 6);
    assert!(stats.tiers[0].cache_hits >= 3);
}

#[test]
fn serde_json_and_write_macro_append_to_one_buffer() {
    let pool = pool();
    let mut buf = pool.get(4096);
    write!(buf, "{{\"batch\":[").unwrap();
    for i in 0..3 {
        if i > 0 {
            buf.write_all(b",").unwrap();
        }
        serde_json::to_writer(&mut buf, &document(i)).unwrap();
    }
    buf.write_all(b"]}").unwrap();
    let v: serde_json::Value = serde_json::from_slice(&buf).unwrap();
    assert_eq!(v["batch"].as_array().unwrap().len(), 3);
    assert_eq!(v["batch"][2]["payload"], serde_json::json!([0, 1]));
}

#[test]
fn shared_guard_from_the_global_pool_serializes_across_threads() {
    let mut buf = tierpool::get(4096);
    serde_json::to_writer(&mut buf, &document(3)).unwrap();
    let bytes = std::thread::spawn(move || buf.into_shared()).join().unwrap();
    assert_eq!(serde_json::from_slice::<Document>(&bytes).unwrap(), document(3));
}

mod property {
    use proptest::prelude::*;
    use tierpool::BufPool;

    use super::Document;

    fn arb_document() -> impl Strategy<Value = Document> {
        (
            any::<u64>(),
            ".{0,40}",
            proptest::collection::vec("[a-z]{0,8}", 0..8),
            // Dyadic values: serde_json's default float parsing (without its
            // `float_roundtrip` feature) is not exact for every f64.
            (-1_000_000i32..1_000_000).prop_map(|x| f64::from(x) / 8.0),
            proptest::option::of(any::<u64>()),
            proptest::collection::vec(any::<u32>(), 0..3000),
        )
            .prop_map(|(id, name, tags, score, parent, payload)| Document {
                id,
                name,
                tags,
                score,
                parent,
                payload,
            })
    }

    #[test]
    fn any_document_round_trips_through_a_pooled_buffer() {
        // A pool private to this test: cases reuse its buffers, and its stats
        // belong to this test alone (the global pool is shared by every test
        // thread). Small tiers and a 1x ceiling make generated sizes cross
        // tiers, so re-tiering and discards are exercised, not just hits.
        let pool = BufPool::builder().tiers(&[256, 4096]).ceiling_factor(1).build().unwrap();
        let config = crate::support::config(256, "proptests/regressions/stack.txt");
        proptest::test_runner::TestRunner::new(config)
            .run(&arb_document(), |doc| {
                let mut buf = pool.get(256);
                serde_json::to_writer(&mut buf, &doc).unwrap();
                let back: Document = serde_json::from_slice(&buf).unwrap();
                prop_assert_eq!(back, doc);
                Ok(())
            })
            .unwrap();
        let stats = pool.stats();
        assert_eq!(stats.outstanding, 0, "every case returned its buffer");
        assert!(stats.gets() >= 256);
    }

    #[test]
    fn saved_regressions_of_every_property_test_are_replayed() {
        let files =
            ["proptests/regressions/stack.txt", "proptests/regressions/model.txt", "proptests/regressions/budget.txt"];
        crate::support::assert_regressions_load(&files);
        assert!(std::fs::read_to_string(files[0]).is_ok_and(|t| t.contains("cc ")), "the stack test has saved cases");
    }
}
