//! The return path: ceiling, re-tiering, shared storage, advance, panics.

use bytes::Buf;
use tierpool::BufPool;

use crate::pool;

#[test]
fn returned_buffer_above_ceiling_is_discarded() {
    let pool = pool();
    let mut buf = pool.get(10);
    buf.reserve(10_000); // 4 KiB tier, ceiling 8 KiB; now > 8 KiB and < 64 KiB
    assert!(buf.capacity() > 8192 && buf.capacity() < 65536);
    drop(buf);
    let stats = pool.stats();
    assert_eq!(stats.tiers[0].discards.above_ceiling, 1);
    assert_eq!(stats.retained_buffers(), 0);
}

#[test]
fn grown_buffer_is_re_tiered_by_real_capacity() {
    let pool = pool();
    let mut buf = pool.get(10);
    buf.extend_from_slice(&[1; 70 * 1024]); // a 4 KiB buffer grown to >= 70 KiB
    let grown = buf.capacity();
    assert!((70 * 1024..=128 * 1024).contains(&grown), "{grown}");
    drop(buf);
    let stats = pool.stats();
    assert_eq!((stats.tiers[0].returns, stats.tiers[0].retiered), (1, 1));
    assert_eq!(stats.tiers[1].retained_buffers, 1);
    let again = pool.get(65536);
    assert_eq!((again.len(), again.capacity()), (0, grown), "the grown buffer serves the 64 KiB tier");
}

#[test]
fn chunk_mut_doubling_stays_within_the_default_ceiling() {
    use bytes::BufMut;
    let pool = pool();
    let mut buf = pool.get(4096);
    buf.put_bytes(1, 4096);
    let _ = buf.chunk_mut(); // what tokio's read_buf does to a full buffer
    assert!(buf.capacity() > 4096 && buf.capacity() <= 8192);
    drop(buf);
    assert_eq!(pool.stats().tiers[0].returns, 1);
}

#[test]
fn storage_shared_after_split_freeze_is_discarded_and_the_bytes_survive() {
    let pool = pool();
    let mut buf = pool.get(100);
    buf.extend_from_slice(b"frame-one");
    let frame = buf.split().freeze(); // through DerefMut: aliases the storage
    drop(buf);
    let stats = pool.stats();
    assert_eq!(stats.tiers[0].discards.shared, 1);
    assert_eq!(stats.retained_buffers(), 0);
    let mut next = pool.get(100);
    next.extend_from_slice(b"XXXXXXXXX");
    assert_eq!(&frame[..], b"frame-one");
}

#[test]
fn storage_shared_after_growth_then_split_to_is_discarded() {
    let pool = pool();
    let mut buf = pool.get(100);
    buf.reserve(100 * 1024);
    buf.extend_from_slice(&[9; 1000]);
    let frame = buf.split_to(10).freeze();
    drop(buf);
    assert_eq!(pool.stats().tiers[0].discards.shared, 1);
    assert_eq!(&frame[..], &[9; 10]);
}

#[test]
fn storage_whose_split_half_was_dropped_is_pooled_whole() {
    let pool = pool();
    let mut buf = pool.get(100);
    buf.extend_from_slice(&[1; 500]);
    drop(buf.split_to(200));
    drop(buf);
    let buf = pool.get(100);
    assert_eq!((buf.len(), buf.capacity()), (0, 4096));
    assert_eq!(pool.stats().tiers[0].discards.total(), 0);
}

#[test]
fn advanced_buffer_is_reclaimed_to_full_capacity() {
    let pool = pool();
    let mut buf = pool.get(4096);
    buf.extend_from_slice(&[5; 4000]);
    buf.advance(3999);
    assert_eq!(buf.capacity(), 97);
    drop(buf);
    let buf = pool.get(4096);
    assert_eq!((buf.len(), buf.capacity()), (0, 4096));
}

#[test]
fn replaced_storage_below_the_smallest_tier_is_discarded_as_too_small() {
    let pool = pool();
    let mut buf = pool.get(100);
    *buf = bytes::BytesMut::with_capacity(100);
    drop(buf);
    assert_eq!(pool.stats().tiers[0].discards.too_small, 1);
}

#[test]
fn taken_storage_counts_as_unreclaimable() {
    let pool = pool();
    let mut buf = pool.get(100);
    let taken = std::mem::take(&mut *buf);
    drop(buf);
    assert_eq!(pool.stats().tiers[0].discards.shared, 1);
    assert_eq!(taken.capacity(), 4096);
}

#[test]
fn panic_while_held_returns_the_buffer_cleared() {
    let pool = pool();
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut buf = pool.get(100);
        buf.extend_from_slice(b"half-written");
        panic!("handler failed");
    }));
    assert!(result.is_err());
    let stats = pool.stats();
    assert_eq!((stats.outstanding, stats.tiers[0].returns), (0, 1));
    let buf = pool.get(100);
    assert!(buf.is_empty());
    assert_eq!(pool.stats().tiers[0].cache_hits, 1);
}

#[test]
fn detached_buffer_leaves_the_pool_for_good() {
    let pool = pool();
    let mut owned = pool.get(100).detach();
    owned.extend_from_slice(b"mine");
    let stats = pool.stats();
    assert_eq!((stats.tiers[0].detached, stats.outstanding, stats.retained_buffers()), (1, 0, 0));
}

#[test]
fn full_thread_cache_spills_and_full_global_queue_drops() {
    let pool = BufPool::builder().tiers(&[1024]).thread_cache(&[4]).global_queue(&[2]).build().unwrap();
    let held: Vec<_> = (0..8).map(|_| pool.get(1)).collect();
    // 4 fill the cache; the 5th spills all 4 (none was got from the cache,
    // `magazine.rs`), of which the queue of 2 drops 2.
    drop(held);
    let t = &pool.stats().tiers[0];
    assert_eq!(t.returns, 8);
    assert_eq!(t.discards.global_full, 2);
    assert_eq!(t.retained_buffers, 6, "4 cached + 2 queued");
    assert_eq!(t.retained_bytes, 6 * 1024);
}

#[test]
fn tier_without_thread_cache_goes_straight_to_the_global_queue() {
    let pool = BufPool::builder().tiers(&[1024]).thread_cache(&[0]).global_queue(&[1]).build().unwrap();
    drop(pool.get(1));
    drop(pool.get(1));
    let t = &pool.stats().tiers[0];
    assert_eq!((t.misses, t.global_hits, t.returns, t.retained_buffers), (1, 1, 2, 1));
}

#[test]
fn trim_releases_the_global_queue_and_this_threads_cache() {
    let pool = pool();
    let held: Vec<_> = (0..100).map(|_| pool.get(1)).collect();
    drop(held);
    assert_eq!(pool.stats().retained_bytes(), 100 * 4096);
    assert_eq!(pool.trim(), 100 * 4096);
    let stats = pool.stats();
    assert_eq!((stats.retained_bytes(), stats.tiers[0].trimmed), (0, 100));
}

#[test]
fn storage_shared_with_an_empty_split_is_not_pooled() {
    // split() of a buffer with nothing written leaves the guard's view as it
    // was handed out; only the uniqueness probe can tell the storage is shared.
    let pool = pool();
    let mut buf = pool.get(100);
    let empty = buf.split().freeze();
    drop(buf);
    let t = &pool.stats().tiers[0];
    assert_eq!((t.returns, t.discards.shared, t.retained_buffers), (0, 1, 0));
    drop(empty);
}

#[test]
fn untouched_buffer_returned_empty_is_pooled() {
    let pool = pool();
    drop(pool.get(100)); // never written: takes the probe, which finds it unique
    let t = &pool.stats().tiers[0];
    assert_eq!((t.returns, t.discards.total(), t.retained_buffers), (1, 0, 1));
}

/// Gets a buffer of `size`'s tier, lets `f` do what it likes with it, drops
/// it, and returns the buffer handed out next with the start of its
/// allocation (from `Vec::from`, which returns the original `Vec` of unique
/// storage).
fn returned_after(pool: &BufPool, size: usize, f: impl FnOnce(&mut bytes::BytesMut)) -> (usize, usize, usize) {
    let mut buf = pool.get(size);
    f(&mut buf);
    drop(buf);
    let again = pool.get(size);
    let (start, capacity) = (again.as_ptr().addr(), again.capacity());
    let storage = Vec::from(again.detach());
    assert_eq!(storage.capacity(), capacity, "capacity() is the whole allocation");
    (start, storage.as_ptr().addr(), capacity)
}

#[test]
fn every_pooled_buffer_views_its_whole_allocation_from_offset_zero() {
    use bytes::BufMut;
    type Use = fn(&mut bytes::BytesMut);
    let cases: [(&str, Use); 6] = [
        ("advance", |b| {
            b.put_bytes(1, 3000);
            b.advance(2999);
        }),
        ("read to the last byte", |b| {
            b.put_bytes(1, b.capacity());
            b.advance(b.len());
        }),
        ("split_to, frame dropped", |b| {
            b.put_bytes(1, 100);
            drop(b.split_to(60));
        }),
        ("split_off, tail dropped", |b| {
            b.put_bytes(1, 100);
            drop(b.split_off(200));
        }),
        ("split on both sides", |b| {
            b.put_bytes(1, 300);
            drop(b.split_to(100));
            drop(b.split_off(50));
        }),
        ("grown, then split back", |b| {
            b.put_bytes(1, 6000);
            drop(b.split_off(4096));
        }),
    ];
    for (what, f) in cases {
        let pool = pool();
        let (start, allocation_start, capacity) = returned_after(&pool, 4096, f);
        assert_eq!(start, allocation_start, "{what}: the next user's view starts at offset 0");
        assert!((4096..=8192).contains(&capacity), "{what}: {capacity}");
        let t = &pool.stats().tiers[0];
        assert_eq!((t.returns, t.cache_hits), (1, 1), "{what}: pooled and handed out again");
    }
}
