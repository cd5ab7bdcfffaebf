//! The bound: a bare thread-local stack of boxed `BytesMut` per tier, and
//! nothing else. A get pops (or allocates); a drop pushes the buffer back if
//! its start pointer and capacity are those it was handed out with. It is
//! the floor a thread-cached design reaches: no stats, no budget, no decay,
//! no global level, no ceiling, one pool.
//!
//! [`BareExact`] also proves, on every return, what tierpool's return path
//! proves of an exposed guard: that the storage is unique and the view
//! whole (`src/recycle.rs`, `normalise`). The plain [`Bare`] cannot tell a
//! buffer that grew in place and had its tail split off from one that did
//! not, so it is a bound, not a correct pool.
#![allow(unsafe_code, clippy::vec_box)] // one pointer moves, as in tierpool

use std::cell::RefCell;
use std::ops::{Deref, DerefMut};

use bytes::{Buf, BufMut, BytesMut};

use crate::TIERS;

type Stacks = [RefCell<Vec<Box<BytesMut>>>; 3];

thread_local! {
    static STACKS: Stacks = const { [const { RefCell::new(Vec::new()) }; 3] };
}

/// The stacks, reached as tierpool reaches its registry (`src/local.rs`):
/// through an address taken in `with`, so that `with` is inlined.
#[inline(always)]
fn stacks() -> &'static Stacks {
    let stacks: *const Stacks = STACKS.with(std::ptr::from_ref);
    // SAFETY:
    // - this thread's storage, valid while the thread runs;
    // - the reference is `!Send` (`RefCell` is `!Sync`) and stays on it.
    unsafe { &*stacks }
}

/// A buffer from the bare stack; `EXACT` adds tierpool's exactness check.
pub struct BareBuf<const EXACT: bool> {
    buf: Option<Box<BytesMut>>,
    tier: usize,
    start: usize,
    capacity: usize,
}

pub type Bare = BareBuf<false>;
pub type BareExact = BareBuf<true>;

impl<const EXACT: bool> BareBuf<EXACT> {
    #[inline(always)]
    pub fn get(n: usize) -> Self {
        let tier = TIERS.iter().position(|&(_, size)| size >= n).expect("within the largest tier");
        let buf = stacks()[tier].borrow_mut().pop().unwrap_or_else(|| Box::new(BytesMut::with_capacity(TIERS[tier].1)));
        let (start, capacity) = (buf.as_ptr().addr(), buf.capacity());
        Self { buf: Some(buf), tier, start, capacity }
    }
}

impl<const EXACT: bool> Drop for BareBuf<EXACT> {
    #[inline(always)]
    fn drop(&mut self) {
        let Some(mut buf) = self.buf.take() else { return };
        if EXACT {
            if buf.is_empty() {
                buf.put_u8(0);
            }
            buf.advance(1);
            buf.clear();
            let before = buf.as_ptr().addr();
            if !buf.try_reclaim(buf.capacity() + 1) || buf.as_ptr().addr() >= before {
                return;
            }
        }
        if buf.as_ptr().addr() == self.start && buf.capacity() == self.capacity {
            buf.clear();
            stacks()[self.tier].borrow_mut().push(buf);
        }
    }
}

impl<const EXACT: bool> Deref for BareBuf<EXACT> {
    type Target = BytesMut;

    #[inline]
    fn deref(&self) -> &BytesMut {
        self.buf.as_ref().expect("present until dropped")
    }
}

impl<const EXACT: bool> DerefMut for BareBuf<EXACT> {
    #[inline]
    fn deref_mut(&mut self) -> &mut BytesMut {
        self.buf.as_mut().expect("present until dropped")
    }
}
