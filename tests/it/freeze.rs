//! Freezing: copy-out `freeze` and zero-copy `into_shared`.

use std::sync::Arc;

use tierpool::BufPool;

use crate::pool;

#[test]
fn freeze_copy_out_survives_reuse_of_the_buffer() {
    let pool = pool();
    let mut buf = pool.get(4096);
    buf.extend_from_slice(&[0xAA; 3000]);
    let frozen = buf.freeze();
    // The buffer is back; the next get reuses the very same memory.
    let mut reused = pool.get(4096);
    assert_eq!(pool.stats().tiers[0].cache_hits, 1);
    reused.extend_from_slice(&[0x55; 4096]);
    assert!(frozen.iter().all(|&b| b == 0xAA));
    assert_eq!(frozen.len(), 3000);
    let range = frozen.as_ptr_range();
    let reused_range = reused.as_ptr_range();
    assert!(range.end <= reused_range.start || reused_range.end <= range.start, "no aliasing");
}

#[test]
fn freeze_returns_the_buffer_at_once() {
    let pool = pool();
    let mut buf = pool.get(1 << 20);
    buf.extend_from_slice(b"tiny");
    let frozen = buf.freeze();
    let stats = pool.stats();
    assert_eq!((stats.outstanding, stats.tiers[2].retained_buffers), (0, 1));
    assert_eq!(frozen, "tiny");
}

#[test]
fn into_shared_returns_only_after_the_last_clone_drops() {
    let pool = Arc::new(pool());
    let mut buf = pool.get_owned(65536);
    buf.extend_from_slice(&[3; 40_000]);
    let a = buf.into_shared();
    let b = a.clone();
    let c = a.slice(100..200);
    assert_eq!(a.len(), 40_000);
    drop(a);
    drop(b);
    let stats = pool.stats();
    assert_eq!((stats.outstanding, stats.tiers[1].retained_buffers), (1, 0));
    assert!(c.iter().all(|&x| x == 3));
    drop(c);
    let stats = pool.stats();
    assert_eq!((stats.outstanding, stats.tiers[1].returns, stats.tiers[1].retained_buffers), (0, 1, 1));
}

#[test]
fn into_shared_clone_dropped_on_another_thread_returns_there() {
    let pool = Arc::new(pool());
    let mut buf = pool.get_owned(100);
    buf.extend_from_slice(b"payload");
    let shared = buf.into_shared();
    let remote = shared.clone();
    drop(shared);
    std::thread::spawn(move || assert_eq!(remote, "payload")).join().unwrap();
    assert_eq!(pool.stats().outstanding, 0);
}

#[test]
fn global_guards_can_become_shared_bytes() {
    let mut buf = tierpool::get(10);
    buf.extend_from_slice(b"global");
    let shared = buf.into_shared();
    assert_eq!(shared, "global");
}

#[test]
fn empty_freeze_allocates_nothing_and_returns() {
    let pool = BufPool::new();
    let frozen = pool.get(10).freeze();
    assert!(frozen.is_empty());
    assert_eq!(pool.stats().tiers[0].returns, 1);
}
