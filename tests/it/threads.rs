//! Guards across threads, thread exit, and `Send + Sync`.

use std::sync::Arc;
use std::sync::mpsc;

use tierpool::{BufPool, PooledBuf};

use crate::pool;

#[test]
fn static_guards_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<PooledBuf<'static>>();
    assert_send_sync::<BufPool>();
}

#[test]
fn owned_guard_dropped_on_another_thread_returns_through_that_threads_cache() {
    let pool = Arc::new(pool());
    let mut buf = pool.get_owned(100);
    buf.extend_from_slice(b"hand-off");
    let remote = Arc::clone(&pool);
    std::thread::spawn(move || {
        assert_eq!(&buf[..], b"hand-off");
        drop(buf);
        // The buffer sits in this thread's cache now.
        assert_eq!(remote.stats().tiers[0].retained_buffers, 1);
        assert_eq!(remote.get(100).capacity(), 4096);
        assert_eq!(remote.stats().tiers[0].cache_hits, 1);
    })
    .join()
    .unwrap();
    let stats = pool.stats();
    assert_eq!(stats.outstanding, 0);
    // The exited thread flushed its cache to the global queue.
    assert_eq!(stats.tiers[0].retained_buffers, 1);
    drop(pool.get(100));
    assert_eq!(pool.stats().tiers[0].global_hits, 1);
}

#[test]
fn global_guard_dropped_on_another_thread_is_counted() {
    let before = tierpool::global().stats();
    let buf = tierpool::get(1 << 20);
    std::thread::spawn(move || drop(buf)).join().unwrap();
    let after = tierpool::global().stats();
    assert!(after.tiers[2].returns > before.tiers[2].returns);
}

const HAND_OFFS: u32 = if cfg!(miri) { 300 } else { 10_000 };

#[test]
fn producer_consumer_hand_off_reuses_buffers_without_allocating_in_steady_state() {
    const CHANNEL: usize = 8;
    const CACHE: usize = 64;
    let pool = Arc::new(BufPool::builder().thread_cache(&[CACHE, 4, 2]).idle_timeout(None).build().unwrap());
    let (tx, rx) = mpsc::sync_channel::<PooledBuf<'static>>(CHANNEL);
    let consumer = std::thread::spawn(move || {
        let mut n = 0u64;
        for buf in rx {
            assert_eq!(buf.len(), 64);
            assert!(buf.iter().all(|&b| b == buf[0]));
            n += 1;
        }
        n
    });
    for i in 0..HAND_OFFS {
        let mut buf = pool.get_owned(4096);
        buf.extend_from_slice(&[i as u8; 64]);
        tx.send(buf).unwrap();
    }
    drop(tx);
    assert_eq!(consumer.join().unwrap(), u64::from(HAND_OFFS));
    let t = &pool.stats().tiers[0];
    assert_eq!(t.gets, u64::from(HAND_OFFS));
    assert_eq!(t.returns, u64::from(HAND_OFFS));
    // What holds however the threads are scheduled: nothing is dropped (the
    // global queue has room for every buffer there is), so each miss makes
    // one more buffer that stays. A get misses only when the producer's cache
    // and the global queue are empty, so every other buffer is then in
    // flight (in the channel, or held by either thread) or in the consumer's
    // cache.
    assert_eq!(t.discards.total(), 0);
    let most = (CHANNEL + 2 + CACHE) as u64;
    assert!(t.misses <= most, "steady-state hand-off must reuse buffers: {} misses, at most {most}", t.misses);
}

#[test]
fn a_one_way_hand_off_crosses_the_global_queue_a_whole_cache_at_a_time() {
    // Producer and consumer take turns (the channel carries rounds of 64),
    // so the counts are exact. The consumer's cache of 8 only takes buffers
    // in, so it spills all 8 as one batch; the producer refills 8 at a time,
    // and one get in 8 reaches the global queue (one in 4 with half spills).
    let pool = Arc::new(BufPool::builder().tiers(&[4096]).thread_cache(&[8]).build().unwrap());
    let (tx, rx) = mpsc::sync_channel::<Vec<PooledBuf<'static>>>(0);
    let (done_tx, done_rx) = mpsc::sync_channel::<()>(0);
    let consumer = std::thread::spawn(move || {
        for round in rx {
            drop(round);
            done_tx.send(()).unwrap();
        }
    });
    let round = || {
        tx.send((0..64).map(|_| pool.get_owned(4096)).collect()).unwrap();
        done_rx.recv().unwrap();
    };
    round(); // all misses; the consumer's cache spills 7 batches of 8 and keeps 8
    round(); // 7 refills, 8 misses; 8 spills
    let before = pool.stats().tiers[0].clone();
    round();
    round();
    let t = &pool.stats().tiers[0];
    assert_eq!(t.misses, before.misses, "steady state");
    assert_eq!(t.global_hits - before.global_hits, 2 * 8, "8 refills of 8 a round");
    assert_eq!(t.cache_hits - before.cache_hits, 2 * 56);
    assert_eq!(t.discards.total(), 0);
    drop(tx);
    consumer.join().unwrap();
}

#[test]
fn exited_threads_strand_nothing() {
    let pool = Arc::new(pool());
    let threads: Vec<_> = (0..16)
        .map(|_| {
            let pool = Arc::clone(&pool);
            std::thread::spawn(move || {
                let held: Vec<_> = (0..3).map(|_| pool.get(100)).collect();
                drop(held);
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let t = &pool.stats().tiers[0];
    // Later threads reuse what earlier ones flushed, so fewer than 48 were
    // allocated; every one allocated is retained, none is lost.
    assert_eq!(t.gets, 48);
    assert!(t.misses >= 3 && t.misses <= 48);
    assert_eq!((t.returns, t.retained_buffers, t.discards.total()), (48, t.misses, 0));
    pool.trim();
    assert_eq!(pool.stats().retained_bytes(), 0);
}

#[test]
fn trim_makes_other_threads_release_their_cache_on_next_use() {
    let pool = Arc::new(pool());
    let (go, wait) = mpsc::channel::<()>();
    let (done, finished) = mpsc::channel::<()>();
    let worker = {
        let pool = Arc::clone(&pool);
        std::thread::spawn(move || {
            drop(pool.get(100)); // cached in this thread
            done.send(()).unwrap();
            wait.recv().unwrap();
            drop(pool.get(100)); // next use after trim: the cache is released first
            done.send(()).unwrap();
            wait.recv().unwrap();
        })
    };
    finished.recv().unwrap();
    assert_eq!(pool.stats().tiers[0].retained_buffers, 1);
    pool.trim();
    go.send(()).unwrap();
    finished.recv().unwrap();
    let t = &pool.stats().tiers[0];
    assert_eq!((t.trimmed, t.misses), (1, 2), "the stale cache was released, not reused");
    go.send(()).unwrap();
    worker.join().unwrap();
}

#[test]
fn a_dropped_pool_strands_nothing_in_this_threads_cache() {
    let pool = pool();
    drop(pool.get(100));
    drop(pool);
    // The next pool registered on this thread retires the dead slot.
    let other = BufPool::new();
    drop(other.get(100));
    assert_eq!(other.stats().tiers[0].retained_buffers, 1);
}
