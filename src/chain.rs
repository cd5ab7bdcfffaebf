//! Large payloads: [`PooledChain`], a buffer made of pooled chunks of one
//! tier, which grows by appending a chunk, never by reallocating and
//! copying.

use std::collections::VecDeque;
use std::panic::Location;

use bytes::{Bytes, BytesMut};

use crate::engine::Engine;
use crate::error::ChainError;
use crate::guard::{PoolRef, PooledBuf};
use crate::local;

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
    /// The chunks, oldest first; each but the last is full, and the first
    /// may have been read from its front.
    chunks: VecDeque<PooledBuf<'a>>,
    /// Where new chunks come from.
    pool: PoolRef<'a>,
    /// The tier of the chunks, and its size.
    tier: usize,
    chunk_size: usize,
    /// Bytes written and not read yet.
    len: usize,
    /// The most bytes the chain may hold (`usize::MAX`: no limit).
    limit: usize,
    /// The call site that made the chain, to which its chunks are attributed
    /// (`Builder::track_callers`).
    caller: &'static Location<'static>,
}

// === impl PooledChain ===

impl<'a> PooledChain<'a> {
    pub(crate) fn new(pool: PoolRef<'a>, tier: usize, caller: &'static Location<'static>) -> Self {
        let chunk_size = pool.engine().config().sizes[tier];
        Self { chunks: VecDeque::new(), pool, tier, chunk_size, len: 0, limit: usize::MAX, caller }
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
    pub fn with_limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// Bytes written and not yet read.
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there is nothing to read.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The size of each chunk: the tier's size.
    #[must_use]
    pub fn chunk_size(&self) -> usize {
        self.chunk_size
    }

    /// The chunks held (the pool's buffers checked out by this chain).
    #[must_use]
    pub fn chunk_count(&self) -> usize {
        self.chunks.len()
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
        self.chunks.iter().map(|c| &c[..])
    }

    /// Appends `src`, spreading it over as many chunks as it needs.
    ///
    /// # Panics
    ///
    /// If the chain has a limit and `src` would take it past it (use
    /// [`try_extend_from_slice`](Self::try_extend_from_slice) for an error).
    #[track_caller]
    pub fn extend_from_slice(&mut self, src: &[u8]) {
        if let Err(err) = self.try_extend_from_slice(src) {
            panic!("tierpool: {err}; use try_extend_from_slice to handle it as an error");
        }
    }

    /// Appends `src`, or, if that would take the chain past its limit,
    /// appends nothing and returns [`ChainError::LimitExceeded`].
    ///
    /// # Errors
    ///
    /// [`ChainError::LimitExceeded`] if `len() + src.len()` is above the limit.
    pub fn try_extend_from_slice(&mut self, mut src: &[u8]) -> Result<(), ChainError> {
        if src.len() > self.limit - self.len {
            return Err(ChainError::LimitExceeded { limit: self.limit });
        }
        while !src.is_empty() {
            let last = self.writable_chunk();
            let n = src.len().min(last.capacity() - last.len());
            last.extend_from_slice(&src[..n]);
            self.len += n;
            src = &src[n..];
        }
        Ok(())
    }

    /// The chunk writes go to: the last one, or a fresh one when it is full.
    /// Its spare capacity is never zero, so a `BytesMut` write into it never
    /// reallocates.
    pub(crate) fn writable_chunk(&mut self) -> &mut PooledBuf<'a> {
        let full = self.chunks.back().is_none_or(|c| c.len() == c.capacity());
        if full {
            let chunk = self.fresh_chunk();
            self.chunks.push_back(chunk);
        }
        self.chunks.back_mut().expect("a chunk was just ensured")
    }

    fn fresh_chunk(&self) -> PooledBuf<'a> {
        let engine: &Engine = self.pool.engine();
        let Ok((buf, origin, pristine)) = local::take(engine, self.tier, false, self.caller) else {
            unreachable!("an infallible take")
        };
        PooledBuf::new(buf, origin, pristine, self.pool.clone())
    }

    /// Bytes that may still be written before the limit.
    pub(crate) fn room(&self) -> usize {
        self.limit - self.len
    }

    /// Counts `n` bytes written into the last chunk's spare capacity.
    pub(crate) fn wrote(&mut self, n: usize) {
        self.len += n;
    }

    /// The chunk reads come from, if any has unread bytes.
    pub(crate) fn front(&self) -> Option<&PooledBuf<'a>> {
        self.chunks.front()
    }

    /// Consumes `n` bytes from the front; chunks read to their end go back to
    /// the pool.
    ///
    /// # Panics
    ///
    /// If `n > len()`.
    pub(crate) fn consume(&mut self, mut n: usize) {
        assert!(n <= self.len, "cannot advance past `remaining`: {n} <= {}", self.len);
        self.len -= n;
        while n > 0 {
            let count = self.chunks.len();
            let front = self.chunks.front_mut().expect("len counts the chunks' bytes");
            let take = n.min(front.len());
            if take == front.len() && (count > 1 || self.len == 0) {
                self.chunks.pop_front(); // read to its end: back to the pool
            } else {
                bytes::Buf::advance(front, take);
            }
            n -= take;
        }
        // A last chunk read to its end stays only if it has room to write.
        if self.len == 0 {
            self.chunks.clear();
        }
    }

    /// The readable bytes as `IoSlice`s, for a vectored write.
    pub(crate) fn fill_io_slices<'b>(&'b self, dst: &mut [std::io::IoSlice<'b>]) -> usize {
        let mut n = 0;
        for (slot, chunk) in dst.iter_mut().zip(self.chunks.iter().filter(|c| !c.is_empty())) {
            *slot = std::io::IoSlice::new(chunk);
            n += 1;
        }
        n
    }

    /// Returns every chunk to the pool and empties the chain, which keeps its
    /// limit and can be written again; its list of chunks keeps its
    /// capacity, so a chain reused this way allocates nothing.
    pub fn clear(&mut self) {
        self.chunks.clear();
        self.len = 0;
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
        let mut out = BytesMut::with_capacity(self.len);
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
    pub fn into_contiguous(self) -> Result<PooledBuf<'a>, Self> {
        let engine: &Engine = self.pool.engine();
        let Some(tier) = engine.config().tier_for_request(self.len) else { return Err(self) };
        let Ok((buf, origin, pristine)) = local::take(engine, tier, false, self.caller) else {
            unreachable!("an infallible take")
        };
        let mut out = PooledBuf::new(buf, origin, pristine, self.pool.clone());
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
    pub fn into_pieces(mut self) -> Vec<Bytes>
    where
        'a: 'static,
    {
        let chunks = core::mem::take(&mut self.chunks);
        chunks.into_iter().filter(|c| !c.is_empty()).map(PooledBuf::into_shared).collect()
    }
}

/// Shows the chunk size, length, chunk count and limit, never the contents.
impl core::fmt::Debug for PooledChain<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PooledChain")
            .field("chunk_size", &self.chunk_size)
            .field("len", &self.len)
            .field("chunks", &self.chunks.len())
            .field("max_len", &self.max_len())
            .finish()
    }
}
