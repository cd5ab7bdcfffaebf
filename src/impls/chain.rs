//! `BufMut`, `Buf`, `io::Write` and `fmt::Write` for [`PooledChain`].

use core::fmt;
use std::io;

use bytes::buf::UninitSlice;
use bytes::{Buf, BufMut};

use crate::chain::PooledChain;

// === impl BufMut ===

/// Writes into the last chunk's spare capacity; when that is full, the next
/// `chunk_mut` appends a fresh chunk. No chunk ever grows, so nothing is
/// reallocated or copied. With a limit, `remaining_mut` is the room left
/// below it, and `chunk_mut` never offers more; tokio's `read_buf` then
/// reads nothing at the limit (see `tierpool::tokio::read_chain` for a read
/// that says so).
///
/// # Examples
///
/// ```
/// use bytes::BufMut;
///
/// let pool = tierpool::BufPool::builder().tiers(&[8]).build()?;
/// let mut chain = pool.chain(8);
/// chain.put_u64(1);
/// chain.put_u32(2); // a second chunk
/// assert_eq!(chain.chunk_count(), 2);
/// # Ok::<(), tierpool::ConfigError>(())
/// ```
// SAFETY:
// - `chunk_mut` returns (a prefix of) the spare capacity of the chain's tail,
//   taking a fresh tail first if needed, and `advance_mut` advances that same
//   tail, within the same bound: nothing can replace the tail in between
//   (`&mut self`), so the two describe one buffer, as the contract requires.
// - `remaining_mut` never exceeds what writes may still add: the room below
//   the limit, and at most `isize::MAX - len`.
unsafe impl BufMut for PooledChain<'_> {
    #[inline]
    fn remaining_mut(&self) -> usize {
        self.room().min(isize::MAX as usize - self.len())
    }

    #[inline]
    unsafe fn advance_mut(&mut self, cnt: usize) {
        let spare = self.tail_spare();
        assert!(cnt <= spare, "advance out of bounds: {cnt} > {spare}, the room `chunk_mut` offered");
        // SAFETY:
        // - The caller guarantees that the first `cnt` bytes of the slice last
        //   returned by `self.chunk_mut()` are initialised.
        // - That slice is the spare capacity of this same tail (the safety
        //   comment above), and `cnt` is within it.
        unsafe { self.tail_mut().advance_mut(cnt) };
    }

    #[inline]
    fn chunk_mut(&mut self) -> &mut UninitSlice {
        let n = self.writable_tail();
        if n == 0 {
            // At the limit. (The tail's own `chunk_mut` would reserve.)
            return UninitSlice::new(&mut []);
        }
        // The tail has `n > 0` bytes of spare capacity, so this never reserves.
        &mut self.tail_mut().chunk_mut()[..n]
    }

    #[track_caller]
    #[inline]
    fn put_slice(&mut self, src: &[u8]) {
        self.extend_from_slice(src);
    }
}

// === impl Buf ===

/// Reads from the front. `chunk` is the first chunk's unread bytes;
/// `advance` consumes them, and each chunk read to its end goes back to the
/// pool at once. `chunks_vectored` gives every chunk, so `write_vectored`
/// and `write_all_buf` send the whole chain with one system call, without
/// copying.
///
/// # Examples
///
/// ```
/// use bytes::Buf;
///
/// let pool = tierpool::BufPool::builder().tiers(&[8]).build()?;
/// let mut chain = pool.chain(8);
/// chain.extend_from_slice(b"0123456789");
/// let mut slices = [std::io::IoSlice::new(&[]); 4];
/// assert_eq!(chain.chunks_vectored(&mut slices), 2);
/// assert_eq!((&*slices[0], &*slices[1]), (&b"01234567"[..], &b"89"[..]));
/// chain.advance(9);
/// assert_eq!((chain.chunk(), chain.chunk_count()), (&b"9"[..], 1), "the first chunk went back");
/// # Ok::<(), tierpool::ConfigError>(())
/// ```
impl Buf for PooledChain<'_> {
    #[inline]
    fn remaining(&self) -> usize {
        self.len()
    }

    #[inline]
    fn chunk(&self) -> &[u8] {
        self.front()
    }

    fn advance(&mut self, cnt: usize) {
        self.consume(cnt);
    }

    fn chunks_vectored<'b>(&'b self, dst: &mut [io::IoSlice<'b>]) -> usize {
        self.fill_io_slices(dst)
    }
}

// === impl io::Write ===

/// Appends, growing by whole chunks: `serde_json::to_writer(&mut chain, …)`.
/// At the chain's limit, a write writes what fits and returns its count;
/// once nothing fits, it returns an error of kind `FileTooLarge` that wraps
/// [`ChainError::LimitExceeded`](crate::ChainError::LimitExceeded). `flush`
/// does nothing.
///
/// # Examples
///
/// ```
/// use std::io::Write;
///
/// let pool = tierpool::BufPool::new();
/// let mut chain = pool.chain(4096).with_limit(5);
/// assert_eq!(chain.write(b"abcdefgh")?, 5, "what fits");
/// let err = chain.write_all(b"more").unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::FileTooLarge);
/// # Ok::<(), std::io::Error>(())
/// ```
impl io::Write for PooledChain<'_> {
    #[inline]
    fn write(&mut self, src: &[u8]) -> io::Result<usize> {
        if self.append_in_place(src) {
            return Ok(src.len());
        }
        self.write_slow(src)
    }

    #[inline]
    fn write_all(&mut self, src: &[u8]) -> io::Result<()> {
        if self.append_in_place(src) {
            return Ok(());
        }
        self.write_all_slow(src)
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        let mut written = 0;
        for buf in bufs {
            let n = buf.len().min(self.room());
            self.extend_from_slice(&buf[..n]);
            written += n;
            if n < buf.len() {
                break;
            }
        }
        if written == 0 && bufs.iter().any(|b| !b.is_empty()) {
            return Err(crate::ChainError::LimitExceeded { limit: self.room() + self.len() }.into());
        }
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl PooledChain<'_> {
    #[inline(never)]
    fn write_slow(&mut self, src: &[u8]) -> io::Result<usize> {
        let n = src.len().min(self.room());
        if n == 0 && !src.is_empty() {
            return Err(crate::ChainError::LimitExceeded { limit: self.room() + self.len() }.into());
        }
        self.extend_from_slice(&src[..n]);
        Ok(n)
    }

    /// `write_all` past the fast path: what fits below the limit, then the
    /// limit's error, as the default `write_all` over `write` would.
    #[inline(never)]
    fn write_all_slow(&mut self, src: &[u8]) -> io::Result<()> {
        let n = self.write_slow(src)?;
        if n < src.len() {
            return Err(crate::ChainError::LimitExceeded { limit: self.room() + self.len() }.into());
        }
        Ok(())
    }
}

// === impl fmt::Write ===

/// Appends formatted text; past the chain's limit, `fmt::Error`.
///
/// # Examples
///
/// ```
/// use std::fmt::Write;
///
/// let pool = tierpool::BufPool::new();
/// let mut chain = pool.chain(4096);
/// write!(chain, "{}-{}", 1, 2)?;
/// assert_eq!(chain.freeze(), "1-2");
/// # Ok::<(), std::fmt::Error>(())
/// ```
impl fmt::Write for PooledChain<'_> {
    #[inline]
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.try_extend_from_slice(s.as_bytes()).map_err(|_| fmt::Error)
    }
}
