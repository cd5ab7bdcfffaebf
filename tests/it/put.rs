//! `BufPool::put`: buffers from outside a guard come back through the same
//! return path, and each outcome is counted.

use bytes::{BufMut, Bytes, BytesMut};
use tierpool::{BufPool, Discard, Put};

use crate::pool;

/// What `put` said, what the pool then hands out for `size` (capacity, and
/// whether its view starts at its allocation), and the stats' verdict.
fn put_then_get(pool: &BufPool, buf: BytesMut, size: usize) -> (Put, usize, bool) {
    let put = pool.put(buf);
    let again = pool.get(size);
    let (start, capacity) = (again.as_ptr(), again.capacity());
    let storage = Vec::from(again.detach());
    let whole = storage.as_ptr() == start;
    (put, capacity, whole)
}

#[test]
fn a_foreign_buffer_is_pooled_in_the_tier_its_allocation_fits() {
    let pool = pool();
    let (put, capacity, whole) = put_then_get(&pool, BytesMut::with_capacity(70 << 10), 65536);
    assert_eq!(put, Put::Pooled { tier_size: 65536 });
    assert_eq!((capacity, whole), (70 << 10, true), "the same buffer, handed out whole");
    let t = &pool.stats().tiers[1];
    assert_eq!((t.adopted, t.returns, t.misses), (1, 0, 0), "an adoption, not a return; the get hit it");
}

#[test]
fn a_detached_buffer_comes_back() {
    let pool = pool();
    let mut owned = pool.get(4096).detach();
    owned.extend_from_slice(b"used outside the pool");
    let ptr = owned.as_ptr();
    assert_eq!(pool.put(owned), Put::Pooled { tier_size: 4096 });
    let again = pool.get(4096);
    assert_eq!((again.as_ptr(), again.len()), (ptr, 0), "cleared and reused");
    let stats = pool.stats();
    assert_eq!((stats.tiers[0].detached, stats.tiers[0].adopted, stats.outstanding), (1, 1, 1));
}

#[test]
fn grown_split_and_advanced_buffers_are_pooled_by_their_real_allocation() {
    let pool = pool();
    let mut grown = BytesMut::with_capacity(4096);
    grown.put_bytes(1, 6000); // 8 KiB: within tier 0's ceiling
    assert_eq!(pool.put(grown), Put::Pooled { tier_size: 4096 });

    let mut tail_dropped = BytesMut::with_capacity(65536);
    tail_dropped.put_bytes(2, 100);
    drop(tail_dropped.split_off(1000));
    let (put, capacity, whole) = put_then_get(&pool, tail_dropped, 65536);
    assert_eq!((put, capacity, whole), (Put::Pooled { tier_size: 65536 }, 65536, true));

    let mut advanced = BytesMut::with_capacity(4096);
    advanced.put_bytes(3, 4096);
    bytes::Buf::advance(&mut advanced, 4096); // read to its last byte
    assert_eq!(pool.put(advanced), Put::Pooled { tier_size: 4096 });
    assert_eq!(pool.stats().put_discards.total(), 0);
}

#[test]
fn a_frozen_buffer_taken_back_with_try_into_mut_is_pooled() {
    let pool = pool();
    let mut buf = BytesMut::with_capacity(4096);
    buf.extend_from_slice(b"frame");
    let frozen: Bytes = buf.freeze();
    let back = frozen.try_into_mut().expect("the only handle");
    let (put, capacity, whole) = put_then_get(&pool, back, 4096);
    assert_eq!((put, capacity, whole), (Put::Pooled { tier_size: 4096 }, 4096, true));
}

#[test]
fn buffers_that_must_not_be_pooled_are_discarded_and_counted_by_reason() {
    let pool = BufPool::builder().max_retained_bytes(64 << 10).build().unwrap();
    let mut shared = BytesMut::with_capacity(4096);
    shared.extend_from_slice(b"frame");
    let frame = shared.split().freeze();
    assert_eq!(pool.put(shared), Put::Discarded(Discard::Shared));
    assert_eq!(&frame[..], b"frame", "the other handle's bytes are untouched");
    assert_eq!(pool.put(BytesMut::new()), Put::Discarded(Discard::Shared), "nothing to reclaim");
    assert_eq!(pool.put(BytesMut::with_capacity(100)), Put::Discarded(Discard::TooSmall));
    assert_eq!(pool.put(BytesMut::with_capacity(3 << 20)), Put::Discarded(Discard::AboveCeiling));
    assert_eq!(pool.put(BytesMut::with_capacity(10 << 10)), Put::Discarded(Discard::AboveCeiling));
    assert_eq!(pool.put(BytesMut::with_capacity(65536)), Put::Pooled { tier_size: 65536 });
    assert_eq!(pool.put(BytesMut::with_capacity(65536)), Put::Discarded(Discard::OverBudget));
    let stats = pool.stats();
    let d = stats.put_discards;
    assert_eq!((d.shared, d.too_small, d.above_ceiling, d.over_budget), (2, 1, 2, 1));
    assert_eq!(stats.discards(), tierpool::Discards::default(), "no guard's discard");
    assert_eq!((stats.outstanding, stats.gets()), (0, 0), "a put is not a get");
}

#[test]
fn a_put_from_another_thread_reaches_the_pool() {
    let pool = std::sync::Arc::new(pool());
    let remote = std::sync::Arc::clone(&pool);
    std::thread::spawn(move || assert_eq!(remote.put(BytesMut::with_capacity(4096)), Put::Pooled { tier_size: 4096 }))
        .join()
        .unwrap();
    // The thread's exit flushed its cache to the global queue.
    assert_eq!(pool.stats().tiers[0].retained_buffers, 1);
    drop(pool.get(1));
    assert_eq!(pool.stats().tiers[0].global_hits, 1);
}
