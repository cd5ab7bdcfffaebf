//! `PooledBuf` has `BytesMut`'s trait surface, and behaves as `BytesMut`
//! does: each test compares the guard with a `BytesMut` of the same bytes.

use std::collections::HashSet;
use std::hash::{BuildHasher, RandomState};

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::pool;

#[test]
fn comparisons_agree_with_bytes_mut() {
    let pool = pool();
    let contents: [&[u8]; 4] = [b"", b"abc", b"abd", b"ab"];
    for a in contents {
        let mut guard = pool.get(16);
        guard.extend_from_slice(a);
        let same = BytesMut::from(a);
        for b in contents {
            let s = std::str::from_utf8(b).unwrap();
            let other = BytesMut::from(b);
            assert_eq!(guard == *b, same == *b, "[u8] {a:?} {b:?}");
            assert_eq!(guard == b, same == b, "&[u8]");
            assert_eq!(guard == *s, same == *s, "str");
            assert_eq!(guard == s, same == s, "&str");
            assert_eq!(guard == b.to_vec(), same == b.to_vec(), "Vec<u8>");
            let string: String = s.to_owned();
            assert_eq!(guard == string, same == string, "String");
            assert_eq!(guard == Bytes::copy_from_slice(b), same == Bytes::copy_from_slice(b), "Bytes");
            assert_eq!(guard == other, same == other, "BytesMut");
            assert_eq!(guard.partial_cmp(b), same.partial_cmp(b), "cmp [u8]");
            assert_eq!(guard.partial_cmp(s), same.partial_cmp(s), "cmp str");
            assert_eq!(guard.partial_cmp(&b.to_vec()), same.partial_cmp(&b.to_vec()), "cmp Vec");
            // The other way round.
            assert_eq!(*b == guard, *b == same);
            assert_eq!(*s == guard, *s == same);
            assert_eq!(b.to_vec() == guard, b.to_vec() == same);
            assert_eq!(Bytes::copy_from_slice(b) == guard, Bytes::copy_from_slice(b) == same);
            assert_eq!(other == guard, other == same);
            assert_eq!(b.partial_cmp(&guard), b.partial_cmp(&same));
            // Guard against guard.
            let mut g2 = pool.get(16);
            g2.extend_from_slice(b);
            assert_eq!(guard == g2, same == other);
            assert_eq!(guard.cmp(&g2), same.cmp(&other));
        }
    }
}

#[test]
// The key's hash and equality are its bytes; the pool reference inside a
// guard (whose engine has atomics) plays no part.
#[allow(clippy::mutable_key_type)]
fn hash_and_borrow_agree_with_the_bytes() {
    let pool = pool();
    let state = RandomState::new();
    let mut guard = pool.get(16);
    guard.extend_from_slice(b"key");
    assert_eq!(state.hash_one(&guard), state.hash_one(BytesMut::from(&b"key"[..])));
    assert_eq!(state.hash_one(&guard), state.hash_one(&b"key"[..]));
    let mut set = HashSet::new();
    set.insert(guard);
    assert!(set.contains(&b"key"[..]), "Borrow<[u8]> finds it by its bytes");
}

#[test]
fn borrow_mut_and_iteration_see_the_bytes() {
    use std::borrow::BorrowMut;
    let pool = pool();
    let mut guard = pool.get(16);
    guard.extend_from_slice(b"abc");
    let slice: &mut [u8] = guard.borrow_mut();
    slice[0] = b'x';
    assert_eq!((&guard).into_iter().copied().collect::<Vec<u8>>(), b"xbc");
    assert_eq!(guard, "xbc");
}

#[test]
fn extend_with_bytes_appends_as_bytes_mut_does() {
    let pool = pool();
    let parts = [Bytes::from_static(b"GET "), Bytes::from_static(b"/ "), Bytes::from_static(b"HTTP/1.1")];
    let mut guard = pool.get(64);
    guard.extend(parts.clone());
    let mut same = BytesMut::new();
    same.extend(parts);
    assert_eq!(guard, same);
}

#[test]
fn buf_reads_as_bytes_mut_does_but_copy_to_bytes_never_shares_the_storage() {
    let pool = pool();
    let mut guard = pool.get(64);
    guard.put_u16(3);
    guard.put_slice(b"abcdef");
    let mut same = BytesMut::from(&guard[..]);
    assert_eq!((guard.remaining(), guard.chunk()), (same.remaining(), same.chunk()));
    assert_eq!(guard.get_u16(), same.get_u16());
    let (a, b) = (guard.copy_to_bytes(3), same.copy_to_bytes(3));
    assert_eq!(a, b);
    assert_eq!((guard.remaining(), guard.chunk()), (same.remaining(), same.chunk()));
    assert!(a.is_unique(), "a copy of its own, not a view of pool memory");
    guard.advance(3);
    assert!(!guard.has_remaining());
    drop(guard);
    let t = &pool.stats().tiers[0];
    assert_eq!((t.returns, t.discards.shared), (1, 0), "nothing shares the storage: pooled");
}

#[test]
fn a_guard_read_to_its_last_byte_comes_back_whole() {
    let pool = pool();
    let mut guard = pool.get(4096);
    guard.put_bytes(b'z', 4096);
    let mut sink = Vec::new();
    while guard.has_remaining() {
        let n = guard.chunk().len().min(1000);
        sink.extend_from_slice(&guard.chunk()[..n]);
        guard.advance(n);
    }
    assert_eq!((sink.len(), guard.capacity()), (4096, 0));
    drop(guard);
    let again = pool.get(4096);
    assert_eq!((again.capacity(), pool.stats().tiers[0].returns), (4096, 1), "pooled whole, not discarded");
}
