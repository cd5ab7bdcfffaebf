//! Tokio helpers (feature `tokio`): socket reads that never grow a pooled
//! buffer, and a periodic task that drives idle decay.
//!
//! `PooledBuf` implements `bytes::BufMut`, so `AsyncReadExt::read_buf(&mut
//! buf)` works without this module. But `read_buf` calls `chunk_mut`, and on
//! a full buffer that reserves more room: a 64 KiB buffer becomes 128 KiB,
//! then 256 KiB, and the second doubling puts it above its tier's ceiling, so
//! it is discarded on return instead of pooled. A full buffer is easy to reach
//! in a framing loop that accumulates a large or malicious frame. And
//! bounding the read by hand has a trap: `read_buf` on a view with no room
//! returns `Ok(0)`, the same as end of stream.
//!
//! [`read_pooled`] reads into the spare capacity only, and reports a full
//! buffer as an error, never as `Ok(0)`.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use ::tokio::io::{AsyncRead, AsyncReadExt};
use bytes::{BufMut, BytesMut};

use crate::chain::PooledChain;
use crate::error::ChainError;
use crate::guard::PooledBuf;
use crate::pool::BufPool;

/// Reads from `reader` into the spare capacity of `buf`, appending, and never
/// reallocates it.
///
/// Returns the number of bytes read; `Ok(0)` means end of stream, and only
/// that. At most `buf.capacity() - buf.len()` bytes are read, so the buffer
/// keeps the capacity it was handed out with and goes back to its tier on
/// drop.
///
/// Cancel safe, like `read_buf`: if the future is dropped before it
/// completes, no data was read.
///
/// # Errors
///
/// - Any error of the reader.
/// - [`io::ErrorKind::OutOfMemory`] if `buf` has no spare capacity: nothing
///   is read. Consume bytes (e.g. `split_to(n).freeze()` for a frame), ask
///   the pool for a bigger buffer, or treat it as a frame-size limit.
///
/// # Examples
///
/// ```
/// use std::io::ErrorKind;
/// use tierpool::tokio::read_pooled;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let pool = tierpool::BufPool::new();
/// let data = vec![7u8; 10_000];
/// let mut socket: &[u8] = &data; // any AsyncRead: a TcpStream, a duplex, ...
/// let mut buf = pool.get(4096);
/// loop {
///     match read_pooled(&mut socket, &mut buf).await {
///         Ok(0) => break,                                          // end of stream
///         Ok(_) => continue,
///         Err(e) if e.kind() == ErrorKind::OutOfMemory => break, // frame limit reached
///         Err(e) => return Err(e),
///     }
/// }
/// // `read_buf(&mut buf)` would have doubled it to 8 KiB, then 16 KiB.
/// assert_eq!((buf.len(), buf.capacity()), (4096, 4096));
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// ```
pub async fn read_pooled<R>(reader: &mut R, buf: &mut PooledBuf<'_>) -> io::Result<usize>
where
    R: AsyncRead + Unpin + ?Sized,
{
    let spare = buf.capacity() - buf.len();
    if spare == 0 {
        return Err(full(buf.capacity()));
    }
    // `Limit` caps `chunk_mut` to `spare`; with `spare > 0` the inner
    // `chunk_mut` never reserves, so the buffer cannot grow.
    let inner: &mut BytesMut = buf.writable(spare);
    reader.read_buf(&mut inner.limit(spare)).await
}

/// Reads from `reader` into `chain`, appending; the chain grows by whole
/// pooled chunks, never by reallocating. For a large body: a request of
/// 20 MiB fills twenty 1 MiB chunks, or as many 64 KiB ones as it needs.
///
/// Returns the number of bytes read; `Ok(0)` means end of stream, and only
/// that (a plain `read_buf` on a chain at its limit also returns `Ok(0)`).
/// A body of exactly the limit reads to its end: once the chain is full, the
/// next call reads one byte into a scratch byte to tell the end of the
/// stream (`Ok(0)`) from more data (the error below). Cancel safe, like
/// `read_buf`. The chain ends in a chunk with data, never in an empty one,
/// and takes no new chunk while the read waits: a body that ends exactly on
/// a chunk boundary fills exactly its chunks.
///
/// # Errors
///
/// - Any error of the reader.
/// - An error of kind `FileTooLarge` wrapping
///   [`ChainError::LimitExceeded`] if the
///   stream goes on past the chain's limit. The chain keeps everything up to
///   the limit; the one byte that showed the stream goes past it has been
///   consumed from the reader.
///
/// # Examples
///
/// ```
/// use tierpool::tokio::read_chain;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let pool = tierpool::BufPool::new();
/// let body = vec![7u8; 300_000];
/// let mut socket: &[u8] = &body;
/// let mut chain = pool.chain(64 * 1024).with_limit(1 << 20);
/// while read_chain(&mut socket, &mut chain).await? > 0 {}
/// assert_eq!((chain.len(), chain.chunk_count()), (300_000, 5));
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// ```
pub async fn read_chain<R>(reader: &mut R, chain: &mut PooledChain<'_>) -> io::Result<usize>
where
    R: AsyncRead + Unpin + ?Sized,
{
    if chain.room() == 0 {
        let mut probe = [0u8; 1];
        return match reader.read(&mut probe).await? {
            0 => Ok(0),
            // At the limit, `len() == limit`.
            _ => Err(ChainError::LimitExceeded { limit: chain.len() }.into()),
        };
    }
    // `read_buf` appends a chunk before it knows whether any byte comes; a
    // read that waits, fails or ends gives that empty chunk straight back,
    // so a chain never ends in one and holds none while it waits. The
    // `read_buf` future keeps no state between polls, so each poll makes a
    // new one, leaving the chain free in between.
    std::future::poll_fn(|cx| {
        let read = std::pin::pin!(reader.read_buf(&mut *chain)).poll(cx);
        if !matches!(read, std::task::Poll::Ready(Ok(n)) if n > 0) {
            chain.release_empty_tail();
        }
        read
    })
    .await
}

#[cold]
fn full(capacity: usize) -> io::Error {
    io::Error::new(
        io::ErrorKind::OutOfMemory,
        format!("read_pooled: the buffer is full ({capacity} bytes); consume bytes before reading again"),
    )
}

/// Spawns a task on the current tokio runtime that calls
/// [`BufPool::decay`] every `period`, so a pool that has gone quiet still
/// releases buffers that stayed idle for its `idle_timeout`.
///
/// Without it, decay is driven by the pool's own gets and returns, which a
/// quiet pool does not make. The task holds the pool until it is aborted
/// (`JoinHandle::abort`) or the runtime shuts down. A `period` of about half
/// the idle timeout releases idle buffers within 1.5 intervals. The task
/// only decays the global queues and its own thread's cache; other threads
/// reap their caches on their next use of the pool.
///
/// # Panics
///
/// If called outside a tokio runtime, or if `period` is zero.
///
/// # Examples
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use std::{sync::Arc, time::Duration};
///
/// let pool = Arc::new(tierpool::BufPool::builder().idle_timeout(Some(Duration::from_millis(20))).build().unwrap());
/// pool.prefill(4096, 8);
/// let decay = tierpool::tokio::spawn_decay(Arc::clone(&pool), Duration::from_millis(10));
/// // Two ticks at least an interval apart release them; on a busy machine
/// // the task may run late, so wait for it rather than for a fixed time.
/// let released = async {
///     while pool.stats().retained_buffers() > 0 {
///         tokio::time::sleep(Duration::from_millis(10)).await;
///     }
/// };
/// tokio::time::timeout(Duration::from_secs(60), released).await.expect("decayed within a minute");
/// decay.abort();
/// # }
/// ```
pub fn spawn_decay(pool: Arc<BufPool>, period: Duration) -> ::tokio::task::JoinHandle<()> {
    assert!(!period.is_zero(), "tierpool: spawn_decay needs a non-zero period");
    ::tokio::spawn(async move {
        let mut ticks = ::tokio::time::interval(period);
        ticks.set_missed_tick_behavior(::tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            pool.decay();
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BufPool;

    fn block_on<F: Future>(f: F) -> F::Output {
        ::tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
    }

    #[test]
    fn reads_up_to_spare_capacity_and_never_grows() {
        block_on(async {
            let pool = BufPool::new();
            let data: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
            let mut reader: &[u8] = &data;
            let mut buf = pool.get(4096);
            let mut total = 0;
            while buf.len() < buf.capacity() {
                total += read_pooled(&mut reader, &mut buf).await.unwrap();
            }
            assert_eq!((total, buf.capacity()), (4096, 4096));
            assert_eq!(&buf[..], &data[..4096]);
            let err = read_pooled(&mut reader, &mut buf).await.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::OutOfMemory);
            assert_eq!(reader.len(), 10_000 - 4096, "nothing read when full");
        });
    }

    #[test]
    fn zero_means_end_of_stream() {
        block_on(async {
            let pool = BufPool::new();
            let mut reader: &[u8] = b"abc";
            let mut buf = pool.get(16);
            assert_eq!(read_pooled(&mut reader, &mut buf).await.unwrap(), 3);
            assert_eq!(read_pooled(&mut reader, &mut buf).await.unwrap(), 0);
            assert_eq!(&buf[..], b"abc");
        });
    }

    #[test]
    fn a_buffer_filled_by_read_pooled_returns_to_its_tier() {
        block_on(async {
            let pool = BufPool::new();
            let data = vec![1u8; 200_000];
            let mut reader: &[u8] = &data;
            let mut buf = pool.get(65536);
            while read_pooled(&mut reader, &mut buf).await.is_ok() {}
            drop(buf);
            let t = &pool.stats().tiers[1];
            assert_eq!((t.returns, t.retiered, t.discards.total()), (1, 0, 0));
        });
    }
}
