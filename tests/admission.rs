//! `Builder::max_outstanding_bytes`: waiting, order, cancellation, refusals
//! and overdrafts, polled by hand on one thread, so that no outcome depends
//! on a scheduler.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use bytes::BufMut;
use tierpool::{AcquireError, AdmissionStats, BufPool, ChainError, ConfigError};

const MIB: usize = 1 << 20;

/// A pool whose only tier is 4 KiB, so a request above it is charged
/// exactly its size and freed on return: the sizes below are the charges.
fn pool(limit: usize) -> BufPool {
    BufPool::builder().tiers(&[4096]).max_outstanding_bytes(limit).build().unwrap()
}

fn admission(pool: &BufPool) -> AdmissionStats {
    pool.stats().admission.expect("a limited pool")
}

/// Polls once with a waker that does nothing.
fn poll<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
    Pin::new(future).poll(&mut Context::from_waker(Waker::noop()))
}

fn ready<T>(poll: Poll<Result<T, AcquireError>>) -> T {
    match poll {
        Poll::Ready(Ok(value)) => value,
        Poll::Ready(Err(err)) => panic!("refused: {err}"),
        Poll::Pending => panic!("still waiting"),
    }
}

/// Everything handed out has come back, and the identity of the
/// accounting holds: available room, reserved room and handed-out bytes
/// make the limit.
fn assert_settled(pool: &BufPool) {
    let a = admission(pool);
    assert_eq!((a.outstanding_bytes, a.overdrawn_bytes, a.waiting), (0, 0, 0), "{a:?}");
    assert!(a.reserved_bytes <= a.limit, "{a:?}");
    pool.stats().check().unwrap();
}

#[test]
fn acquire_waits_until_the_request_fits_and_is_served_in_order() {
    let pool = pool(MIB);
    let held = pool.try_acquire(MIB).unwrap();
    // A large request first, then small ones: the small ones queue behind it.
    let mut large = Box::pin(pool.acquire(MIB));
    let mut small = Box::pin(pool.acquire(64 * 1024));
    assert!(poll(&mut large).is_pending());
    assert!(poll(&mut small).is_pending());
    assert_eq!(admission(&pool).waiting, 2);
    drop(held);
    let large = ready(poll(&mut large));
    assert!(poll(&mut small).is_pending(), "the large request was first, and holds all");
    drop(large);
    let small = ready(poll(&mut small));
    assert_eq!(small.capacity(), 64 * 1024);
    drop(small);
    let a = admission(&pool);
    assert_eq!(a.waits, 2);
    assert_settled(&pool);
}

#[test]
fn a_queued_waiter_is_not_overtaken_by_try_acquire() {
    let pool = pool(MIB);
    let held: Vec<_> = (0..4).map(|_| pool.try_acquire(256 * 1024).unwrap()).collect();
    let mut large = Box::pin(pool.acquire(512 * 1024));
    assert!(poll(&mut large).is_pending());
    let mut held = held.into_iter();
    drop(held.next()); // 256 KiB free: not enough for the waiter
    assert_eq!(
        pool.try_acquire(4096).unwrap_err(),
        AcquireError::WouldWait { charge: 4096 },
        "room a waiter is owed is not handed to a later request"
    );
    drop(held.next());
    let large = ready(poll(&mut large));
    drop((large, held));
    assert_eq!(admission(&pool).would_wait, 1);
    assert_settled(&pool);
}

#[test]
fn a_waiter_dropped_after_any_poll_takes_nothing_and_wakes_the_next() {
    for polls in 0..4 {
        let pool = pool(MIB);
        let held = pool.try_acquire(MIB).unwrap();
        let mut first = Box::pin(pool.acquire(512 * 1024));
        let mut second = Box::pin(pool.acquire(512 * 1024));
        for _ in 0..polls {
            assert!(poll(&mut first).is_pending());
        }
        assert!(poll(&mut second).is_pending());
        drop(first); // cancelled while queued (or before its first poll)
        drop(held);
        let second = ready(poll(&mut second));
        let other_half = pool.try_acquire(512 * 1024).expect("the cancelled future holds nothing");
        drop((second, other_half));
        assert_settled(&pool);
        assert_eq!(pool.stats().oversize.gets, 3, "the cancelled future got no buffer, after {polls} polls");
    }
}

#[test]
fn a_waiter_cancelled_with_room_assigned_gives_it_back() {
    let pool = pool(MIB);
    let a = pool.try_acquire(512 * 1024).unwrap();
    let b = pool.try_acquire(512 * 1024).unwrap();
    let mut whole = Box::pin(pool.acquire(MIB));
    assert!(poll(&mut whole).is_pending());
    drop(a); // half of what it waits for is now assigned to it
    assert!(poll(&mut whole).is_pending());
    drop(whole);
    assert_eq!((admission(&pool).waits, admission(&pool).waiting), (1, 0), "a cancelled wait is counted");
    let again = pool.try_acquire(512 * 1024).expect("the assigned half came back");
    drop((again, b));
    assert_settled(&pool);
}

#[test]
fn a_request_above_the_limit_fails_at_once() {
    let pool = pool(MIB);
    let above = AcquireError::AboveLimit { charge: MIB + 1, limit: MIB };
    assert_eq!(pool.try_acquire(MIB + 1).unwrap_err(), above);
    let mut waiting = Box::pin(pool.acquire(MIB + 1));
    match poll(&mut waiting) {
        Poll::Ready(Err(err)) => assert_eq!(err, above),
        _ => panic!("a request that can never fit must not wait"),
    }
    // Above `max_request`: the get's own error.
    let err = pool.try_acquire(usize::MAX).unwrap_err();
    assert!(matches!(err, AcquireError::Get(tierpool::GetError::TooLarge { .. })), "{err}");
    assert_eq!(admission(&pool).waits, 0);
}

#[test]
fn get_never_waits_and_counts_what_it_overdraws() {
    let pool = pool(MIB);
    let held = pool.try_acquire(MIB).unwrap();
    let forced = pool.get(64 * 1024); // no room: `get` goes past the limit
    let a = admission(&pool);
    assert_eq!((a.outstanding_bytes, a.overdrafts, a.overdrawn_bytes), (MIB + 64 * 1024, 1, 64 * 1024));
    // A waiter is served only once the overdraft is repaid.
    let mut waiter = Box::pin(pool.acquire(64 * 1024));
    assert!(poll(&mut waiter).is_pending());
    drop(held);
    let served = ready(poll(&mut waiter));
    let a = admission(&pool);
    assert_eq!(a.overdrawn_bytes, 0, "the return repaid the overdraft first");
    assert_eq!(a.outstanding_bytes, 128 * 1024);
    drop((forced, served));
    assert_eq!(admission(&pool).overdraft_bytes_total, 64 * 1024);
    assert_settled(&pool);
    // A forced buffer returned first repays its overdraft at once: the
    // thread keeps no room that stands on debt.
    let held = pool.try_acquire(MIB).unwrap();
    drop(pool.get(4096));
    let a = admission(&pool);
    assert_eq!((a.outstanding_bytes, a.overdrawn_bytes, a.reserved_bytes), (MIB, 0, 0), "{a:?}");
    drop(held);
    assert_settled(&pool);
}

#[test]
fn every_way_a_buffer_ends_settles_its_charge() {
    let pool = Arc::new(BufPool::builder().max_outstanding_bytes(4 * MIB).build().unwrap());
    let out = |pool: &BufPool| admission(pool).outstanding_bytes;
    // A pooled tier: the charge is the tier's size.
    let mut buf = pool.try_acquire(100).unwrap();
    assert_eq!(out(&pool), 4096);
    buf.put_slice(b"x");
    drop(buf.freeze());
    assert_eq!(out(&pool), 0);
    // Exposed through `&mut BytesMut`, grown, shared, detached.
    let mut buf = pool.get(100);
    let inner: &mut bytes::BytesMut = &mut buf;
    inner.reserve(100_000); // reallocated: discarded on return
    drop(buf);
    let mut buf = pool.get(100);
    let split = buf.split_to(0); // shared storage: discarded on return
    drop(buf);
    drop(split);
    let detached = pool.get(100).detach();
    assert_eq!(out(&pool), 0, "a detached buffer stops counting");
    drop(detached);
    // `into_shared`: until the last clone drops.
    let buf = pool.get_owned(64 * 1024);
    let capacity = buf.capacity(); // the buffer grown to 100 000 bytes above, pooled in the 64 KiB tier
    let shared = buf.into_shared();
    let clone = shared.clone();
    drop(shared);
    assert_eq!(out(&pool), capacity, "charged its real capacity");
    drop(clone);
    assert_eq!(out(&pool), 0);
    pool.trim(); // so that the chain's chunks are new, standard buffers
    // A chain's chunks, and `into_pieces`.
    let mut chain = pool.chain_owned(64 * 1024);
    chain.extend_from_slice(&[1; 200_000]);
    assert_eq!(out(&pool), 4 * 64 * 1024);
    let pieces = chain.into_pieces();
    assert_eq!(out(&pool), 4 * 64 * 1024);
    drop(pieces);
    // On another thread.
    let buf = pool.get_owned(MIB);
    std::thread::spawn(move || drop(buf)).join().unwrap();
    assert_settled(&pool);
}

#[test]
fn try_extend_from_slice_refuses_for_room_and_writes_nothing() {
    let pool = BufPool::builder().max_outstanding_bytes(256 * 1024).build().unwrap();
    let held = pool.try_acquire(64 * 1024).unwrap();
    let mut chain = pool.chain(64 * 1024);
    chain.try_extend_from_slice(&[1; 100_000]).unwrap(); // two chunks
    assert_eq!(
        chain.try_extend_from_slice(&[2; 100_000]).unwrap_err(),
        ChainError::WouldWait { charge: 128 * 1024 },
        "one chunk of room left, two needed"
    );
    assert_eq!(chain.len(), 100_000, "nothing of the refused write");
    chain.extend_from_slice(&[3; 100_000]); // forced: counted as an overdraft
    assert_eq!(admission(&pool).overdrafts, 1);
    drop((chain, held));
    assert_settled(&pool);
}

#[test]
fn invalid_limits_are_typed_errors() {
    let err = BufPool::builder().max_outstanding_bytes(100).build().unwrap_err();
    assert_eq!(err, ConfigError::OutstandingBelowSmallestTier { limit: 100, smallest_tier: 4096 });
    let err = BufPool::builder().max_outstanding_bytes(MIB).max_request(8 << 30).build().unwrap_err();
    assert!(matches!(err, ConfigError::AboveMaximum { value, .. } if value == 8 << 30), "{err}");
}

#[test]
fn without_a_limit_acquire_never_waits() {
    let pool = BufPool::new();
    let held: Vec<_> = (0..8).map(|_| pool.get(MIB)).collect();
    let mut more = Box::pin(pool.acquire(MIB));
    let buf = ready(poll(&mut more));
    assert!(pool.stats().admission.is_none());
    drop((buf, held));
}

#[test]
fn a_waiter_takes_back_room_idle_in_other_threads() {
    // Each thread keeps up to 1/32 of the limit in reserve after a return;
    // a waiter for the whole limit must not wait on a thread that has gone
    // quiet.
    let pool = Arc::new(pool(64 * 4096));
    let other = Arc::clone(&pool);
    let (quiet_tx, quiet_rx) = std::sync::mpsc::channel();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let thread = std::thread::spawn(move || {
        drop(other.get(4096)); // takes a batch, keeps the rest after the return
        quiet_tx.send(()).unwrap();
        done_rx.recv().unwrap(); // stays alive, and never uses the pool again
    });
    quiet_rx.recv().unwrap();
    assert!(admission(&pool).reserved_bytes > 0, "the quiet thread keeps room");
    let mut whole = Box::pin(pool.acquire(64 * 4096));
    let whole = ready(poll(&mut whole));
    drop(whole);
    done_tx.send(()).unwrap();
    thread.join().unwrap();
    assert_settled(&pool);
}

#[cfg(feature = "tokio")]
#[test]
fn read_chain_waits_for_room_for_its_next_chunk() {
    use tokio::io::AsyncWriteExt;

    let pool = BufPool::builder().max_outstanding_bytes(128 * 1024).build().unwrap();
    assert!(
        matches!(pool.try_acquire(128 * 1024), Err(AcquireError::AboveLimit { charge: MIB, .. })),
        "the 1 MiB tier"
    );
    let a = pool.try_acquire(64 * 1024).unwrap();
    let b = pool.try_acquire(64 * 1024).unwrap();
    let (mut tx, mut rx) = tokio::io::duplex(256 * 1024);
    let body = vec![7u8; 100_000];
    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    runtime.block_on(tx.write_all(&body)).unwrap();
    drop(tx);
    let mut chain = pool.chain(64 * 1024);
    {
        let mut read = Box::pin(tierpool::tokio::read_chain(&mut rx, &mut chain));
        assert!(poll(&mut read).is_pending(), "no room for a chunk: it waits");
        assert_eq!(admission(&pool).waiting, 1);
        drop(a);
        match poll(&mut read) {
            Poll::Ready(Ok(n)) => assert_eq!(n, 64 * 1024),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(admission(&pool).outstanding_bytes, 128 * 1024);
    drop(b);
    runtime.block_on(async { while tierpool::tokio::read_chain(&mut rx, &mut chain).await.unwrap() > 0 {} });
    assert_eq!(chain.len(), body.len());
    drop(chain);
    assert_settled(&pool);
}
