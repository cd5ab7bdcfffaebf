//! Memory governance: the byte budget, thread exit, trim, idle decay, scrub.

use std::sync::Arc;
use std::time::Duration;

use tierpool::{BufPool, ConfigError};

use crate::pool;

#[test]
fn returns_over_the_budget_are_discarded_and_counted() {
    let budget = 100 * 1024;
    let pool = BufPool::builder().max_retained_bytes(budget).build().unwrap();
    let held: Vec<_> = (0..64).map(|_| pool.get(4096)).collect();
    drop(held);
    let stats = pool.stats();
    let t = &stats.tiers[0];
    assert!(stats.retained_bytes() <= budget as u64, "{} > {budget}", stats.retained_bytes());
    assert_eq!(t.returns + t.discards.over_budget, 64);
    assert_eq!(t.returns, stats.retained_buffers(), "everything accepted is retained");
    assert!(t.discards.over_budget >= 64 - 25, "at most 25 × 4 KiB fit in 100 KiB");
    assert_eq!(stats.max_retained_bytes, Some(budget));
}

#[test]
fn budget_counts_every_level_and_every_thread() {
    let budget = 256 * 1024;
    let pool = Arc::new(BufPool::builder().max_retained_bytes(budget).build().unwrap());
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let pool = Arc::clone(&pool);
            std::thread::spawn(move || {
                for _ in 0..if cfg!(miri) { 3 } else { 50 } {
                    let held: Vec<_> = (0..40).map(|i| pool.get(if i % 4 == 0 { 65536 } else { 4096 })).collect();
                    drop(held);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let stats = pool.stats();
    assert!(stats.retained_bytes() <= budget as u64, "{} > {budget}", stats.retained_bytes());
    assert!(stats.tiers.iter().map(|t| t.discards.over_budget).sum::<u64>() > 0);
    assert_eq!(stats.outstanding, 0);
}

#[test]
fn budget_below_the_smallest_tier_is_a_config_error() {
    let err = BufPool::builder().max_retained_bytes(100).build().unwrap_err();
    assert_eq!(err, ConfigError::BudgetBelowSmallestTier { budget: 100, smallest_tier: 4096 });
    assert!(err.to_string().contains("could keep nothing"));
}

#[test]
fn prefill_stops_at_the_budget() {
    let pool = BufPool::builder().max_retained_bytes(10 * 4096).build().unwrap();
    assert_eq!(pool.prefill(4096, 100), 10);
    assert_eq!(pool.stats().retained_bytes(), 10 * 4096);
}

#[test]
fn two_hundred_exited_threads_strand_nothing() {
    let pool = Arc::new(pool());
    for _ in 0..if cfg!(miri) { 20 } else { 200 } {
        let pool = Arc::clone(&pool);
        std::thread::spawn(move || {
            let held: Vec<_> = [100, 5000, 100, 300_000].iter().map(|&n| pool.get(n)).collect();
            drop(held);
        })
        .join()
        .unwrap();
    }
    let stats = pool.stats();
    assert_eq!(stats.outstanding, 0);
    // Each exited thread flushed its cache to the global queues...
    let accepted: u64 = stats.tiers.iter().map(|t| t.returns).sum();
    let lost: u64 = stats.tiers.iter().map(|t| t.discards.global_full).sum();
    assert_eq!(stats.retained_buffers(), accepted - stats.tiers.iter().map(|t| t.gets - t.misses).sum::<u64>() - lost);
    // ...so trim from this thread reaches everything.
    pool.trim();
    assert_eq!(pool.stats().retained_bytes(), 0);
}

#[test]
fn trim_brings_retained_memory_to_zero() {
    let pool = pool();
    let held: Vec<_> = (0..300).map(|i| pool.get([10, 5000, 100_000][i % 3])).collect();
    drop(held);
    assert!(pool.stats().retained_bytes() > 0);
    let released = pool.trim();
    let stats = pool.stats();
    assert_eq!(stats.retained_bytes(), 0);
    assert_eq!(released as u64, stats.tiers.iter().map(|t| t.trimmed * t.size as u64).sum::<u64>());
}

/// A pool whose clock never ticks during a test: only `decay_now` ends an
/// interval, so what decays does not depend on how long anything took.
fn decay_by_hand() -> BufPool {
    BufPool::builder().idle_timeout(Some(Duration::from_secs(24 * 3600))).build().unwrap()
}

#[test]
fn buffers_idle_for_a_whole_interval_decay() {
    let pool = decay_by_hand();
    let held: Vec<_> = (0..10).map(|_| pool.get(4096)).collect();
    drop(held); // 10 in this thread's cache
    pool.prefill(65536, 3); // 3 in the global queue
    // First tick: starts an epoch; nothing has been idle for a whole one yet.
    pool.decay_now();
    assert_eq!(pool.stats().retained_buffers(), 13);
    // Keep 2 buffers busy during the next epoch; the other 8 stay idle.
    drop((pool.get(1), pool.get(1)));
    pool.decay_now();
    let stats = pool.stats();
    assert_eq!(stats.tiers[0].decayed, 8, "only the untouched bottom of the cache decays");
    assert_eq!(stats.tiers[1].decayed, 3);
    assert_eq!(stats.retained_buffers(), 2);
}

#[test]
fn decay_by_the_clock_releases_what_stayed_idle() {
    // The same by time: a sleep lasts at least as long as asked, so each
    // `decay` ticks; a late one can only tick more, and release more.
    let interval = Duration::from_millis(20);
    let pool = BufPool::builder().idle_timeout(Some(interval)).build().unwrap();
    let held: Vec<_> = (0..10).map(|_| pool.get(4096)).collect();
    drop(held);
    pool.prefill(65536, 3);
    for _ in 0..2 {
        std::thread::sleep(interval + Duration::from_millis(5));
        pool.decay();
    }
    let stats = pool.stats();
    assert_eq!((stats.tiers[0].decayed, stats.tiers[1].decayed, stats.retained_buffers()), (10, 3, 0));
}

#[test]
fn decay_is_off_with_no_idle_timeout() {
    let pool = BufPool::builder().idle_timeout(None).build().unwrap();
    drop(pool.get(1));
    std::thread::sleep(Duration::from_millis(5));
    pool.decay();
    pool.decay();
    assert_eq!((pool.stats().tiers[0].decayed, pool.stats().retained_buffers()), (0, 1));
    assert_eq!(
        BufPool::builder().idle_timeout(Some(Duration::ZERO)).build().unwrap_err(),
        ConfigError::ZeroIdleTimeout
    );
}

/// Reads the first `n` bytes of a reused buffer's storage.
fn peek(buf: &mut bytes::BytesMut, n: usize) -> Vec<u8> {
    assert!(buf.capacity() >= n && buf.is_empty());
    // SAFETY:
    // - `n <= capacity`;
    // - these bytes were initialised: the previous user wrote them (with
    //   `extend_from_slice`), and scrubbing, when on, overwrote them with zeros.
    unsafe { buf.set_len(n) };
    let bytes = buf.to_vec();
    buf.clear();
    bytes
}

#[test]
fn scrub_zeroes_the_bytes_before_the_buffer_is_pooled() {
    for scrub in [false, true] {
        let pool = BufPool::builder().scrub_on_return(scrub).build().unwrap();
        let mut buf = pool.get(64);
        buf.extend_from_slice(b"password=hunter2");
        buf.truncate(8); // "=hunter2" now hides beyond len()
        drop(buf);
        let mut reused = pool.get(64);
        assert_eq!(pool.stats().tiers[0].cache_hits, 1, "the same buffer came back");
        let seen = peek(&mut reused, 16);
        if scrub {
            assert_eq!(seen, [0; 16], "scrubbed");
        } else {
            // The return path's uniqueness probe may have written byte 0.
            assert_eq!(&seen[1..], b"assword=hunter2", "control: without scrub the old bytes are there");
        }
    }
}

#[test]
fn scrub_also_covers_bytes_before_an_advanced_view() {
    use bytes::Buf;
    let pool = BufPool::builder().scrub_on_return(true).build().unwrap();
    let mut buf = pool.get(64);
    buf.extend_from_slice(b"secret-header:body");
    buf.advance(14);
    drop(buf);
    let mut reused = pool.get(64);
    assert_eq!(peek(&mut reused, 18), [0; 18]);
}

#[test]
fn buffers_pooled_after_a_trim_are_not_reaped_early() {
    let pool = decay_by_hand();
    pool.prefill(65536, 4);
    pool.decay_now(); // epoch starts with 4 queued
    pool.trim(); // all 4 released mid-epoch
    pool.prefill(65536, 4); // 4 new ones, queued for less than an interval
    pool.decay_now();
    let t = &pool.stats().tiers[1];
    assert_eq!((t.trimmed, t.decayed, t.retained_buffers), (4, 0, 4), "the new buffers were not idle a whole epoch");
}

#[test]
fn decay_now_does_nothing_with_decay_off() {
    let pool = BufPool::builder().idle_timeout(None).build().unwrap();
    pool.prefill(4096, 4);
    pool.decay_now();
    pool.decay_now();
    assert_eq!((pool.stats().tiers[0].decayed, pool.stats().retained_buffers()), (0, 4));
}

#[test]
fn scrub_covers_bytes_hidden_past_the_view() {
    use bytes::BufMut;
    // (bytes written before the secret, where the view is cut): a tail
    // split off and dropped, then the same after the buffer grew to 8 KiB.
    for (fill, cut) in [(4000, 100), (6000, 4096)] {
        for scrub in [false, true] {
            let pool = BufPool::builder().scrub_on_return(scrub).build().unwrap();
            let mut buf = pool.get(4096);
            buf.put_bytes(b'.', fill);
            buf.put_slice(b"secret");
            drop(buf.split_off(cut)); // the secret now hides past the view
            drop(buf);
            let mut reused = pool.get(4096);
            assert_eq!(pool.stats().tiers[0].cache_hits, 1, "the same buffer came back");
            let seen = peek(&mut reused, fill + 6);
            if scrub {
                assert!(seen.iter().all(|&b| b == 0), "scrubbed, past the old view too ({fill}, {cut})");
            } else {
                assert_eq!(&seen[fill..], b"secret", "control: without scrub the hidden bytes are there");
            }
        }
    }
}

#[test]
fn scrub_also_covers_a_guard_written_only_through_its_own_methods() {
    use bytes::BufMut;
    let pool = BufPool::builder().scrub_on_return(true).build().unwrap();
    let mut buf = pool.get(64);
    buf.put_slice(b"token=0123456789"); // the guard's own `BufMut`: the fast return
    drop(buf);
    let mut reused = pool.get(64);
    assert_eq!(peek(&mut reused, 16), [0; 16]);
}

#[test]
fn scrub_covers_a_buffer_handed_out_by_a_cache_hit() {
    use bytes::BufMut;
    let pool = BufPool::builder().scrub_on_return(true).build().unwrap();
    drop(pool.get(64)); // a miss, then in this thread's cache
    let mut hit = pool.get(64);
    assert_eq!(pool.stats().tiers[0].cache_hits, 1, "handed out by the cache");
    hit.put_slice(b"token=0123456789"); // the guard's own `BufMut`
    drop(hit);
    let mut reused = pool.get(64);
    assert_eq!(pool.stats().tiers[0].cache_hits, 2, "the same buffer came back");
    assert_eq!(peek(&mut reused, 16), [0; 16], "a hit of a scrubbing pool is never a pristine guard");
}
