//! Large payloads: [`PooledChain`], a buffer made of pooled chunks of one
//! tier, which grows by appending a chunk, never by reallocating and
//! copying.

use std::collections::VecDeque;
use std::panic::Location;

use bytes::{Bytes, BytesMut};

use crate::admission::Pay;
use crate::buffer::{Origin, Pooled};
use crate::cache::Taken;
use crate::engine::Engine;
use crate::error::ChainError;
use crate::guard::{PoolRef, PooledBuf};
use crate::{checkout, recycle, registry};

/// A buffer made of pooled chunks of one tier, for payloads larger than any
/// tier: a serialized document of several MiB, a request body, a log batch.
///
/// Writing (`BufMut`, `io::Write`, `fmt::Write`) fills the last chunk; when
/// it is full, the chain appends a fresh chunk from the pool. Nothing is
/// reallocated and no byte is written twice, however large the payload.
/// Reading (`Buf`) goes from the front; a chunk read to its end goes back to
/// the pool at once, and `chunks_vectored` fills `IoSlice`s so that
/// `write_vectored`/`write_all_buf` send the chain without copying. When
/// the chain drops, its chunks go back to the pool.
///
/// From [`BufPool::chain`](crate::BufPool::chain) (or `chain_owned`, for a
/// `'static` chain). A chain may carry a length limit
/// ([`with_limit`](Self::with_limit)): a write past it is a
/// [`ChainError::LimitExceeded`], and what was written stays.
///
/// # Examples
///
/// ```
/// use std::io::Write;
///
/// let pool = tierpool::BufPool::new();
/// let mut body = pool.chain(64 * 1024); // chunks of the 64 KiB tier
/// for i in 0..10_000 {
///     write!(body, "{{\"id\":{i},\"name\":\"user-{i}\"}},")?;
/// }
/// assert!(body.len() > 300_000 && body.chunk_count() >= 5);
/// let bytes = body.freeze(); // one exact-size copy; the chunks go back
/// assert!(bytes.starts_with(b"{\"id\":0,"));
/// # Ok::<(), std::io::Error>(())
/// ```
#[must_use = "dropping a PooledChain returns its chunks to the pool at once"]
pub struct PooledChain<'a> {
    /// The chunks before the tail, oldest first. Each has unread bytes; each
    /// was filled to its capacity, and the first may have been read from its
    /// front. The list comes from, and goes back to, this thread's spare
    /// list (`SPARE_LIST`), so a chain in steady state allocates nothing.
    full: VecDeque<Chunk>,
    /// Unread bytes in `full`.
    full_len: usize,
    /// The chunk writes go to, out of its box, so that a write costs what a
    /// write into a `Vec` does. `BytesMut::new()` (capacity 0) when there is
    /// no tail. Only this module touches it, and never past its spare
    /// capacity, so it is never reallocated.
    tail: BytesMut,
    /// The tail's box (holding an empty `BytesMut`) and guard facts; `None`
    /// when there is no tail.
    home: Option<Chunk>,
    /// Writes into the tail may take its length up to here:
    /// `min(tail.capacity() - tail_extra, limit - full_len)`. Kept by
    /// `refresh_end` after every change but a write within it.
    tail_end: usize,
    /// How much more than `chunk_size` the tail's allocation holds (a
    /// re-tiered or chaos buffer): writes leave it unused, so that no chunk
    /// ever holds more than `chunk_size` bytes, whatever the tier hands out.
    tail_extra: usize,
    /// Where chunks come from and go back to.
    pool: PoolRef<'a>,
    /// The tier of the chunks, and its size.
    tier: usize,
    chunk_size: usize,
    /// The most bytes the chain may hold (`usize::MAX`: no limit).
    limit: usize,
    /// Room already charged to a pool with `max_outstanding_bytes` for chunks
    /// not yet taken (`try_extend_from_slice`, `tokio::read_chain`); settled
    /// when the chain drops.
    prepaid: usize,
    /// The call site that made the chain, to which its chunks are attributed
    /// (`Builder::track_callers`).
    caller: &'static Location<'static>,
}

/// A pooled buffer checked out by a chain: what a `PooledBuf` holds, without
/// the pool reference, which the chain holds once for all its chunks.
struct Chunk {
    buf: Pooled,
    origin: Origin,
    /// As `PooledBuf`'s: the storage is exactly what the pool handed out.
    pristine: bool,
    /// Its charge against `max_outstanding_bytes` (0: none), as a guard's.
    charge: u32,
}

/// The most chunks a spare list may have room for, so that what a thread
/// keeps between chains is bounded: 1024 entries of 16 bytes.
const SPARE_LIST_MAX: usize = 1024;

std::thread_local! {
    /// An empty chunk list with capacity, kept for this thread's next chain.
    static SPARE_LIST: core::cell::Cell<VecDeque<Chunk>> = const { core::cell::Cell::new(VecDeque::new()) };
}

// === impl PooledChain ===

impl<'a> PooledChain<'a> {
    pub(crate) fn new(pool: PoolRef<'a>, tier: usize, caller: &'static Location<'static>) -> Self {
        let chunk_size = pool.engine().config().size(tier);
        Self {
            full: VecDeque::new(),
            full_len: 0,
            tail: BytesMut::new(),
            home: None,
            tail_end: 0,
            tail_extra: 0,
            pool,
            tier,
            chunk_size,
            limit: usize::MAX,
            prepaid: 0,
            caller,
        }
    }

    /// Caps the chain at `limit` bytes: a write past it is a
    /// [`ChainError::LimitExceeded`] (through `io::Write`, an `io::Error` of
    /// kind `FileTooLarge` that wraps it) and writes nothing more; what was
    /// written stays. For a server that must cap a request body.
    ///
    /// # Examples
    ///
    /// ```
    /// use tierpool::ChainError;
    ///
    /// let pool = tierpool::BufPool::new();
    /// let mut body = pool.chain(4096).with_limit(10_000);
    /// body.try_extend_from_slice(&[1; 8000])?;
    /// let err = body.try_extend_from_slice(&[2; 8000]).unwrap_err();
    /// assert_eq!(err, ChainError::LimitExceeded { limit: 10_000 });
    /// assert_eq!(body.len(), 8000, "what was written stays");
    /// # Ok::<(), ChainError>(())
    /// ```
    ///
    /// # Panics
    ///
    /// If `limit` is below what the chain already holds.
    pub fn with_limit(mut self, limit: usize) -> Self {
        assert!(limit >= self.len(), "with_limit({limit}) is below the {} bytes the chain holds", self.len());
        self.limit = limit;
        self.refresh_end();
        self
    }

    /// Bytes written and not yet read.
    #[must_use]
    #[inline]
    pub fn len(&self) -> usize {
        self.full_len + self.tail.len()
    }

    /// Whether there is nothing to read.
    #[must_use]
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The size of each chunk: the tier's size. No chunk holds more, even
    /// when the tier hands out a larger buffer (one that grew and was pooled
    /// again): the rest of its capacity stays unused.
    #[must_use]
    pub fn chunk_size(&self) -> usize {
        self.chunk_size
    }

    /// The chunks held (the pool's buffers checked out by this chain).
    #[must_use]
    pub fn chunk_count(&self) -> usize {
        self.full.len() + usize::from(self.home.is_some())
    }

    /// The chain's length limit, if it has one
    /// ([`with_limit`](Self::with_limit)).
    #[must_use]
    pub fn max_len(&self) -> Option<usize> {
        (self.limit != usize::MAX).then_some(self.limit)
    }

    /// The chunks' bytes, in order, as slices.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tierpool::BufPool::builder().tiers(&[16]).build()?;
    /// let mut chain = pool.chain(16);
    /// chain.extend_from_slice(&[7; 40]);
    /// let lens: Vec<usize> = chain.chunks().map(<[u8]>::len).collect();
    /// assert_eq!(lens, [16, 16, 8]);
    /// # Ok::<(), tierpool::ConfigError>(())
    /// ```
    pub fn chunks(&self) -> impl DoubleEndedIterator<Item = &[u8]> + ExactSizeIterator + '_ {
        let tail = self.home.as_ref().map(|_| &self.tail[..]);
        Chunks { full: self.full.iter(), tail }
    }

    /// Appends `src`, spreading it over as many chunks as it needs.
    ///
    /// # Panics
    ///
    /// If the chain has a limit and `src` would take it past it (use
    /// [`try_extend_from_slice`](Self::try_extend_from_slice) for an error).
    #[track_caller]
    #[inline]
    pub fn extend_from_slice(&mut self, src: &[u8]) {
        if !self.append_in_place(src)
            && let Err(err) = self.extend_slow(src)
        {
            limit_panic(err);
        }
    }

    /// Appends `src`, or, if that would take the chain past its limit,
    /// appends nothing and returns [`ChainError::LimitExceeded`].
    ///
    /// # Errors
    ///
    /// - [`ChainError::LimitExceeded`] if `len() + src.len()` is above the
    ///   limit.
    /// - [`ChainError::WouldWait`] if the pool has a
    ///   [`max_outstanding_bytes`](crate::Builder::max_outstanding_bytes)
    ///   without room now for the chunks `src` needs. (`extend_from_slice`,
    ///   `io::Write` and `BufMut` take their chunks regardless, as `get`
    ///   does, counted as overdrafts.)
    #[inline]
    pub fn try_extend_from_slice(&mut self, src: &[u8]) -> Result<(), ChainError> {
        if self.append_in_place(src) {
            return Ok(());
        }
        self.extend_paying(src, Pay::Try)
    }

    /// Returns every chunk to the pool and empties the chain, which keeps its
    /// limit and its list of chunks, and can be written again without
    /// allocating.
    pub fn clear(&mut self) {
        self.release_tail();
        while let Some(chunk) = self.full.pop_front() {
            self.give_back(chunk);
        }
        self.full_len = 0;
        self.refresh_end();
    }

    /// Copies the contents out into one exact-size [`Bytes`] and returns
    /// every chunk to the pool at once. The `Bytes` aliases no pool memory.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tierpool::BufPool::new();
    /// let mut chain = pool.chain(4096);
    /// chain.extend_from_slice(&[9; 10_000]);
    /// let bytes = chain.freeze();
    /// assert_eq!(bytes.len(), 10_000);
    /// assert_eq!(pool.stats().outstanding, 0);
    /// ```
    #[must_use = "freeze returns the frozen copy"]
    pub fn freeze(self) -> Bytes {
        let mut out = BytesMut::with_capacity(self.len());
        for chunk in self.chunks() {
            out.extend_from_slice(chunk);
        }
        out.freeze()
    }

    /// Copies the contents into one pooled buffer of the smallest tier that
    /// holds them, and returns every chunk to the pool; gives the chain back
    /// if no tier is large enough.
    ///
    /// # Errors
    ///
    /// The chain itself, unchanged, if `len()` is above the largest tier.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tierpool::BufPool::new();
    /// let mut chain = pool.chain(4096);
    /// chain.extend_from_slice(&[1; 10_000]);
    /// let buf = chain.into_contiguous().unwrap();
    /// assert_eq!((buf.len(), buf.tier_size()), (10_000, Some(65536)));
    /// ```
    #[allow(clippy::result_large_err, reason = "gives the chain back unchanged, as `Arc::try_unwrap` does")]
    #[track_caller]
    pub fn into_contiguous(self) -> Result<PooledBuf<'a>, Self> {
        let engine: &Engine = self.pool.engine();
        let Some(tier) = engine.config().tier_for_request(self.len()) else { return Err(self) };
        let Ok(Taken { buf, origin, pristine, charge }) =
            checkout::take(engine, tier, false, Location::caller(), Pay::Force)
        else {
            unreachable!("an infallible, forced take")
        };
        let mut out = PooledBuf::charged(buf, origin, pristine, self.pool.clone(), charge);
        for chunk in self.chunks() {
            out.extend_from_slice(chunk);
        }
        Ok(out)
    }

    /// The contents as `Bytes`, one per chunk, without copying: each takes
    /// its chunk out of the pool until its last clone drops, on whichever
    /// thread that is (`Bytes::from_owner`, one small allocation each). For
    /// a sink that takes a list of `Bytes`.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = std::sync::Arc::new(tierpool::BufPool::new());
    /// let mut chain = pool.chain_owned(4096);
    /// chain.extend_from_slice(&[5; 10_000]);
    /// let pieces = chain.into_pieces();
    /// assert_eq!(pieces.iter().map(|b| b.len()).collect::<Vec<_>>(), [4096, 4096, 1808]);
    /// assert_eq!(pool.stats().outstanding, 3);
    /// drop(pieces);
    /// assert_eq!(pool.stats().outstanding, 0);
    /// ```
    #[must_use = "into_pieces returns the Bytes"]
    #[track_caller]
    pub fn into_pieces(mut self) -> Vec<Bytes>
    where
        'a: 'static,
    {
        self.seal_tail();
        self.full_len = 0;
        let mut pieces = Vec::with_capacity(self.full.len());
        while let Some(Chunk { buf, origin, pristine, charge }) = self.full.pop_front() {
            pieces.push(PooledBuf::charged(buf, origin, pristine, self.pool.clone(), charge).into_shared());
        }
        pieces
    }
}

// === the write and read paths, for the trait impls (`impls/chain.rs`) ===

impl PooledChain<'_> {
    /// The fast path of every write: `src` fits in the tail's spare capacity
    /// and below the limit. Returns `false`, having written nothing,
    /// otherwise.
    ///
    /// The copy is by hand: `BytesMut::extend_from_slice` here repeats the
    /// capacity check (which `tail_end` already implies), and both it and a
    /// safe helper that checks the capacity itself cost more instructions per
    /// serialized document (notes/benchmarks-notebook.md, *Engine history*).
    #[inline]
    #[allow(unsafe_code)]
    pub(crate) fn append_in_place(&mut self, src: &[u8]) -> bool {
        let len = self.tail.len();
        if src.len() > self.tail_end - len {
            return false;
        }
        let spare = self.tail.spare_capacity_mut();
        // SAFETY:
        // - `src.len() <= tail_end - len <= capacity - len = spare.len()`
        //   (`refresh_end` keeps `tail_end <= tail.capacity()`, and only this
        //   module changes either): the copy stays within the spare capacity,
        //   whose pointer carries the provenance for it (the `[u8]` view's
        //   pointer covers only `0..len`, and Miri's Stacked Borrows rejects
        //   writing through it).
        // - `src` is a shared borrow and the tail is the chain's own: they do
        //   not overlap.
        // - `set_len` then covers only initialised bytes, within capacity.
        unsafe {
            core::ptr::copy_nonoverlapping(src.as_ptr(), spare.as_mut_ptr().cast::<u8>(), src.len());
            self.tail.set_len(len + src.len());
        }
        true
    }

    #[inline(never)]
    fn extend_slow(&mut self, src: &[u8]) -> Result<(), ChainError> {
        self.extend_paying(src, Pay::Force)
    }

    /// Appends `src`, all of it or, refused, nothing. With [`Pay::Try`] in a
    /// pool with `max_outstanding_bytes`, the chunks it needs are charged
    /// first, all together.
    fn extend_paying(&mut self, mut src: &[u8], pay: Pay) -> Result<(), ChainError> {
        if src.len() > self.room() {
            return Err(ChainError::LimitExceeded { limit: self.limit });
        }
        if pay == Pay::Try {
            self.reserve_chunks(src.len())?;
        }
        while !src.is_empty() {
            let n = src.len().min(self.writable_tail());
            self.tail.extend_from_slice(&src[..n]);
            src = &src[n..];
        }
        Ok(())
    }

    /// In a pool with `max_outstanding_bytes`, charges now, or refuses, the
    /// chunks that a write of `len` more bytes needs beyond the tail's spare
    /// room and what is already prepaid.
    fn reserve_chunks(&mut self, len: usize) -> Result<(), ChainError> {
        let engine: &Engine = self.pool.engine();
        if engine.admission().is_none() {
            return Ok(());
        }
        let chunks = len.saturating_sub(self.tail_spare()).div_ceil(self.chunk_size);
        let charge = (chunks * self.chunk_size).saturating_sub(self.prepaid);
        if charge > 0 {
            if !registry::reserve(engine, charge) {
                if let Some(admission) = engine.admission() {
                    admission.count_would_wait();
                }
                return Err(ChainError::WouldWait { charge });
            }
            self.prepaid += charge;
        }
        Ok(())
    }

    /// Whether the next write needs a chunk that is not yet paid for, in a
    /// pool with `max_outstanding_bytes` (`tokio::read_chain`, which then
    /// waits for room).
    #[cfg(feature = "tokio")]
    pub(crate) fn needs_room(&self) -> bool {
        self.pool.engine().admission().is_some()
            && self.tail_spare() == 0
            && self.room() > 0
            && self.prepaid < self.chunk_size
    }

    /// Makes room for the next chunk: charged at once if the limit has room,
    /// else after a wait, first come first served. Dropped while waiting, it
    /// takes nothing.
    #[cfg(feature = "tokio")]
    pub(crate) async fn wait_for_room(&mut self) {
        let engine: &Engine = self.pool.engine();
        let Some(admission) = engine.admission() else { return };
        let need = self.chunk_size - self.prepaid.min(self.chunk_size);
        if !registry::reserve(engine, need) {
            admission.wait_for(need, engine.allowances()).await;
        }
        self.prepaid += need;
    }

    /// Makes room in the tail, if the chain is below its limit: seals a full
    /// tail into `full` and takes a fresh chunk. Returns how many bytes the
    /// tail may take now; 0 only at the limit.
    pub(crate) fn writable_tail(&mut self) -> usize {
        if self.tail_end == self.tail.len() && self.room() > 0 {
            self.seal_tail();
            let engine: &Engine = self.pool.engine();
            let pay = if self.prepaid >= self.chunk_size {
                self.prepaid -= self.chunk_size;
                Pay::Prepaid(self.chunk_size)
            } else {
                Pay::Force
            };
            let Ok(Taken { mut buf, origin, pristine, charge }) =
                checkout::take(engine, self.tier, false, self.caller, pay)
            else {
                unreachable!("an infallible take never refused")
            };
            self.tail = core::mem::take(&mut *buf);
            self.tail_extra = self.tail.capacity() - self.chunk_size;
            self.home = Some(Chunk { buf, origin, pristine, charge });
            self.refresh_end();
        }
        self.tail_end - self.tail.len()
    }

    /// Gives back a tail that holds nothing: one taken for a read that then
    /// waited, failed or found the end of the stream (`tokio::read_chain`).
    /// In a pool with `max_outstanding_bytes`, the chain then takes room for
    /// its next chunk again if the limit has it and nobody waits for it, so
    /// that the read need not queue again.
    #[cfg(feature = "tokio")]
    pub(crate) fn release_empty_tail(&mut self) {
        if self.home.is_some() && self.tail.is_empty() {
            self.release_tail();
            self.refresh_end();
            let engine: &Engine = self.pool.engine();
            if engine.admission().is_some() && self.prepaid < self.chunk_size {
                let need = self.chunk_size - self.prepaid;
                if registry::reserve(engine, need) {
                    self.prepaid += need;
                }
            }
        }
    }

    /// The tail, to write at most [`tail_spare`](Self::tail_spare) bytes
    /// into its spare capacity.
    pub(crate) fn tail_mut(&mut self) -> &mut BytesMut {
        &mut self.tail
    }

    /// Bytes that may still be written into the tail.
    pub(crate) fn tail_spare(&self) -> usize {
        self.tail_end - self.tail.len()
    }

    /// Bytes that may still be written before the limit.
    pub(crate) fn room(&self) -> usize {
        self.limit - self.len()
    }

    /// The bytes reads come from: the first chunk with unread bytes.
    pub(crate) fn front(&self) -> &[u8] {
        self.full.front().map_or(&self.tail[..], |c| &c.buf[..])
    }

    /// Consumes `n` bytes from the front; chunks read to their end go back to
    /// the pool, and so does the tail once the chain is empty.
    ///
    /// # Panics
    ///
    /// If `n > len()`.
    pub(crate) fn consume(&mut self, mut n: usize) {
        assert!(n <= self.len(), "cannot advance past `remaining`: {n} <= {}", self.len());
        while n > 0 {
            let Some(front) = self.full.front_mut() else {
                bytes::Buf::advance(&mut self.tail, n);
                if let Some(home) = &mut self.home {
                    home.pristine = false; // the view moved: the return checks it
                }
                break;
            };
            let take = n.min(front.buf.len());
            if take == front.buf.len() {
                let chunk = self.full.pop_front().expect("the front chunk");
                self.give_back(chunk); // read to its end
            } else {
                bytes::Buf::advance(&mut *front.buf, take);
                front.pristine = false;
            }
            self.full_len -= take;
            n -= take;
        }
        if self.is_empty() {
            self.release_tail();
        }
        self.refresh_end();
    }

    /// The readable bytes as `IoSlice`s, for a vectored write.
    pub(crate) fn fill_io_slices<'b>(&'b self, dst: &mut [std::io::IoSlice<'b>]) -> usize {
        let tail = (!self.tail.is_empty()).then_some(&self.tail[..]);
        let readable = self.full.iter().map(|c| &c.buf[..]).chain(tail);
        let mut n = 0;
        for (slot, chunk) in dst.iter_mut().zip(readable) {
            *slot = std::io::IoSlice::new(chunk);
            n += 1;
        }
        n
    }

    fn refresh_end(&mut self) {
        // After reads from the tail's front, `capacity()` counts from the
        // read position, and so does this: the chunk still ends at
        // `chunk_size` from where it started.
        self.tail_end = (self.tail.capacity() - self.tail_extra).min(self.limit - self.full_len);
    }

    /// The tail back in its box, leaving the chain without one.
    fn take_tail(&mut self) -> Option<Chunk> {
        let mut home = self.home.take()?;
        *home.buf = core::mem::take(&mut self.tail);
        (self.tail_end, self.tail_extra) = (0, 0);
        Some(home)
    }

    /// Moves the tail, if it has unread bytes, to the end of `full`; an empty
    /// tail goes back to the pool.
    fn seal_tail(&mut self) {
        let Some(chunk) = self.take_tail() else { return };
        if chunk.buf.is_empty() {
            return self.give_back(chunk);
        }
        if self.full.capacity() == 0 {
            // `try_with`: during thread exit the spare list may be gone.
            self.full = SPARE_LIST.try_with(core::cell::Cell::take).unwrap_or_default();
        }
        self.full_len += chunk.buf.len();
        self.full.push_back(chunk);
    }

    fn release_tail(&mut self) {
        if let Some(chunk) = self.take_tail() {
            self.give_back(chunk);
        }
    }

    /// A chunk's return: the path of a dropped guard.
    fn give_back(&self, Chunk { buf, origin, pristine, charge }: Chunk) {
        recycle::give_back(self.pool.engine(), origin, buf, pristine && charge == 0, charge);
    }
}

/// Returns every chunk, and keeps the chunk list for this thread's next
/// chain if it is the larger spare and not above `SPARE_LIST_MAX`.
impl Drop for PooledChain<'_> {
    fn drop(&mut self) {
        self.clear();
        if self.prepaid > 0 {
            registry::settle(self.pool.engine(), core::mem::take(&mut self.prepaid));
        }
        let list = core::mem::take(&mut self.full);
        if list.capacity() > 0 && list.capacity() <= SPARE_LIST_MAX {
            // `try_with`: during thread exit the spare list may be gone.
            let _ = SPARE_LIST.try_with(|spare| {
                let old = spare.take();
                spare.set(if old.capacity() >= list.capacity() { old } else { list });
            });
        }
    }
}

#[cold]
#[track_caller]
fn limit_panic(err: ChainError) -> ! {
    panic!("tierpool: {err}; use try_extend_from_slice to handle it as an error");
}

/// Shows the chunk size, length, chunk count and limit, never the contents.
impl core::fmt::Debug for PooledChain<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PooledChain")
            .field("chunk_size", &self.chunk_size)
            .field("len", &self.len())
            .field("chunks", &self.chunk_count())
            .field("max_len", &self.max_len())
            .finish()
    }
}

/// [`PooledChain::chunks`]: the full chunks, then the tail.
struct Chunks<'c> {
    full: std::collections::vec_deque::Iter<'c, Chunk>,
    tail: Option<&'c [u8]>,
}

impl<'c> Iterator for Chunks<'c> {
    type Item = &'c [u8];

    fn next(&mut self) -> Option<&'c [u8]> {
        self.full.next().map(|c| &c.buf[..]).or_else(|| self.tail.take())
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.full.len() + usize::from(self.tail.is_some());
        (n, Some(n))
    }
}

impl DoubleEndedIterator for Chunks<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.tail.take().or_else(|| self.full.next_back().map(|c| &c.buf[..]))
    }
}

impl ExactSizeIterator for Chunks<'_> {}
