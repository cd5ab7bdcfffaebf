//! The peer pools a user could pick instead, each set up as a pool for one
//! size, and the writes they need.

use std::mem::MaybeUninit;

use bytes::BytesMut;

use crate::PAYLOAD;

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

pub type OPool = opool::Pool<TierAlloc, BytesMut>;
pub type LinearPool = lockfree_object_pool::LinearObjectPool<BytesMut>;
pub type MutexVecPool = object_pool::Pool<BytesMut>;

pub fn opool(size: usize) -> OPool {
    opool::Pool::new(1024, TierAlloc(size))
}

pub fn linear_pool(size: usize) -> LinearPool {
    lockfree_object_pool::LinearObjectPool::new(move || BytesMut::with_capacity(size), BytesMut::clear)
}

pub fn mutex_vec_pool(size: usize) -> MutexVecPool {
    object_pool::Pool::new(0, move || BytesMut::with_capacity(size))
}

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
pub fn slice<W: crate::Write>(dst: &mut [u8]) {
    if W::NAME == "opaque" {
        opaque_slice(dst);
    } else {
        fill_slice(dst);
    }
}

/// As [`slice`], into an uninitialised slice (zeropool's `alloc_uninit`).
#[inline]
pub fn uninit<W: crate::Write>(dst: &mut [MaybeUninit<u8>]) {
    if W::NAME == "opaque" {
        opaque_uninit(dst);
    } else {
        fill_uninit(dst);
    }
}

#[inline(never)]
fn opaque_slice(dst: &mut [u8]) {
    std::hint::black_box(fill_slice as fn(&mut [u8]))(dst);
}

#[inline(never)]
fn opaque_uninit(dst: &mut [MaybeUninit<u8>]) {
    std::hint::black_box(fill_uninit as fn(&mut [MaybeUninit<u8>]))(dst);
}
