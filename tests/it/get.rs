//! Getting buffers: tier choice, emptiness, capacity, limits.

use tierpool::{BufPool, DEFAULT_MAX_REQUEST, GetError};

use crate::pool;

#[test]
fn every_boundary_size_gets_an_empty_buffer_of_the_smallest_fitting_tier() {
    let pool = pool();
    let cases = [
        (0, 4096),
        (1, 4096),
        (4095, 4096),
        (4096, 4096),
        (4097, 65536),
        (65535, 65536),
        (65536, 65536),
        (65537, 1 << 20),
        ((1 << 20) - 1, 1 << 20),
        (1 << 20, 1 << 20),
    ];
    for (request, tier) in cases {
        for _ in 0..3 {
            // First a miss, then cache hits: each must honour the contract.
            let mut buf = pool.get(request);
            assert_eq!(buf.len(), 0, "request {request}");
            assert!(buf.capacity() >= request, "request {request}: capacity {}", buf.capacity());
            assert_eq!(buf.tier_size(), Some(tier), "request {request}");
            buf.extend_from_slice(&[0xAB; 100]);
        }
    }
}

#[test]
fn reused_buffer_is_empty_and_never_shows_stale_bytes_through_its_len() {
    let pool = pool();
    let mut buf = pool.get(100);
    buf.extend_from_slice(b"secret");
    drop(buf);
    let buf = pool.get(100);
    assert!(buf.is_empty());
    assert_eq!(&buf[..], b"");
    assert_eq!(pool.stats().tiers[0].cache_hits, 1);
}

#[test]
fn above_the_largest_tier_is_exact_size_unpooled_and_discarded_on_return() {
    let pool = pool();
    let n = (1 << 20) + 1;
    let buf = pool.get(n);
    assert_eq!((buf.len(), buf.capacity(), buf.tier_size()), (0, n, None));
    drop(buf);
    let stats = pool.stats();
    assert_eq!(stats.oversize.gets, 1);
    assert_eq!(stats.oversize.discarded, 1);
    assert_eq!(stats.retained_buffers(), 0);
    assert_eq!(stats.outstanding, 0);
}

#[test]
fn try_get_refuses_absurd_sizes_with_a_typed_error() {
    let pool = pool();
    for n in [DEFAULT_MAX_REQUEST + 1, isize::MAX as usize, usize::MAX] {
        assert_eq!(pool.try_get(n).unwrap_err(), GetError::TooLarge { requested: n, limit: DEFAULT_MAX_REQUEST });
    }
    let err = pool.try_get(usize::MAX).unwrap_err();
    assert!(err.to_string().contains("max_request"), "{err}");
    assert_eq!(pool.stats().gets(), 0, "a refused request is not a get");
}

#[test]
fn try_get_serves_what_get_serves() {
    // Small tiers: try_get zero-fills what it allocates, and a multi-MiB
    // fill takes minutes under Miri.
    let pool = BufPool::builder().tiers(&[4096, 65536]).build().unwrap();
    let buf = pool.try_get(100 << 10).unwrap();
    assert_eq!((buf.len(), buf.capacity(), buf.tier_size()), (0, 100 << 10, None));
    let buf = pool.try_get(5000).unwrap();
    assert_eq!((buf.capacity(), buf.tier_size()), (65536, Some(65536)));
}

#[test]
#[cfg_attr(miri, ignore = "Miri reports an isize::MAX allocation as resource exhaustion instead of failing it")]
fn try_get_reports_allocator_failure_instead_of_aborting() {
    let pool = BufPool::builder().max_request(isize::MAX as usize).build().unwrap();
    // No allocator can provide isize::MAX bytes; try_get must say so.
    let err = pool.try_get(isize::MAX as usize).unwrap_err();
    assert_eq!(err, GetError::AllocFailed { requested: isize::MAX as usize });
}

#[test]
#[should_panic(expected = "above this pool's max_request")]
fn get_of_usize_max_panics_with_the_sizes() {
    let _ = pool().get(usize::MAX);
}

#[test]
fn prefill_warms_the_global_queue() {
    let pool = pool();
    assert_eq!(pool.prefill(1, 10), 10);
    assert_eq!(pool.stats().tiers[0].retained_buffers, 10);
    let held: Vec<_> = (0..10).map(|_| pool.get(1)).collect();
    assert_eq!(pool.stats().tiers[0].misses, 0);
    drop(held);
    assert_eq!(pool.prefill(2 << 20, 1), 0, "oversize buffers are never pooled");
}
