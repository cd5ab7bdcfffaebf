//! The one thing tierpool reads of `BytesMut` beyond its public API: the
//! word that says how a buffer holds its storage, so that a standard
//! buffer's return through `&mut BytesMut` is proved exact by two compares
//! instead of `normalise`'s probes (`recycle.rs`).
//!
//! # What `bytes` 1.x does, and what the check relies on
//!
//! A `BytesMut` is four words: `ptr`, `len`, `cap` and `data`
//! (`bytes_mut.rs`). `data` says how the storage is held:
//!
//! - **`KIND_VEC`** (low bit 1): the buffer alone owns a `Vec`; the rest of
//!   the word holds the `Vec`'s original-capacity class and the view's
//!   offset into it (`vec_pos`). The `Vec` is rebuilt from `ptr - off`,
//!   `len + off` and `cap + off`, so `cap + off` *is* its capacity.
//! - **`KIND_ARC`** (low bit 0): a pointer to a reference-counted `Shared`.
//!
//! Every way to share storage (`split_off`, `split_to`, `split`, `freeze` of
//! a split, a clone of the storage) goes through `shallow_clone`, which
//! promotes a `KIND_VEC` buffer to `KIND_ARC` and rewrites `data`. Every way
//! to move the view's start (`advance`, `split_to`) changes `vec_pos` in
//! `data`, or promotes. Growth that reallocates changes `cap` (and `ptr`).
//!
//! So a buffer whose `data` word equals that of a fresh
//! `BytesMut::with_capacity(size)` (`KIND_VEC`, offset 0, the same
//! original-capacity class) and whose `capacity()` is `size` owns a `Vec`
//! of exactly `size` bytes, alone, viewed whole from offset 0: after
//! `clear()`, every pooled-buffer invariant holds (`buffer.rs`). Replacing
//! the buffer wholesale (`*buf = BytesMut::with_capacity(size)`) passes
//! too, and rightly: the new one keeps the invariants as well. Anything
//! else fails the compare and takes the full check, which never trusts the
//! view.
//!
//! The check does not decode `data`: it compares it with a fresh buffer's.
//! What it assumes is that the word it found by [`probe`] is the one that
//! changes when storage is shared or the view moves, and that two fresh
//! buffers of one capacity agree on it (the engine records a tier's value
//! from the first buffer it allocates for the tier). `probe` verifies that
//! on a real buffer every time a pool is built, and returns `None` (every
//! return then takes the full check) if any step surprises it; the unit
//! tests pin each operation listed above against a change of `bytes`.

use bytes::{BufMut, BytesMut};

/// The words of a `BytesMut`.
const WORDS: usize = 4;

// A change of `BytesMut`'s size is a change of its representation: this
// fails to compile, and the check must be reconsidered.
const _: () = assert!(core::mem::size_of::<BytesMut>() == WORDS * core::mem::size_of::<usize>());

/// Where a `BytesMut` keeps its `data` word, as [`probe`] found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DataWord(usize);

/// Reads word `index` of `buf`'s representation, as an address.
///
/// The crate's fifth use of `unsafe` (`lib.rs`).
#[inline]
#[allow(unsafe_code)]
fn word(buf: &BytesMut, index: usize) -> usize {
    debug_assert!(index < WORDS);
    let words: *const *const () = core::ptr::from_ref(buf).cast();
    // SAFETY:
    // - `buf` is a live, initialised `BytesMut` of `WORDS` words (the
    //   assertion above), each a pointer or a `usize` with no padding
    //   between them, and `index < WORDS`: the read is in bounds, aligned
    //   (the struct's alignment is a word's) and of initialised bytes;
    // - each word is read as `*const ()` and only its address is kept, so
    //   no pointer is made from an integer and none is dereferenced (Miri's
    //   strict-provenance run covers this);
    // - nothing is written, and `buf` is borrowed for the read.
    let raw = unsafe { core::ptr::read(words.add(index)) };
    raw.addr()
}

impl DataWord {
    /// `buf`'s `data` word.
    #[inline]
    pub(crate) fn of(self, buf: &BytesMut) -> usize {
        word(buf, self.0)
    }
}

/// Finds the `data` word: of a buffer with capacity 4096 and 3 bytes
/// written, it is the word that is neither its address, nor its length,
/// nor its capacity. Then checks, on real buffers, what the exact check
/// relies on: the word is odd (`KIND_VEC`) on a fresh buffer, equal on two
/// fresh buffers of one capacity, and changed by sharing (`split_off`) and
/// by moving the view (`advance`). `None` if any of it fails.
pub(crate) fn probe() -> Option<DataWord> {
    let mut buf = BytesMut::with_capacity(4096);
    buf.put_slice(&[0; 3]);
    let roles = [buf.as_ptr().addr(), buf.len(), buf.capacity()];
    let mut rest = (0..WORDS).filter(|&i| !roles.contains(&word(&buf, i)));
    let data = DataWord(rest.next()?);
    if rest.next().is_some() {
        return None;
    }
    let fresh = data.of(&BytesMut::with_capacity(4096));
    if fresh & 1 == 0 || data.of(&buf) != fresh {
        return None;
    }
    let mut moved = BytesMut::with_capacity(4096);
    moved.put_slice(&[0; 3]);
    bytes::Buf::advance(&mut moved, 1);
    let mut shared = buf;
    let tail = shared.split_off(4096);
    let changed = data.of(&moved) != fresh && data.of(&shared) != fresh;
    drop(tail);
    changed.then_some(data)
}

/// What a fresh, empty `BytesMut::with_capacity(size)` holds in its `data`
/// word: the value a standard buffer of a tier of `size` shows while it is
/// as the pool handed it out. (The engine records it from the tier's first
/// allocation instead, so that building a pool allocates no tier.)
#[cfg(test)]
pub(crate) fn fresh_data(data: DataWord, size: usize) -> usize {
    data.of(&BytesMut::with_capacity(size))
}

#[cfg(test)]
mod tests {
    use bytes::{Buf, BufMut, BytesMut};

    use super::*;

    fn found() -> DataWord {
        probe().expect("bytes' representation is as this module describes")
    }

    /// The exact check's condition, as `recycle.rs` applies it after
    /// `clear()`.
    fn passes(buf: &BytesMut, size: usize) -> bool {
        let data = found();
        buf.capacity() == size && data.of(buf) == fresh_data(data, size)
    }

    #[test]
    fn the_probe_finds_the_data_word() {
        let data = found();
        let buf = BytesMut::with_capacity(65536);
        assert_eq!(data.of(&buf) & 1, 1, "KIND_VEC");
        assert!(passes(&buf, 65536));
    }

    /// Every operation that shares the storage, moves the view or
    /// reallocates makes the check fail, whatever its length after; the
    /// operations that only write keep it. A change of `bytes` that breaks
    /// this fails here.
    #[test]
    fn each_operation_that_breaks_an_invariant_fails_the_check() {
        const SIZE: usize = 4096;
        type Op = fn(&mut BytesMut) -> Option<Box<dyn core::any::Any>>;
        let keep: [(&str, Op); 5] = [
            ("put_slice", |b| {
                b.put_slice(&[1; 100]);
                None
            }),
            ("truncate", |b| {
                b.put_slice(&[1; 100]);
                b.truncate(10);
                None
            }),
            ("reserve within capacity", |b| {
                b.reserve(100);
                None
            }),
            ("fill to capacity", |b| {
                b.put_bytes(7, SIZE);
                None
            }),
            ("resize within capacity", |b| {
                b.resize(SIZE, 0);
                None
            }),
        ];
        for (what, op) in keep {
            let mut buf = BytesMut::with_capacity(SIZE);
            let held = op(&mut buf);
            buf.clear();
            assert!(passes(&buf, SIZE), "{what} keeps the buffer exact");
            drop(held);
        }
        let fail: [(&str, Op); 9] = [
            ("split_off(capacity): an empty tail shares the storage", |b| Some(Box::new(b.split_off(SIZE)))),
            ("split_off(0)", |b| Some(Box::new(b.split_off(0)))),
            ("split_to(0)", |b| Some(Box::new(b.split_to(0)))),
            ("split", |b| {
                b.put_slice(&[1; 10]);
                Some(Box::new(b.split().freeze()))
            }),
            ("split, the other half dropped", |b| {
                b.put_slice(&[1; 10]);
                drop(b.split());
                None
            }),
            ("advance", |b| {
                b.put_slice(&[1; 10]);
                b.advance(1);
                None
            }),
            ("reserve past capacity (reallocates)", |b| {
                b.reserve(SIZE + 1);
                None
            }),
            ("replaced by a larger buffer", |b| {
                *b = BytesMut::with_capacity(2 * SIZE);
                None
            }),
            ("replaced by a buffer from a Vec", |b| {
                *b = BytesMut::from(&[0u8; 10][..]);
                None
            }),
        ];
        for (what, op) in fail {
            let mut buf = BytesMut::with_capacity(SIZE);
            let held = op(&mut buf);
            buf.clear();
            assert!(!passes(&buf, SIZE), "{what} must fail the check");
            drop(held);
        }
    }

    #[test]
    fn a_buffer_replaced_by_a_fresh_one_of_the_same_size_passes_and_is_exact() {
        let mut buf = BytesMut::with_capacity(4096);
        buf.put_slice(b"old");
        buf = BytesMut::with_capacity(4096);
        assert!(passes(&buf, 4096), "a new, whole, unique buffer keeps every invariant");
    }
}
