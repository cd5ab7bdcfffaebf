use core::fmt;
use std::io;

use core::borrow::{Borrow, BorrowMut};
use core::cmp::Ordering;
use core::hash::{Hash, Hasher};

use bytes::buf::UninitSlice;
use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::guard::PooledBuf;

// === impl BufMut ===

/// Delegates every method to the inner [`BytesMut`], so it grows the same
/// way: `chunk_mut` on a full buffer reserves 64 more bytes, which doubles a
/// pooled buffer's capacity. One doubling stays within the default ceiling
/// (2 × the tier size); a second one makes the buffer too big to pool, and
/// it is discarded on return. To read without growing, use
/// `tierpool::tokio::read_pooled` (feature `tokio`) or a `limit`ed view.
///
/// # Examples
///
/// ```
/// use bytes::BufMut;
///
/// let pool = tierpool::BufPool::new();
/// let mut buf = pool.get(64);
/// buf.put_u32(0xCAFE_F00D);
/// buf.put_slice(b"payload");
/// assert_eq!(&buf[..4], &[0xCA, 0xFE, 0xF0, 0x0D]);
/// assert_eq!(buf.len(), 11);
/// ```
///
/// With tokio, `read_buf` takes the guard directly:
///
/// ```
/// use tokio::io::AsyncReadExt;
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let pool = tierpool::BufPool::new();
/// let mut socket: &[u8] = b"hello from a socket";
/// let mut buf = pool.get(4096);
/// let n = socket.read_buf(&mut buf).await?;
/// assert_eq!(&buf[..n], b"hello from a socket");
/// # Ok::<(), std::io::Error>(())
/// # }).unwrap();
/// ```
// SAFETY:
// - Every method forwards to `<BytesMut as BufMut>`, which upholds the
//   trait's contract for the `BytesMut` it is called on.
// - That `BytesMut` is the guard's one buffer (`DerefMut` hands out the same
//   field on every call), and `PooledBuf` keeps no length, cursor or other
//   state of its own that the contract could cover. So `remaining_mut`,
//   `chunk_mut` and `advance_mut` describe one and the same buffer, as the
//   contract requires.
unsafe impl BufMut for PooledBuf<'_> {
    #[inline]
    fn remaining_mut(&self) -> usize {
        let inner: &BytesMut = self;
        inner.remaining_mut()
    }

    #[inline]
    unsafe fn advance_mut(&mut self, cnt: usize) {
        // Only the length changes; `BytesMut` panics past the spare capacity.
        let inner = self.writable(0);
        // SAFETY:
        // - The caller guarantees that the first `cnt` bytes of the slice
        //   last returned by `self.chunk_mut()` are initialised.
        // - `self.chunk_mut()` returns `inner.chunk_mut()` (`writable` hands
        //   out the same field on every call), and nothing can touch `inner`
        //   in between (`&mut self`), so those are the first `cnt` bytes of
        //   `inner`'s spare capacity: `inner.advance_mut`'s precondition holds.
        unsafe { inner.advance_mut(cnt) }
    }

    #[inline]
    fn chunk_mut(&mut self) -> &mut UninitSlice {
        // A full `BytesMut` reserves 64 more bytes here.
        self.writable(1).chunk_mut()
    }

    // Forward the methods `BytesMut` specialises, so the guard is as fast.

    #[inline]
    fn put<T: Buf>(&mut self, src: T)
    where
        Self: Sized,
    {
        // Into an empty capacity `BytesMut::put` may adopt `src`'s
        // allocation; `writable` counts that as exposed (0 spare < remaining).
        self.writable(src.remaining()).put(src);
    }

    #[inline]
    fn put_slice(&mut self, src: &[u8]) {
        self.extend_from_slice(src);
    }

    #[inline]
    fn put_bytes(&mut self, val: u8, cnt: usize) {
        self.writable(cnt).put_bytes(val, cnt);
    }

    #[inline]
    fn put_u8(&mut self, n: u8) {
        self.writable(1).put_u8(n);
    }

    #[inline]
    fn put_i8(&mut self, n: i8) {
        self.writable(1).put_i8(n);
    }
}

// === impl io::Write ===

/// Appends to the buffer, growing it as needed; never fails and never writes
/// short. `flush` does nothing.
///
/// This is what serializers take: `serde_json::to_writer(&mut buf, &value)`.
/// `PooledBuf` also implements [`fmt::Write`]; with both traits in scope,
/// `write!(buf, …)` is ambiguous, so import only the one you mean.
///
/// # Examples
///
/// ```
/// use std::io::Write;
///
/// let pool = tierpool::BufPool::new();
/// let mut buf = pool.get(4096);
/// buf.write_all(b"GET / HTTP/1.1\r\n")?;
/// write!(buf, "Content-Length: {}\r\n\r\n", 0)?;
/// assert!(buf.ends_with(b"Content-Length: 0\r\n\r\n"));
/// # Ok::<(), std::io::Error>(())
/// ```
impl io::Write for PooledBuf<'_> {
    #[inline]
    fn write(&mut self, src: &[u8]) -> io::Result<usize> {
        self.extend_from_slice(src);
        Ok(src.len())
    }

    #[inline]
    fn write_all(&mut self, src: &[u8]) -> io::Result<()> {
        self.extend_from_slice(src);
        Ok(())
    }

    #[inline]
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

// === impl fmt::Write ===

/// Appends formatted text, growing the buffer as needed, as
/// `impl fmt::Write for BytesMut` does.
///
/// The log-line pattern: format straight into a pooled buffer, write it out,
/// drop the guard. No intermediate `String`.
///
/// # Examples
///
/// ```
/// use std::fmt::Write;
///
/// let pool = tierpool::BufPool::new();
/// let mut line = pool.get(256);
/// write!(line, "INFO {} requests in {} ms", 1200, 35)?;
/// assert_eq!(&line[..], b"INFO 1200 requests in 35 ms");
/// # Ok::<(), std::fmt::Error>(())
/// ```
impl fmt::Write for PooledBuf<'_> {
    #[inline]
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

// === impl Extend ===

/// Appends the bytes of an iterator, reserving its lower size bound first.
///
/// # Examples
///
/// ```
/// let pool = tierpool::BufPool::new();
/// let mut buf = pool.get(64);
/// buf.extend(b"abc".iter().map(|b| b.to_ascii_uppercase()));
/// assert_eq!(&buf[..], b"ABC");
/// ```
impl Extend<u8> for PooledBuf<'_> {
    #[inline]
    fn extend<I: IntoIterator<Item = u8>>(&mut self, iter: I) {
        let iter = iter.into_iter();
        let (lower, _) = iter.size_hint();
        self.writable(lower).reserve(lower);
        for byte in iter {
            self.writable(1).put_u8(byte);
        }
    }
}

/// Appends the bytes an iterator borrows, reserving its lower size bound
/// first.
///
/// # Examples
///
/// ```
/// let pool = tierpool::BufPool::new();
/// let mut buf = pool.get(64);
/// buf.extend(b"key=");
/// buf.extend(&[b'4', b'2']);
/// assert_eq!(&buf[..], b"key=42");
/// ```
impl<'a> Extend<&'a u8> for PooledBuf<'_> {
    #[inline]
    fn extend<I: IntoIterator<Item = &'a u8>>(&mut self, iter: I) {
        self.extend(iter.into_iter().copied());
    }
}

/// Appends each `Bytes`, as `BytesMut` does.
///
/// # Examples
///
/// ```
/// use bytes::Bytes;
///
/// let pool = tierpool::BufPool::new();
/// let mut buf = pool.get(64);
/// buf.extend([Bytes::from_static(b"ab"), Bytes::from_static(b"cd")]);
/// assert_eq!(buf, b"abcd"[..]);
/// ```
impl Extend<Bytes> for PooledBuf<'_> {
    fn extend<I: IntoIterator<Item = Bytes>>(&mut self, iter: I) {
        for bytes in iter {
            self.extend_from_slice(&bytes);
        }
    }
}

// === impl Buf ===

/// Reads the buffer from the front, as `BytesMut`'s `Buf` does: `advance`
/// consumes bytes (the guard's return then reclaims them), so a guard goes
/// wherever a `Buf` does, e.g. `write_all_buf(&mut guard)`.
///
/// One difference: [`copy_to_bytes`](Buf::copy_to_bytes) copies, where
/// `BytesMut`'s splits off a `Bytes` that shares its storage. A pooled
/// buffer's memory is never aliased by a `Bytes` the pool cannot see.
///
/// # Examples
///
/// ```
/// use bytes::Buf;
///
/// let pool = tierpool::BufPool::new();
/// let mut buf = pool.get(64);
/// buf.extend_from_slice(&[0, 5, b'h', b'e', b'l', b'l', b'o']);
/// let len = buf.get_u16() as usize;
/// assert_eq!(buf.copy_to_bytes(len), "hello");
/// assert!(!buf.has_remaining());
/// ```
impl Buf for PooledBuf<'_> {
    #[inline]
    fn remaining(&self) -> usize {
        self.len()
    }

    #[inline]
    fn chunk(&self) -> &[u8] {
        self
    }

    #[inline]
    fn advance(&mut self, cnt: usize) {
        let inner: &mut BytesMut = self; // moves the view: the return checks it
        inner.advance(cnt);
    }

    fn copy_to_bytes(&mut self, len: usize) -> Bytes {
        assert!(len <= self.len(), "copy_to_bytes out of range: {len} > {}", self.len());
        let out = Bytes::copy_from_slice(&self[..len]);
        self.advance(len);
        out
    }
}

// === impl comparisons, Hash, Borrow ===

/// Compares contents, as `BytesMut` does; the pool and tier play no part.
impl PartialEq<PooledBuf<'_>> for PooledBuf<'_> {
    fn eq(&self, other: &PooledBuf<'_>) -> bool {
        self[..] == other[..]
    }
}

impl Eq for PooledBuf<'_> {}

impl PartialOrd<PooledBuf<'_>> for PooledBuf<'_> {
    fn partial_cmp(&self, other: &PooledBuf<'_>) -> Option<Ordering> {
        Some(self[..].cmp(&other[..]))
    }
}

impl Ord for PooledBuf<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        self[..].cmp(&other[..])
    }
}

/// Hashes the contents as `[u8]` does, like `BytesMut`, so a guard and a
/// `BytesMut` with the same bytes hash alike (and `Borrow<[u8]>` holds).
impl Hash for PooledBuf<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self[..].hash(state);
    }
}

impl Borrow<[u8]> for PooledBuf<'_> {
    fn borrow(&self) -> &[u8] {
        self
    }
}

/// A mutable slice cannot grow or share the storage: the guard stays on
/// the fast return.
impl BorrowMut<[u8]> for PooledBuf<'_> {
    fn borrow_mut(&mut self) -> &mut [u8] {
        self.as_mut()
    }
}

impl<'a> IntoIterator for &'a PooledBuf<'_> {
    type Item = &'a u8;
    type IntoIter = core::slice::Iter<'a, u8>;

    fn into_iter(self) -> Self::IntoIter {
        self[..].iter()
    }
}

/// `PartialEq` and `PartialOrd` with `$other`, both ways round, comparing
/// contents as bytes: the impls `BytesMut` has.
macro_rules! compare_with {
    ($($other:ty),* $(,)?) => {$(
        impl PartialEq<$other> for PooledBuf<'_> {
            fn eq(&self, other: &$other) -> bool {
                self[..] == *AsRef::<[u8]>::as_ref(other)
            }
        }

        impl PartialEq<PooledBuf<'_>> for $other {
            fn eq(&self, other: &PooledBuf<'_>) -> bool {
                *AsRef::<[u8]>::as_ref(self) == other[..]
            }
        }

        impl PartialOrd<$other> for PooledBuf<'_> {
            fn partial_cmp(&self, other: &$other) -> Option<Ordering> {
                Some(self[..].cmp(AsRef::<[u8]>::as_ref(other)))
            }
        }

        impl PartialOrd<PooledBuf<'_>> for $other {
            fn partial_cmp(&self, other: &PooledBuf<'_>) -> Option<Ordering> {
                Some(AsRef::<[u8]>::as_ref(self).cmp(&other[..]))
            }
        }
    )*};
}

compare_with!([u8], str, Vec<u8>, String, Bytes, BytesMut, &[u8], &str);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BufPool;

    #[test]
    fn buf_mut_writes_through_to_the_pooled_buffer() {
        let pool = BufPool::new();
        let mut buf = pool.get(100);
        buf.put_u16(0x0102);
        buf.put_u8(3);
        buf.put_i8(4);
        buf.put_bytes(5, 2);
        buf.put_slice(&[6]);
        buf.put(&b"\x07"[..]);
        assert_eq!(&buf[..], &[1, 2, 3, 4, 5, 5, 6, 7]);
        assert_eq!(BufMut::remaining_mut(&buf), isize::MAX as usize - 8);
        assert_eq!(buf.capacity(), 4096, "small writes never grow the buffer");
    }

    #[test]
    fn chunk_mut_and_advance_mut_fill_the_same_buffer() {
        let pool = BufPool::new();
        let mut buf = pool.get(16);
        let chunk = buf.chunk_mut();
        assert_eq!(chunk.len(), 4096, "the whole spare capacity");
        chunk[..3].copy_from_slice(b"abc");
        // SAFETY: the first 3 bytes of the last chunk were just initialised.
        unsafe { buf.advance_mut(3) };
        assert_eq!(&buf[..], b"abc");
    }

    #[test]
    fn chunk_mut_on_a_full_buffer_doubles_it_and_the_return_keeps_it_in_its_tier() {
        let pool = BufPool::new();
        let mut buf = pool.get(4096);
        buf.put_bytes(0, 4096);
        assert_eq!(buf.chunk_mut().len(), 4096);
        assert_eq!(buf.capacity(), 8192);
        drop(buf);
        let t = &pool.stats().tiers[0];
        assert_eq!((t.returns, t.discards.total()), (1, 0));
    }

    #[test]
    #[should_panic(expected = "advance out of bounds")]
    fn advance_mut_past_the_spare_capacity_panics_like_bytes_mut() {
        let pool = BufPool::new();
        let mut buf = pool.get(16);
        // SAFETY: never completes: `BytesMut::advance_mut` checks `cnt`
        // against the spare capacity and panics first.
        unsafe { buf.advance_mut(4097) };
    }

    #[test]
    fn io_write_appends_and_never_writes_short() {
        use std::io::Write;
        let pool = BufPool::new();
        let mut buf = pool.get(4);
        assert_eq!(buf.write(&[1; 5000]).unwrap(), 5000);
        buf.write_all(b"end").unwrap();
        buf.flush().unwrap();
        assert_eq!(buf.len(), 5003);
        assert_eq!(&buf[5000..], b"end");
    }

    #[test]
    fn fmt_write_formats_in_place() {
        use std::fmt::Write;
        let pool = BufPool::new();
        let mut buf = pool.get(64);
        let key = "id";
        write!(buf, "{key}-{:04}", 7).unwrap();
        buf.write_char('!').unwrap();
        assert_eq!(&buf[..], b"id-0007!");
    }

    #[test]
    fn extend_takes_owned_and_borrowed_bytes() {
        let pool = BufPool::new();
        let mut buf = pool.get(64);
        buf.extend([1u8, 2]);
        buf.extend(&[3u8, 4]);
        buf.extend(std::iter::repeat_n(9u8, 3));
        assert_eq!(&buf[..], &[1, 2, 3, 4, 9, 9, 9]);
    }

    #[test]
    fn written_guard_returns_clean_to_the_pool() {
        use std::io::Write;
        let pool = BufPool::new();
        let mut buf = pool.get(64);
        buf.write_all(b"secret").unwrap();
        drop(buf);
        let again = pool.get(64);
        assert!(again.is_empty());
        assert_eq!(pool.stats().tiers[0].cache_hits, 1);
    }
}
