//! The line-up: every competitor the groups run beside tierpool, each a
//! [`Competitor`] made for one size, written once. [`each`] visits them in
//! the order the groups list them; a group says with a [`Visit`] what it
//! does with each (one get and drop, k held, a hand-off, churn on several
//! threads). Adding a peer is an impl here and a line in [`each`].
//!
//! The peers are the pools a user could pick instead; beside them run the
//! bound ([`crate::bare`]) and `BytesMut::with_capacity`. A peer has no size
//! classes, so each gets one pool per tier size, which favours it slightly.

use std::hint::black_box;
use std::mem::MaybeUninit;

use bytes::BytesMut;

use crate::bare::BareBuf;
use crate::{Lineup, PAYLOAD, Write};

/// A pool under test, made for buffers of one size.
///
/// Each impl's `get`, `write` and `touch` are `#[inline(always)]`: they only
/// forward to the pool's own calls, and a workload run through them must
/// compile to what those calls written out in place compile to.
pub trait Competitor: Sync + Sized {
    /// The name of its bench functions (see [`Competitor::name`]).
    const NAME: &'static str;
    /// One of the peer pools: run only where [`Lineup::peers`] says so.
    const PEER: bool = true;
    /// Its buffers go back to the stacks of the thread that drops them: the
    /// groups that run on several threads leave it out.
    const THREAD_LOCAL: bool = false;
    /// A second form of a competitor (zeropool's zeroing API; the bound that
    /// makes tierpool's proof), which `hit` alone shows beside the first.
    const SECOND_FORM: bool = false;

    /// A buffer out of the pool; dropping it gives it back.
    type Buf<'a>: Send
    where
        Self: 'a;

    /// A pool for buffers of `size` bytes.
    fn new(size: usize) -> Self;

    /// An empty buffer of the pool's size.
    fn get(&self) -> Self::Buf<'_>;

    /// The workload's 64 bytes, written as `W` writes.
    fn write<W: Write>(buf: &mut Self::Buf<'_>);

    /// [`crate::touch`] on what the buffer holds, so that the write stays.
    fn touch(buf: &Self::Buf<'_>);

    /// The name of its bench functions under `lineup`'s allocator.
    fn name(_lineup: Lineup) -> String {
        Self::NAME.to_owned()
    }
}

/// What a group does with each competitor.
pub trait Visit {
    /// The group runs on more than one thread: [`Competitor::THREAD_LOCAL`]
    /// ones are left out.
    const THREADS: bool;
    /// The group shows [`Competitor::SECOND_FORM`]s.
    const SECOND_FORMS: bool;

    /// Benches `competitor` under the bench function `name`.
    fn visit<C: Competitor>(&mut self, name: &str, competitor: &C);
}

/// Visits the line-up for buffers of `size` bytes, each competitor made
/// afresh, those the group and `lineup` leave out skipped.
pub fn each<V: Visit>(lineup: Lineup, size: usize, visit: &mut V) {
    one::<BareTls<false>, V>(lineup, size, visit);
    one::<BareTls<true>, V>(lineup, size, visit);
    one::<WithCapacity, V>(lineup, size, visit);
    one::<Zeropool, V>(lineup, size, visit);
    one::<ZeropoolUninit, V>(lineup, size, visit);
    one::<Opool, V>(lineup, size, visit);
    one::<LockfreeObjectPool, V>(lineup, size, visit);
    one::<ObjectPool, V>(lineup, size, visit);
    one::<BytePool, V>(lineup, size, visit);
}

/// Visits `C`, unless the group or `lineup` leaves it out.
fn one<C: Competitor, V: Visit>(lineup: Lineup, size: usize, visit: &mut V) {
    let left_out =
        (C::PEER && !lineup.peers) || (C::THREAD_LOCAL && V::THREADS) || (C::SECOND_FORM && !V::SECOND_FORMS);
    if !left_out {
        visit.visit(&C::name(lineup), &C::new(size));
    }
}

// === the bound and the allocator ===

/// `bare_tls`: the bound, a bare thread-local stack per tier; with `EXACT`,
/// `bare_tls_exact`, the bound that also proves, on each return, what
/// tierpool's return path proves.
pub struct BareTls<const EXACT: bool>(usize);

impl<const EXACT: bool> Competitor for BareTls<EXACT> {
    const NAME: &'static str = if EXACT { "bare_tls_exact" } else { "bare_tls" };
    const PEER: bool = false;
    const THREAD_LOCAL: bool = true;
    const SECOND_FORM: bool = EXACT;
    type Buf<'a> = BareBuf<EXACT>;

    fn new(size: usize) -> Self {
        Self(size)
    }

    #[inline(always)]
    fn get(&self) -> BareBuf<EXACT> {
        BareBuf::get(black_box(self.0))
    }

    #[inline(always)]
    fn write<W: Write>(buf: &mut BareBuf<EXACT>) {
        W::bytes_mut(buf);
    }

    #[inline(always)]
    fn touch(buf: &BareBuf<EXACT>) {
        crate::touch(&**buf);
    }
}

/// `bytesmut_<alloc>`: `BytesMut::with_capacity`, no pool, under the
/// binary's allocator.
pub struct WithCapacity(usize);

impl Competitor for WithCapacity {
    const NAME: &'static str = "bytesmut";
    const PEER: bool = false;
    type Buf<'a> = BytesMut;

    fn new(size: usize) -> Self {
        Self(size)
    }

    #[inline(always)]
    fn get(&self) -> BytesMut {
        BytesMut::with_capacity(black_box(self.0))
    }

    #[inline(always)]
    fn write<W: Write>(buf: &mut BytesMut) {
        W::bytes_mut(buf);
    }

    #[inline(always)]
    fn touch(buf: &BytesMut) {
        crate::touch(&**buf);
    }

    fn name(lineup: Lineup) -> String {
        lineup.bytesmut()
    }
}

// === the peer pools ===

/// `zeropool`: its safe `alloc`, which zeroes the requested length.
pub struct Zeropool(zeropool::ZeroPool, usize);

impl Competitor for Zeropool {
    const NAME: &'static str = "zeropool";
    const SECOND_FORM: bool = true;
    type Buf<'a> = zeropool::Buf<'a>;

    fn new(size: usize) -> Self {
        Self(zeropool::ZeroPool::new(), size)
    }

    #[inline(always)]
    fn get(&self) -> zeropool::Buf<'_> {
        self.0.alloc(black_box(self.1))
    }

    #[inline(always)]
    fn write<W: Write>(buf: &mut zeropool::Buf<'_>) {
        slice::<W>(buf);
    }

    #[inline(always)]
    fn touch(buf: &zeropool::Buf<'_>) {
        crate::touch(&**buf);
    }
}

/// `zeropool_uninit`: `alloc_uninit`, then the write into the uninitialised
/// bytes.
pub struct ZeropoolUninit(zeropool::ZeroPool, usize);

impl Competitor for ZeropoolUninit {
    const NAME: &'static str = "zeropool_uninit";
    type Buf<'a> = zeropool::BufUninit<'a>;

    fn new(size: usize) -> Self {
        Self(zeropool::ZeroPool::new(), size)
    }

    #[inline(always)]
    fn get(&self) -> zeropool::BufUninit<'_> {
        self.0.alloc_uninit(black_box(self.1))
    }

    #[inline(always)]
    fn write<W: Write>(buf: &mut zeropool::BufUninit<'_>) {
        uninit::<W>(buf.as_uninit_mut());
    }

    #[inline(always)]
    fn touch(buf: &zeropool::BufUninit<'_>) {
        crate::touch(buf);
    }
}

/// opool's allocator hook: one pool per tier size.
pub struct TierAlloc(pub usize);

impl opool::PoolAllocator<BytesMut> for TierAlloc {
    fn allocate(&self) -> BytesMut {
        BytesMut::with_capacity(self.0)
    }
    fn reset(&self, obj: &mut BytesMut) {
        obj.clear();
    }
    fn is_valid(&self, obj: &BytesMut) -> bool {
        obj.capacity() >= self.0
    }
}

/// `opool`: 1024 `BytesMut`, cleared on return.
pub struct Opool(opool::Pool<TierAlloc, BytesMut>);

impl Competitor for Opool {
    const NAME: &'static str = "opool";
    type Buf<'a> = opool::RefGuard<'a, TierAlloc, BytesMut>;

    fn new(size: usize) -> Self {
        Self(opool::Pool::new(1024, TierAlloc(size)))
    }

    #[inline(always)]
    fn get(&self) -> Self::Buf<'_> {
        self.0.get()
    }

    #[inline(always)]
    fn write<W: Write>(buf: &mut Self::Buf<'_>) {
        W::bytes_mut(buf);
    }

    #[inline(always)]
    fn touch(buf: &Self::Buf<'_>) {
        crate::touch(&**buf);
    }
}

/// `lockfree_object_pool`: its `LinearObjectPool` of `BytesMut`, cleared on
/// return.
pub struct LockfreeObjectPool(lockfree_object_pool::LinearObjectPool<BytesMut>);

impl Competitor for LockfreeObjectPool {
    const NAME: &'static str = "lockfree_object_pool";
    type Buf<'a> = lockfree_object_pool::LinearReusable<'a, BytesMut>;

    fn new(size: usize) -> Self {
        Self(lockfree_object_pool::LinearObjectPool::new(move || BytesMut::with_capacity(size), BytesMut::clear))
    }

    #[inline(always)]
    fn get(&self) -> Self::Buf<'_> {
        self.0.pull()
    }

    #[inline(always)]
    fn write<W: Write>(buf: &mut Self::Buf<'_>) {
        W::bytes_mut(buf);
    }

    #[inline(always)]
    fn touch(buf: &Self::Buf<'_>) {
        crate::touch(&**buf);
    }
}

/// `object_pool`: a `Mutex<Vec<BytesMut>>`, which does not reset on
/// return, so a get clears.
pub struct ObjectPool(object_pool::Pool<BytesMut>, usize);

impl Competitor for ObjectPool {
    const NAME: &'static str = "object_pool";
    type Buf<'a> = object_pool::Reusable<'a, BytesMut>;

    fn new(size: usize) -> Self {
        Self(object_pool::Pool::new(0, move || BytesMut::with_capacity(size)), size)
    }

    #[inline(always)]
    fn get(&self) -> Self::Buf<'_> {
        let size = self.1;
        let mut buf = self.0.pull(|| BytesMut::with_capacity(size));
        buf.clear(); // object-pool does not reset on return
        buf
    }

    #[inline(always)]
    fn write<W: Write>(buf: &mut Self::Buf<'_>) {
        W::bytes_mut(buf);
    }

    #[inline(always)]
    fn touch(buf: &Self::Buf<'_>) {
        crate::touch(&**buf);
    }
}

/// `byte_pool`: its `BytePool<Vec<u8>>`, which hands out slices.
pub struct BytePool(byte_pool::BytePool<Vec<u8>>, usize);

impl Competitor for BytePool {
    const NAME: &'static str = "byte_pool";
    type Buf<'a> = byte_pool::Block<'a, Vec<u8>>;

    fn new(size: usize) -> Self {
        Self(byte_pool::BytePool::new(), size)
    }

    #[inline(always)]
    fn get(&self) -> Self::Buf<'_> {
        self.0.alloc(black_box(self.1))
    }

    #[inline(always)]
    fn write<W: Write>(buf: &mut Self::Buf<'_>) {
        slice::<W>(buf);
    }

    #[inline(always)]
    fn touch(buf: &Self::Buf<'_>) {
        crate::touch(&**buf);
    }
}

// === writes into slices ===

fn fill_slice(dst: &mut [u8]) {
    dst[..PAYLOAD.len()].copy_from_slice(&PAYLOAD);
}

fn fill_uninit(dst: &mut [MaybeUninit<u8>]) {
    for (d, &s) in dst[..PAYLOAD.len()].iter_mut().zip(&PAYLOAD) {
        d.write(s);
    }
}

/// Writes the payload into the start of a slice (zeropool, byte-pool hand
/// out slices, not `BytesMut`): opaquely, or inlined.
#[inline]
fn slice<W: Write>(dst: &mut [u8]) {
    if W::NAME == "opaque" {
        opaque_slice(dst);
    } else {
        fill_slice(dst);
    }
}

/// As [`slice`], into an uninitialised slice (zeropool's `alloc_uninit`).
#[inline]
fn uninit<W: Write>(dst: &mut [MaybeUninit<u8>]) {
    if W::NAME == "opaque" {
        opaque_uninit(dst);
    } else {
        fill_uninit(dst);
    }
}

#[inline(never)]
fn opaque_slice(dst: &mut [u8]) {
    black_box(fill_slice as fn(&mut [u8]))(dst);
}

#[inline(never)]
fn opaque_uninit(dst: &mut [MaybeUninit<u8>]) {
    black_box(fill_uninit as fn(&mut [MaybeUninit<u8>]))(dst);
}
