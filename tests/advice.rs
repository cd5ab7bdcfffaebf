//! Feature `advice`: the request histogram counts every get, on every path,
//! and `BufPool::advise` turns it into tiers.
//!
//! Run: `cargo test --features advice --test advice`
#![cfg(feature = "advice")]

use std::sync::Arc;

use tierpool::{BufPool, DEFAULT_TIERS, default_thread_cache};

#[test]
fn a_pool_that_served_nothing_is_advised_the_defaults() {
    let advice = BufPool::new().advise();
    assert_eq!(advice.requests, 0);
    assert_eq!(advice.tier_sizes(), DEFAULT_TIERS);
    assert_eq!(advice.thread_caches(), DEFAULT_TIERS.map(default_thread_cache));
}

#[test]
fn every_get_is_counted_once_on_every_path_and_thread() {
    let pool = Arc::new(BufPool::builder().thread_cache(&[4, 2, 1]).build().unwrap());
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let pool = Arc::clone(&pool);
            std::thread::spawn(move || {
                for i in 0..500 {
                    // Hits, refills and misses; some held, some oversize.
                    let held: Vec<_> = (0..(i % 7)).map(|k| pool.get(100 + 3000 * ((t + k) % 4))).collect();
                    drop(held);
                    if i % 50 == 0 {
                        drop(pool.get(3 << 20));
                    }
                }
                let mut chain = pool.chain(4096);
                chain.extend_from_slice(&[0; 10_000]); // three chunk gets
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let (advice, stats) = (pool.advise(), pool.stats());
    assert_eq!(advice.requests, stats.gets(), "one count per get, chunks and oversize included");
    assert!(stats.tiers[0].cache_hits > 0 && stats.tiers[0].misses > 0 && stats.oversize.gets > 0);
}

#[test]
fn requests_near_nine_kib_are_advised_a_sixteen_kib_tier() {
    let pool = BufPool::new();
    for i in 0..1000 {
        let n = match i % 20 {
            0 => 300,
            1 => 100 << 10,
            _ => 8_704 + i % 1024,
        };
        drop(pool.get(n));
    }
    let advice = pool.advise();
    assert_eq!(advice.tier_sizes(), [512, 16 << 10, 128 << 10]);
    let shares: Vec<f64> = advice.tiers.iter().map(|t| t.share).collect();
    assert_eq!(shares, [0.05, 0.9, 0.05]);
    // A pool built from it serves the 9 KiB requests from 16 KiB buffers.
    let advised = BufPool::builder().tiers(&advice.tier_sizes()).build().unwrap();
    assert_eq!(advised.get(9_000).capacity(), 16 << 10);
}
