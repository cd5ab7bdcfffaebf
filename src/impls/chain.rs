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
// - `chunk_mut` returns (a prefix of) the spare capacity of the chain's last
//   chunk, creating that chunk first if needed, and `advance_mut` advances
//   that same last chunk: nothing can add or remove a chunk in between
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
        if cnt == 0 {
            return;
        }
        let room = self.room();
        assert!(cnt <= room, "advance out of bounds: {cnt} > {room}, the room below the chain's limit");
        let last = self.writable_chunk();
        // SAFETY:
        // - The caller guarantees that the first `cnt` bytes of the slice last
        //   returned by `self.chunk_mut()` are initialised.
        // - That slice is the spare capacity of this same last chunk (the
        //   safety comment above), whose `advance_mut` checks `cnt` against
        //   its spare capacity.
        unsafe { last.advance_mut(cnt) };
        self.wrote(cnt);
    }

    #[inline]
    fn chunk_mut(&mut self) -> &mut UninitSlice {
        let room = self.room();
        if room == 0 {
            return UninitSlice::new(&mut []);
        }
        let chunk = self.writable_chunk().chunk_mut();
        let n = chunk.len().min(room);
        &mut chunk[..n]
    }

    #[track_caller]
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
        self.front().map_or(&[], |c| &c[..])
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
    fn write(&mut self, src: &[u8]) -> io::Result<usize> {
        let n = src.len().min(self.room());
        if n == 0 && !src.is_empty() {
            return Err(crate::ChainError::LimitExceeded { limit: self.room() + self.len() }.into());
        }
        self.extend_from_slice(&src[..n]);
        Ok(n)
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
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.try_extend_from_slice(s.as_bytes()).map_err(|_| fmt::Error)
    }
}
