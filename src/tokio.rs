//! Tokio helpers (feature `tokio`): socket reads that take a pooled buffer
//! only once there is data, reads that never grow a pooled buffer, and a
//! periodic task that drives idle decay.
//!
//! # Readiness first
//!
//! `let mut buf = pool.get(n); socket.read_buf(&mut buf).await` takes the
//! buffer before the read waits, so a connection waiting for data holds a
//! buffer for as long as it waits: a thousand idle connections pin a
//! thousand buffers. [`read_when_ready`] (and [`read_owned_when_ready`] for
//! tasks) waits until the socket is readable, then takes a buffer and reads
//! what is there without waiting: a connection waiting for data holds none.
//! It works on the sockets that can wait for readiness without reading
//! ([`ReadReady`]): tokio's `TcpStream` and `UnixStream` and their read
//! halves. [`read_more_when_ready`] appends to a buffer the caller already
//! holds, for a frame that came in part.
//!
//! # Reads that never grow a buffer
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
//! [`read_pooled`], and every helper here, reads into the spare capacity
//! only, and reports a full buffer as an error, never as `Ok(0)`.

use std::future::Future;
use std::io;
use std::panic::Location;
use std::sync::Arc;
use std::time::Duration;

use ::tokio::io::{AsyncRead, AsyncReadExt};
use ::tokio::net::TcpStream;
use ::tokio::net::tcp;
#[cfg(unix)]
use ::tokio::net::{UnixStream, unix};
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
/// In a pool with [`max_outstanding_bytes`](crate::Builder::max_outstanding_bytes),
/// a read that needs a new chunk first waits, first come first served,
/// until the limit has room for it (cancel safe: dropped while waiting, it
/// takes nothing). While it then waits for data it keeps that room, not the
/// chunk, unless someone queues for it; the chain gives the room back when
/// it drops.
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
    // new one, leaving the chain free in between. In a pool with
    // `max_outstanding_bytes`, a read that needs a chunk first has room for
    // it, waiting in line for it if need be (the only wait for the limit).
    loop {
        if chain.needs_room() {
            chain.wait_for_room().await;
        }
        let step = std::future::poll_fn(|cx| {
            if chain.needs_room() {
                // The room went back while the read waited: queue for it.
                return std::task::Poll::Ready(None);
            }
            let read = std::pin::pin!(reader.read_buf(&mut *chain)).poll(cx);
            if !matches!(read, std::task::Poll::Ready(Ok(n)) if n > 0) {
                chain.release_empty_tail();
            }
            read.map(Some)
        })
        .await;
        if let Some(read) = step {
            return read;
        }
    }
}

/// A socket that can wait until it is readable without reading, then read
/// what is there without waiting: what the readiness-first reads
/// ([`read_when_ready`], [`read_owned_when_ready`],
/// [`read_more_when_ready`]) need.
///
/// Implemented for tokio's [`TcpStream`], [`tcp::OwnedReadHalf`] and
/// [`tcp::ReadHalf`], and on Unix for [`UnixStream`], [`unix::OwnedReadHalf`]
/// and [`unix::ReadHalf`]: each method is the type's own method of the same
/// name. Sealed: a type outside this crate cannot implement it, so that
/// methods can be added to it without breaking anyone. A reader that cannot
/// wait without reading (a TLS stream, a decompressor) has no such readiness
/// to wait on: give it [`read_pooled`].
pub trait ReadReady: sealed::Sealed {
    /// Waits until the socket may be readable: data, the end of the stream
    /// or an error is there to read. It may also return when nothing is, so
    /// a read after it can still find nothing (`WouldBlock`). As tokio's
    /// `TcpStream::readable`; cancel safe.
    fn readable(&self) -> impl Future<Output = io::Result<()>> + Send + '_;

    /// Reads what is there into `buf`, appending, without waiting: `Ok(0)`
    /// at the end of the stream, a [`io::ErrorKind::WouldBlock`] error if
    /// nothing is there (and then the next `readable` waits). As tokio's
    /// `TcpStream::try_read_buf`, which grows a full `buf` as `read_buf`
    /// does: the helpers of this module bound it to the spare capacity.
    ///
    /// # Errors
    ///
    /// `WouldBlock` if nothing is there to read; any error of the socket.
    fn try_read_buf<B: BufMut>(&self, buf: &mut B) -> io::Result<usize>;
}

mod sealed {
    pub trait Sealed {}
}

macro_rules! read_ready {
    ($($(#[$attr:meta])* $ty:ty),* $(,)?) => {$(
        $(#[$attr])*
        impl sealed::Sealed for $ty {}

        $(#[$attr])*
        impl ReadReady for $ty {
            #[inline]
            fn readable(&self) -> impl Future<Output = io::Result<()>> + Send + '_ {
                <$ty>::readable(self)
            }

            #[inline]
            fn try_read_buf<B: BufMut>(&self, buf: &mut B) -> io::Result<usize> {
                <$ty>::try_read_buf(self, buf)
            }
        }
    )*};
}

read_ready! {
    TcpStream,
    tcp::OwnedReadHalf,
    tcp::ReadHalf<'_>,
    #[cfg(unix)]
    #[cfg_attr(docsrs, doc(cfg(unix)))]
    UnixStream,
    #[cfg(unix)]
    #[cfg_attr(docsrs, doc(cfg(unix)))]
    unix::OwnedReadHalf,
    #[cfg(unix)]
    #[cfg_attr(docsrs, doc(cfg(unix)))]
    unix::ReadHalf<'_>,
}

/// Waits until `socket` is readable, and only then takes a buffer of at least
/// `min_capacity` bytes from `pool` and reads what is there into it, without
/// waiting: a connection waiting for data holds no buffer.
///
/// Returns `Some(buf)` with what was read (`1..=buf.capacity()` bytes: the
/// read fills at most the buffer's capacity, and never grows it), or `None`
/// at the end of the stream. If the socket turns out to have nothing to read
/// after all (readiness can be spurious, or another reader of the same
/// socket took the data), the buffer goes straight back to the pool and the
/// wait starts again; a read interrupted by a signal is retried the same
/// way. Each such round costs a get and a return, no allocation once the
/// pool is warm.
///
/// Compare `let mut buf = pool.get(n); socket.read_buf(&mut buf).await`,
/// which holds the buffer for as long as the read waits: one buffer per idle
/// connection, against none here. A frame that came in part is still held by
/// its reader between reads: append the rest with [`read_more_when_ready`].
///
/// For a task (`tokio::spawn` needs `'static`), use
/// [`read_owned_when_ready`] on an `Arc<BufPool>`, or pass the process-wide
/// pool, [`tierpool::global()`](crate::global), whose guards are
/// `'static`.
///
/// Cancel safe: the only wait is for readiness, and no buffer is held across
/// it, so dropping the future holds no buffer and loses no data; bytes read
/// are returned by the same poll that read them. With
/// [`Builder::track_callers`](crate::Builder::track_callers), each buffer it
/// takes is attributed to the line that called it.
///
/// # Errors
///
/// Any error of the socket, from the wait or from the read (other than
/// `WouldBlock` and `Interrupted`, which are retried). The buffer, if one was
/// taken, is back in the pool.
///
/// # Panics
///
/// As [`BufPool::get`], when called: if `min_capacity` is above the pool's
/// `max_request`.
///
/// # Examples
///
/// ```
/// use tokio::io::AsyncWriteExt;
/// use tokio::net::{TcpListener, TcpStream};
/// use tierpool::tokio::read_when_ready;
///
/// # tokio::runtime::Builder::new_current_thread().enable_io().build().unwrap().block_on(async {
/// let pool = tierpool::BufPool::new();
/// let listener = TcpListener::bind("127.0.0.1:0").await?;
/// let mut client = TcpStream::connect(listener.local_addr()?).await?;
/// let (socket, _) = listener.accept().await?;
/// client.write_all(b"hello, pool").await?;
/// drop(client); // then the end of the stream
///
/// let mut received = Vec::new();
/// // While this waits for data, it holds no buffer.
/// while let Some(buf) = read_when_ready(&socket, &pool, 64 * 1024).await? {
///     received.extend_from_slice(&buf);
/// } // each `buf` goes back to the pool here
/// assert_eq!(received, b"hello, pool");
/// assert_eq!(pool.stats().outstanding, 0);
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// ```
#[track_caller]
pub fn read_when_ready<'p, R: ReadReady>(
    socket: &R,
    pool: &'p BufPool,
    min_capacity: usize,
) -> impl Future<Output = io::Result<Option<PooledBuf<'p>>>> {
    pool.check_request(min_capacity);
    let caller = Location::caller();
    read_fresh(socket, move || pool.get_for(min_capacity, caller))
}

/// [`read_when_ready`] for a task: the buffer comes from
/// [`BufPool::get_owned`], so it is `'static` and the future can move into
/// `tokio::spawn` with the socket and the pool.
///
/// Everything else is as [`read_when_ready`]: the buffer is taken only once
/// the socket is readable, given back at once if there was nothing to read,
/// and `None` means the end of the stream. Cancel safe, holding no buffer
/// while it waits.
///
/// # Errors
///
/// As [`read_when_ready`].
///
/// # Panics
///
/// As [`BufPool::get_owned`], when called: if `min_capacity` is above the
/// pool's `max_request`.
///
/// # Examples
///
/// An echo task per connection, reading from the socket's read half:
///
/// ```
/// use std::sync::Arc;
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
/// use tokio::net::{TcpListener, TcpStream};
/// use tierpool::tokio::read_owned_when_ready;
///
/// # tokio::runtime::Builder::new_current_thread().enable_io().build().unwrap().block_on(async {
/// let pool = Arc::new(tierpool::BufPool::new());
/// let listener = TcpListener::bind("127.0.0.1:0").await?;
/// let mut client = TcpStream::connect(listener.local_addr()?).await?;
/// let (socket, _) = listener.accept().await?;
///
/// let echo = tokio::spawn({
///     let pool = Arc::clone(&pool);
///     async move {
///         let (reader, mut writer) = socket.into_split();
///         while let Some(buf) = read_owned_when_ready(&reader, &pool, 64 * 1024).await? {
///             writer.write_all(&buf).await?;
///         } // no buffer is held between messages
///         Ok::<_, std::io::Error>(())
///     }
/// });
///
/// client.write_all(b"ping").await?;
/// let mut reply = [0; 4];
/// client.read_exact(&mut reply).await?;
/// assert_eq!(&reply, b"ping");
/// drop(client);
/// echo.await.unwrap()?;
/// assert_eq!(pool.stats().outstanding, 0);
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// ```
#[track_caller]
pub fn read_owned_when_ready<R: ReadReady>(
    socket: &R,
    pool: &Arc<BufPool>,
    min_capacity: usize,
) -> impl Future<Output = io::Result<Option<PooledBuf<'static>>>> {
    pool.check_request(min_capacity);
    let caller = Location::caller();
    read_fresh(socket, move || pool.get_owned_for(min_capacity, caller))
}

/// Waits until `socket` is readable, then reads what is there into the
/// spare capacity of `buf`, appending, without waiting and without growing
/// it: for a framing loop that holds part of a frame and needs the rest.
///
/// Returns the number of bytes read; `Ok(0)` means end of stream, and only
/// that. Spurious readiness (nothing to read after all) and interrupted
/// reads are retried. The caller holds `buf` while this waits, so a
/// connection with a partial frame holds its buffer; once the frames in it
/// are consumed and it is empty, drop it and wait with [`read_when_ready`]
/// instead, holding none.
///
/// Cancel safe: if the future is dropped before it completes, nothing was
/// read into `buf`.
///
/// # Errors
///
/// - Any error of the socket, from the wait or the read.
/// - [`io::ErrorKind::OutOfMemory`] if `buf` has no spare capacity, at
///   once, without waiting: nothing is read. Consume bytes, move the partial
///   frame to a bigger buffer, or treat it as a frame-size limit, as with
///   [`read_pooled`].
///
/// # Examples
///
/// Length-prefixed frames: a frame that came in part gets the rest appended.
///
/// ```
/// use bytes::Buf;
/// use tokio::io::AsyncWriteExt;
/// use tokio::net::{TcpListener, TcpStream};
/// use tierpool::tokio::{read_more_when_ready, read_when_ready};
///
/// # tokio::runtime::Builder::new_current_thread().enable_io().build().unwrap().block_on(async {
/// let pool = tierpool::BufPool::new();
/// let listener = TcpListener::bind("127.0.0.1:0").await?;
/// let mut client = TcpStream::connect(listener.local_addr()?).await?;
/// let (socket, _) = listener.accept().await?;
/// let writer = tokio::spawn(async move {
///     for frame in [&b"one"[..], b"three", b"fifteen"] {
///         client.write_all(&[frame.len() as u8]).await?; // a prefix, then the frame:
///         client.write_all(frame).await?;                 // a frame may come in part
///     }
///     Ok::<_, std::io::Error>(())
/// });
///
/// let mut frames = Vec::new();
/// 'idle: while let Some(mut buf) = read_when_ready(&socket, &pool, 4096).await? {
///     loop {
///         // Take out every whole frame in `buf`.
///         while !buf.is_empty() && buf.len() > usize::from(buf[0]) {
///             let len = usize::from(buf.get_u8());
///             frames.push(buf.split_to(len).to_vec());
///         }
///         if buf.is_empty() {
///             continue 'idle; // nothing held: drop it and wait with none
///         }
///         // Part of a frame: keep it and append the rest.
///         if read_more_when_ready(&socket, &mut buf).await? == 0 {
///             break 'idle; // the stream ended inside a frame
///         }
///     }
/// }
/// writer.await.unwrap()?;
/// assert_eq!(frames, [&b"one"[..], b"three", b"fifteen"]);
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// ```
pub async fn read_more_when_ready<R: ReadReady>(socket: &R, buf: &mut PooledBuf<'_>) -> io::Result<usize> {
    if buf.capacity() == buf.len() {
        return Err(full(buf.capacity()));
    }
    loop {
        socket.readable().await?;
        match try_read_spare(socket, buf) {
            Err(e) if retry(&e) => continue,
            read => return read,
        }
    }
}

/// The wait and read of [`read_when_ready`] and [`read_owned_when_ready`],
/// with `take` for the get. No buffer is held across the one `await`.
async fn read_fresh<'p, R, F>(socket: &R, mut take: F) -> io::Result<Option<PooledBuf<'p>>>
where
    R: ReadReady,
    F: FnMut() -> PooledBuf<'p>,
{
    loop {
        socket.readable().await?;
        let mut buf = take();
        match try_read_spare(socket, &mut buf) {
            Ok(0) => return Ok(None),
            Ok(_) => return Ok(Some(buf)),
            // Nothing there after all: `buf` goes back here, before the wait.
            Err(e) if retry(&e) => continue,
            Err(e) => return Err(e),
        }
    }
}

/// `socket.try_read_buf` into the spare capacity of `buf` only, as
/// [`read_pooled`] bounds `read_buf`.
fn try_read_spare<R: ReadReady>(socket: &R, buf: &mut PooledBuf<'_>) -> io::Result<usize> {
    let spare = buf.capacity() - buf.len();
    if spare == 0 {
        // A fresh buffer always has room; a caller's may not.
        return Err(full(buf.capacity()));
    }
    // As in `read_pooled`: with `spare > 0`, the limited `chunk_mut` never
    // reserves, so the buffer cannot grow, and the guard stays pristine.
    let inner: &mut BytesMut = buf.writable(spare);
    socket.try_read_buf(&mut inner.limit(spare))
}

/// A read that found nothing after all, or was interrupted: wait and try
/// again. (tokio clears the readiness on `WouldBlock`, so the next wait
/// really waits; after `Interrupted` it is still set, and the read is retried
/// at once.)
fn retry(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted)
}

#[cold]
fn full(capacity: usize) -> io::Error {
    io::Error::new(
        io::ErrorKind::OutOfMemory,
        format!("tierpool: the buffer is full ({capacity} bytes); consume bytes before reading again"),
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
    every(period, move || pool.decay())
}

/// Spawns a task that runs `f` every `period` (a missed tick is delayed,
/// not made up in a burst).
fn every(period: Duration, f: impl Fn() + Send + 'static) -> ::tokio::task::JoinHandle<()> {
    ::tokio::spawn(async move {
        let mut ticks = ::tokio::time::interval(period);
        ticks.set_missed_tick_behavior(::tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            f();
        }
    })
}

/// Spawns a task on the current tokio runtime that calls
/// [`BufPool::export_metrics`] every `period`, so a scrape sees figures at
/// most `period` old. Features `tokio` and `metrics`. The task holds the
/// pool until it is aborted or the runtime shuts down.
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
/// let pool = Arc::new(tierpool::BufPool::builder().name("uploads").build().unwrap());
/// let export = tierpool::tokio::spawn_metrics(Arc::clone(&pool), Duration::from_secs(10));
/// // ... serve; a metrics exporter installed as the recorder publishes them.
/// export.abort();
/// # }
/// ```
#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
pub fn spawn_metrics(pool: Arc<BufPool>, period: Duration) -> ::tokio::task::JoinHandle<()> {
    assert!(!period.is_zero(), "tierpool: spawn_metrics needs a non-zero period");
    every(period, move || pool.export_metrics())
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
