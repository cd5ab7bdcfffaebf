//! The guard: [`PooledBuf`], a `BytesMut` on loan from a pool.

use core::fmt;
use core::mem::ManuallyDrop;
use core::ops::{Deref, DerefMut};

use bytes::{Bytes, BytesMut};

use crate::buffer::{Origin, Pooled};
use crate::engine::Engine;
use crate::recycle;
use crate::registry;
use crate::stats::Event;
use crate::sync::Arc;

/// A [`BytesMut`] on loan from a [`BufPool`](crate::BufPool); it goes back to
/// the pool when dropped.
///
/// It dereferences to `BytesMut`, so every `BytesMut` method works on it,
/// including those that grow, split, advance or replace the storage. On drop
/// the buffer is cleared and classified by its real allocation: pooled in
/// the tier it now fits, or discarded if it grew past every ceiling or its
/// storage is still shared (see the crate docs, *Returning buffers*).
///
/// Dropping the guard is the only way to return a buffer, so a buffer cannot
/// be used after it is returned, nor returned twice.
///
/// # Examples
///
/// ```
/// let pool = tierpool::BufPool::new();
/// let mut buf = pool.get(64);
/// buf.extend_from_slice(b"GET / HTTP/1.1\r\n");
/// assert_eq!(&buf[..4], b"GET ");
/// drop(buf); // back in this thread's cache, cleared
/// assert!(pool.get(64).is_empty());
/// ```
///
/// The compiler keeps these promises:
///
/// - a guard is gone once it is frozen, shared, detached or dropped:
///
/// ```compile_fail,E0382
/// let pool = tierpool::BufPool::new();
/// let buf = pool.get(64);
/// let frozen = buf.freeze(); // the buffer went back to the pool
/// buf.extend_from_slice(b"late"); // error: use of moved value
/// ```
///
/// - a guard cannot outlive the pool it came from:
///
/// ```compile_fail,E0597
/// let buf = {
///     let pool = tierpool::BufPool::new();
///     pool.get(64) // error: `pool` does not live long enough
/// };
/// ```
///
/// - `into_shared` needs a `'static` guard (`get_owned`, `tierpool::get`),
///   because the `Bytes` it makes may outlive any borrow of the pool:
///
/// ```compile_fail,E0597
/// let pool = tierpool::BufPool::new();
/// let bytes = pool.get(64).into_shared(); // error: `pool` does not live long enough
/// ```
///
/// - a guard is not `Clone`: two owners could return one buffer twice
///   (`buf.clone()` compiles, but clones the `BytesMut` it derefs to: a copy
///   of the bytes, not of the guard).
///
/// ```compile_fail,E0277
/// fn two_owners<T: Clone>(_: &T) {}
/// let pool = tierpool::BufPool::new();
/// two_owners(&pool.get(64));
/// ```
#[must_use = "dropping a PooledBuf returns it to the pool at once"]
pub struct PooledBuf<'a> {
    /// The buffer in its box (`buffer::Pooled`): moving a guard, or handing
    /// it back, moves one pointer.
    ///
    /// This and `pool` are `ManuallyDrop`, taken exactly once, by `Drop` or
    /// by [`PooledBuf::into_parts`], one of the crate's five uses of `unsafe`
    /// (`lib.rs`). So the guard has no drop glue after its `Drop`, and the
    /// return's slow paths are tail calls: the inlined fast return then
    /// saves no registers (notes/benchmarks-notebook.md, *Where the time
    /// goes*).
    buf: ManuallyDrop<Pooled>,
    pool: ManuallyDrop<PoolRef<'a>>,
    origin: Origin,
    /// The buffer was standard when handed out (capacity exactly its tier's
    /// size), the pool does not scrub, and nothing outside the guard's own methods could have reached
    /// the storage mutably (`DerefMut`), nor did one of those methods need
    /// more than the spare capacity. While `true`, the storage is exactly the
    /// whole, unique allocation the pool handed out, and only its length has
    /// changed: the return path's fast path relies on this
    /// (`recycle::give_back`).
    pristine: bool,
    /// In a pool with `max_outstanding_bytes`, the real capacity counted
    /// against the limit from the checkout until the guard ends
    /// (`admission.rs`); 0 otherwise. In the padding after `origin` and
    /// `pristine`, so a guard stays four words. A charged guard is never
    /// pristine, so the fast return never reads it.
    charge: u32,
}

/// How a guard reaches its pool: borrowed (free) or owned (one reference
/// count, taken by `get_owned`). Two pointer-sized words, which the
/// compiler keeps in registers: a variant with more fields made it copy the
/// reference through the stack on every get.
pub(crate) enum PoolRef<'a> {
    Borrowed(&'a Engine),
    Owned(Arc<Engine>),
}

impl Clone for PoolRef<'_> {
    fn clone(&self) -> Self {
        match self {
            PoolRef::Borrowed(engine) => PoolRef::Borrowed(engine),
            PoolRef::Owned(engine) => PoolRef::Owned(Arc::clone(engine)),
        }
    }
}

impl PoolRef<'_> {
    #[inline]
    pub(crate) fn engine(&self) -> &Engine {
        match self {
            PoolRef::Borrowed(engine) => engine,
            PoolRef::Owned(engine) => engine,
        }
    }
}

// === impl PooledBuf ===

impl<'a> PooledBuf<'a> {
    /// A guard for `buf`; `pristine` if it is a standard buffer of a tier
    /// whose returns may take the fast path (see the field).
    #[inline]
    pub(crate) fn new(buf: Pooled, origin: Origin, pristine: bool, pool: PoolRef<'a>) -> Self {
        debug_assert!(!pristine || origin.plain_tier().is_some(), "only a plain tier's guard starts pristine");
        Self { buf: ManuallyDrop::new(buf), pool: ManuallyDrop::new(pool), origin, pristine, charge: 0 }
    }

    /// A guard carrying `charge` (0: none); a charged guard is not pristine.
    pub(crate) fn charged(buf: Pooled, origin: Origin, pristine: bool, pool: PoolRef<'a>, charge: u32) -> Self {
        let mut guard = Self::new(buf, origin, pristine && charge == 0, pool);
        guard.charge = charge;
        guard
    }

    #[inline]
    fn buf(&self) -> &BytesMut {
        &self.buf
    }

    #[inline]
    fn buf_mut(&mut self) -> &mut BytesMut {
        &mut self.buf
    }

    /// The buffer, for a write of at most `additional` more bytes by the
    /// guard's own methods. With that much spare capacity, `BytesMut` writes
    /// in place: it neither reallocates nor shares the storage, so the guard
    /// stays pristine. Otherwise the write may reallocate, and it does not.
    #[inline]
    pub(crate) fn writable(&mut self, additional: usize) -> &mut BytesMut {
        let buf = &mut *self.buf;
        if additional > buf.capacity() - buf.len() {
            self.pristine = false;
        }
        buf
    }

    #[inline]
    fn engine(&self) -> &Engine {
        self.pool.engine()
    }

    /// Appends `src`, growing the buffer if needed: `BytesMut`'s own, which
    /// it shadows so that a write within the spare capacity keeps the guard
    /// on the fast return (a `DerefMut` call would not).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tierpool::BufPool::new();
    /// let mut buf = pool.get(16);
    /// buf.extend_from_slice(b"hello");
    /// assert_eq!(&buf[..], b"hello");
    /// ```
    #[inline]
    pub fn extend_from_slice(&mut self, src: &[u8]) {
        let buf = self.buf_mut();
        // The check is `reserve`'s own, so the compiler folds that one away.
        if src.len() <= buf.capacity() - buf.len() {
            buf.extend_from_slice(src);
        } else {
            self.extend_growing(src);
        }
    }

    /// [`extend_from_slice`](Self::extend_from_slice) past the spare
    /// capacity: the buffer grows, and the guard is no longer pristine.
    #[cold]
    #[inline(never)]
    fn extend_growing(&mut self, src: &[u8]) {
        self.writable(src.len()).extend_from_slice(src);
    }

    /// Shortens the buffer to `len` bytes, as `BytesMut::truncate` does,
    /// keeping the guard on the fast return.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tierpool::BufPool::new();
    /// let mut buf = pool.get(16);
    /// buf.extend_from_slice(b"hello");
    /// buf.truncate(2);
    /// assert_eq!(&buf[..], b"he");
    /// ```
    #[inline]
    pub fn truncate(&mut self, len: usize) {
        self.writable(0).truncate(len);
    }

    /// Empties the buffer, as `BytesMut::clear` does, keeping the guard on
    /// the fast return.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tierpool::BufPool::new();
    /// let mut buf = pool.get(16);
    /// buf.extend_from_slice(b"hello");
    /// buf.clear();
    /// assert!(buf.is_empty());
    /// ```
    #[inline]
    pub fn clear(&mut self) {
        self.writable(0).clear();
    }

    /// Makes room for `additional` more bytes, as `BytesMut::reserve` does.
    /// Within the spare capacity it does nothing and the guard stays on the
    /// fast return; past it, the buffer grows and its return is checked in
    /// full.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tierpool::BufPool::new();
    /// let mut buf = pool.get(16);
    /// buf.reserve(10_000);
    /// assert!(buf.capacity() >= 10_000);
    /// ```
    #[inline]
    pub fn reserve(&mut self, additional: usize) {
        self.writable(additional).reserve(additional);
    }

    /// Resizes the buffer to `new_len`, filling new bytes with `value`, as
    /// `BytesMut::resize` does; keeps the guard on the fast return when
    /// `new_len` is within the capacity.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tierpool::BufPool::new();
    /// let mut buf = pool.get(16);
    /// buf.resize(4, b'x');
    /// assert_eq!(&buf[..], b"xxxx");
    /// ```
    #[inline]
    pub fn resize(&mut self, new_len: usize, value: u8) {
        let additional = new_len.saturating_sub(self.buf().len());
        self.writable(additional).resize(new_len, value);
    }

    /// The spare capacity, as `BytesMut::spare_capacity_mut` gives it, for
    /// filling before `BufMut::advance_mut`; keeps the guard on the fast
    /// return.
    ///
    /// # Examples
    ///
    /// ```
    /// use bytes::BufMut;
    ///
    /// let pool = tierpool::BufPool::new();
    /// let mut buf = pool.get(16);
    /// buf.spare_capacity_mut()[0].write(7);
    /// // SAFETY: the first byte of the spare capacity was just written.
    /// unsafe { buf.advance_mut(1) };
    /// assert_eq!(&buf[..], &[7]);
    /// ```
    #[inline]
    pub fn spare_capacity_mut(&mut self) -> &mut [core::mem::MaybeUninit<u8>] {
        self.writable(0).spare_capacity_mut()
    }

    /// Copies the contents out into an exact-size [`Bytes`] and returns the
    /// buffer to the pool at once.
    ///
    /// The `Bytes` owns a fresh allocation of exactly `len()` bytes (none if
    /// empty), so it never aliases pool memory and never pins a large buffer
    /// for the sake of a few bytes. For large payloads that live briefly,
    /// [`into_shared`](PooledBuf::into_shared) avoids the copy.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tierpool::BufPool::new();
    /// let mut buf = pool.get(4096);
    /// buf.extend_from_slice(b"response");
    /// let body = buf.freeze();
    /// let mut reused = pool.get(4096); // the same memory, handed out again
    /// reused.extend_from_slice(b"XXXXXXXX");
    /// assert_eq!(body, "response");
    /// ```
    #[must_use = "freeze returns the frozen copy"]
    pub fn freeze(self) -> Bytes {
        Bytes::copy_from_slice(self.buf())
    }

    /// Takes the buffer out of the pool for good. It is counted as detached
    /// and will be freed, not pooled, when the returned `BytesMut` drops. In
    /// a pool with [`max_outstanding_bytes`](crate::Builder::max_outstanding_bytes),
    /// it stops counting against the limit here.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tierpool::BufPool::new();
    /// let owned: bytes::BytesMut = pool.get(10).detach();
    /// assert_eq!(owned.capacity(), 4096);
    /// assert_eq!(pool.stats().tiers[0].detached, 1);
    /// ```
    #[must_use = "detach returns the buffer"]
    pub fn detach(self) -> BytesMut {
        let charge = self.charge;
        let (buf, pool, origin, _) = self.into_parts();
        let engine = pool.engine();
        registry::end(engine, origin, Event::Detached, charge);
        if let Some(modes) = engine.test_modes() {
            modes.ended(&buf);
        }
        *buf
    }

    /// The size of the tier this buffer was handed out from, or `None` for an
    /// oversize (unpooled) buffer.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tierpool::BufPool::new();
    /// assert_eq!(pool.get(5000).tier_size(), Some(65536));
    /// assert_eq!(pool.get(2 << 20).tier_size(), None);
    /// ```
    #[must_use]
    pub fn tier_size(&self) -> Option<usize> {
        self.origin.tier_index().map(|t| self.engine().config().size(t))
    }

    /// The ceiling of the tier this buffer was handed out from: the largest
    /// capacity it may grow to and still be pooled in that tier. `None` for
    /// an oversize buffer. (A buffer that grows past it may still be pooled
    /// in a larger tier, if it fits that tier's ceiling.)
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tierpool::BufPool::new();
    /// let buf = pool.get(100);
    /// assert_eq!(buf.ceiling(), Some(8192));
    /// ```
    #[must_use]
    pub fn ceiling(&self) -> Option<usize> {
        self.origin.tier_index().map(|t| self.engine().config().ceilings[t])
    }
}

impl PooledBuf<'static> {
    /// Turns the guard into a [`Bytes`] without copying; the buffer returns to
    /// its pool when the last clone of that `Bytes` drops, on whichever thread
    /// that is.
    ///
    /// Costs one small allocation (the owner box of `Bytes::from_owner`).
    /// Until the last clone drops, the whole buffer stays out of the pool, so
    /// prefer [`freeze`](PooledBuf::freeze) for small payloads that may live
    /// long. Only `'static` guards (from [`BufPool::get_owned`](crate::BufPool::get_owned),
    /// [`global`](crate::global) or [`get`](crate::get)) can do this.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = std::sync::Arc::new(tierpool::BufPool::new());
    /// let mut buf = pool.get_owned(64 * 1024);
    /// buf.extend_from_slice(&[7; 60_000]);
    /// let a = buf.into_shared();
    /// let b = a.slice(10..20);
    /// drop(a);
    /// assert_eq!(pool.stats().outstanding, 1); // `b` still holds the buffer
    /// drop(b);
    /// assert_eq!(pool.stats().outstanding, 0);
    /// ```
    #[must_use = "into_shared returns the Bytes"]
    #[track_caller]
    pub fn into_shared(self) -> Bytes {
        if let Some(modes) = self.engine().test_modes() {
            modes.moved(&self.buf, std::panic::Location::caller());
        }
        Bytes::from_owner(self)
    }
}

impl<'a> PooledBuf<'a> {
    /// Ends the guard without returning its buffer: its parts, and no `Drop`.
    #[allow(unsafe_code)]
    fn into_parts(self) -> (Pooled, PoolRef<'a>, Origin, bool) {
        let mut this = ManuallyDrop::new(self);
        // SAFETY:
        // - `this` is never dropped (`ManuallyDrop`), so the guard's `Drop`,
        //   the only other place that takes these fields, never runs;
        // - each field is taken once, and `this` is not used after.
        let (buf, pool) = unsafe { (ManuallyDrop::take(&mut this.buf), ManuallyDrop::take(&mut this.pool)) };
        (buf, pool, this.origin, this.pristine)
    }
}

impl Drop for PooledBuf<'_> {
    /// The return: a borrowed pool's is inlined, so that a pristine return
    /// into a cache with room is straight-line code and every other case a
    /// tail call (`recycle.rs`).
    #[inline(always)]
    #[allow(unsafe_code)]
    fn drop(&mut self) {
        // SAFETY:
        // - `drop` runs at most once, and `into_parts`, the only other place
        //   that takes these fields, keeps it from running at all;
        // - each field is taken once here, and neither is used after: the
        //   guard has no other field with drop glue.
        let (buf, pool) = unsafe { (ManuallyDrop::take(&mut self.buf), ManuallyDrop::take(&mut self.pool)) };
        match pool {
            PoolRef::Borrowed(engine) => recycle::give_back(engine, self.origin, buf, self.pristine, self.charge),
            PoolRef::Owned(engine) => give_back_owned(engine, self.origin, buf, self.pristine, self.charge),
        }
    }
}

/// The return of a guard from `get_owned`, which then drops its reference
/// to the pool (taken by value, so that this too is a tail call).
#[inline(never)]
fn give_back_owned(engine: Arc<Engine>, origin: Origin, buf: Pooled, pristine: bool, charge: u32) {
    recycle::give_back(&engine, origin, buf, pristine, charge);
}

impl Deref for PooledBuf<'_> {
    type Target = BytesMut;

    #[inline]
    fn deref(&self) -> &BytesMut {
        self.buf()
    }
}

/// Hands out the buffer itself, so any `BytesMut` method works, including
/// those that grow, split or replace the storage. The return path then
/// checks the storage in full when the guard drops (see *Returning buffers*
/// in the crate docs).
impl DerefMut for PooledBuf<'_> {
    #[inline]
    fn deref_mut(&mut self) -> &mut BytesMut {
        self.pristine = false;
        self.buf_mut()
    }
}

impl AsRef<[u8]> for PooledBuf<'_> {
    #[inline]
    fn as_ref(&self) -> &[u8] {
        self.buf()
    }
}

/// A mutable slice cannot grow or share the storage: the guard stays
/// pristine.
impl AsMut<[u8]> for PooledBuf<'_> {
    #[inline]
    fn as_mut(&mut self) -> &mut [u8] {
        self.buf_mut()
    }
}

/// Shows the tier, length and capacity, never the contents: a pooled buffer
/// may hold secrets, and logs outlive requests.
impl fmt::Debug for PooledBuf<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PooledBuf")
            .field("tier", &self.tier_size())
            .field("len", &self.buf().len())
            .field("capacity", &self.buf().capacity())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use bytes::{Buf, BufMut};

    use crate::BufPool;

    #[test]
    fn own_writes_within_the_spare_capacity_leave_the_guard_unexposed() {
        let pool = BufPool::new();
        let mut buf = pool.get(4096);
        buf.put_slice(&[1; 1000]);
        buf.put_u8(2);
        buf.put_bytes(3, 10);
        buf.put(&b"abc"[..]);
        buf.write_all(b"io").unwrap();
        std::fmt::Write::write_str(&mut buf, "42").unwrap();
        buf.extend([4u8, 5]);
        let spare = buf.capacity() - buf.len();
        let _ = buf.chunk_mut();
        buf.put_bytes(6, spare); // exactly fills it
        assert_eq!((buf.len(), buf.capacity()), (4096, 4096));
        assert!(buf.pristine, "no write needed more than the spare capacity");
        let _ = buf.len(); // `Deref` reads are never exposure
        assert!(buf.pristine);
    }

    #[test]
    fn a_write_that_may_grow_exposes_the_guard() {
        type Write = fn(&mut crate::PooledBuf<'_>);
        let writes: [(&str, Write); 6] = [
            ("put_slice", |b| b.put_slice(&[0; 9000])),
            ("put_bytes", |b| b.put_bytes(0, 9000)),
            ("io::Write", |b| b.write_all(&[0; 9000]).unwrap()),
            ("fmt::Write", |b| std::fmt::Write::write_str(b, &" ".repeat(9000)).unwrap()),
            ("Extend", |b| b.extend(std::iter::repeat_n(0u8, 9000))),
            ("chunk_mut of a full buffer", |b| {
                b.put_bytes(0, b.capacity() - b.len());
                let _ = b.chunk_mut();
            }),
        ];
        let pool = BufPool::new();
        // 9000 bytes: past any capacity tier 0 hands out (its ceiling is 8 KiB).
        for (what, write) in writes {
            let mut buf = pool.get(4096);
            write(&mut buf);
            assert!(!buf.pristine, "{what}");
        }
    }

    /// Each way a guard ends takes its buffer and its pool reference exactly
    /// once (`Drop`, `into_parts`): the buffer goes back or out, and a
    /// `get_owned` guard's reference to the engine is released. Miri runs
    /// this (`.ci/deep.sh miri`), and reports a double drop or a leak.
    #[test]
    fn every_way_a_guard_ends_takes_its_buffer_and_pool_once() {
        let pool = std::sync::Arc::new(BufPool::new());
        let engines = || pool.engine_refs();
        let mut borrowed = pool.get(10);
        borrowed.put_slice(b"borrowed");
        drop(borrowed);
        let mut owned = pool.get_owned(10);
        assert_eq!(engines(), 2);
        owned.put_slice(b"owned");
        drop(owned);
        assert_eq!(engines(), 1, "an owned guard's return releases its reference");
        let detached = pool.get_owned(10).detach();
        assert_eq!((engines(), detached.capacity()), (1, 4096));
        let detached = pool.get(10).detach();
        assert_eq!(detached.capacity(), 4096);
        let mut exposed = pool.get_owned(10);
        exposed.clear(); // through `DerefMut`: the checked return
        drop(exposed);
        let shared = pool.get_owned(10).into_shared();
        drop(shared);
        assert_eq!(engines(), 1);
        let tier = &pool.stats().tiers[0];
        assert_eq!((tier.returns, tier.detached, pool.stats().outstanding), (4, 2, 0));
    }

    #[test]
    fn deref_mut_exposes_the_guard() {
        let pool = BufPool::new();
        let mut buf = pool.get(10);
        buf.advance(0); // `Buf` is `BytesMut`'s, reached through `DerefMut`
        assert!(!buf.pristine);
        let mut buf = pool.get(10);
        let inner: &mut bytes::BytesMut = &mut buf;
        inner.clear();
        assert!(!buf.pristine);
    }
}
