//! `PooledChain`: writes through every trait straddle chunk boundaries and
//! land as a `Vec` would; reads return chunks as they go; limits, budgets,
//! zero-copy pieces and conversions.

use std::io::{IoSlice, Write as _};

use bytes::{Buf, BufMut, Bytes};
use tierpool::{BufPool, ChainError};

/// A pool whose chunks are 16 bytes, so every write straddles boundaries.
fn small() -> BufPool {
    BufPool::builder().tiers(&[16, 64]).build().unwrap()
}

fn contents(chain: &tierpool::PooledChain<'_>) -> Vec<u8> {
    chain.chunks().flatten().copied().collect()
}

#[test]
fn writes_through_every_trait_straddle_chunks_and_land_in_order() {
    let pool = small();
    let mut chain = pool.chain(16);
    let mut expected = Vec::new();
    // BufMut
    chain.put_slice(b"0123456789abcdefXYZ");
    expected.extend_from_slice(b"0123456789abcdefXYZ");
    chain.put_u64(0x0102_0304_0506_0708);
    expected.extend_from_slice(&0x0102_0304_0506_0708_u64.to_be_bytes());
    chain.put_bytes(b'-', 30);
    expected.extend_from_slice(&[b'-'; 30]);
    // chunk_mut + advance_mut, as tokio's read_buf does
    let spare = chain.chunk_mut();
    let n = spare.len().min(5);
    spare[..n].copy_from_slice(&b"hello"[..n]);
    // SAFETY: the first `n` bytes of the chunk just returned were written.
    unsafe { chain.advance_mut(n) };
    expected.extend_from_slice(&b"hello"[..n]);
    // io::Write, vectored and not
    chain.write_all(b" io-write ").unwrap();
    expected.extend_from_slice(b" io-write ");
    let written =
        chain.write_vectored(&[IoSlice::new(b"vec"), IoSlice::new(b"tored"), IoSlice::new(&[b'!'; 40])]).unwrap();
    assert_eq!(written, 48, "a real write_vectored writes every slice");
    expected.extend_from_slice(b"vectored");
    expected.extend_from_slice(&[b'!'; 40]);
    // fmt::Write
    std::fmt::Write::write_fmt(&mut chain, format_args!("{:>20}|", "formatted")).unwrap();
    expected.extend_from_slice(format!("{:>20}|", "formatted").as_bytes());
    // extend_from_slice
    chain.extend_from_slice(&[7; 100]);
    expected.extend_from_slice(&[7; 100]);

    assert_eq!(contents(&chain), expected);
    assert_eq!(chain.len(), expected.len());
    assert_eq!(chain.chunk_count(), expected.len().div_ceil(16), "every chunk but the last is full");
    assert!(chain.chunks().rev().skip(1).all(|c| c.len() == 16));
    assert_eq!(pool.stats().outstanding, chain.chunk_count() as u64, "each chunk is a checkout");
    drop(chain);
    let stats = pool.stats();
    assert_eq!((stats.outstanding, stats.discards().total()), (0, 0), "all back, none discarded");
}

#[test]
fn reading_returns_each_chunk_as_soon_as_it_is_read() {
    let pool = small();
    let mut chain = pool.chain(16);
    let data: Vec<u8> = (0..100).collect();
    chain.extend_from_slice(&data);
    assert_eq!(chain.chunk_count(), 7);
    let mut slices = [IoSlice::new(&[]); 16];
    let n = chain.chunks_vectored(&mut slices);
    assert_eq!(n, 7);
    assert_eq!(slices[..n].iter().flat_map(|s| s.iter().copied()).collect::<Vec<u8>>(), data);
    chain.advance(10);
    assert_eq!((chain.chunk(), chain.remaining()), (&data[10..16], 90));
    chain.advance(6);
    assert_eq!((chain.chunk_count(), pool.stats().outstanding), (6, 6), "the first chunk went back");
    assert_eq!(chain.get_u32(), u32::from_be_bytes([16, 17, 18, 19]));
    let rest = chain.copy_to_bytes(chain.remaining());
    assert_eq!(&rest[..], &data[20..]);
    assert_eq!((chain.len(), chain.chunk_count(), pool.stats().outstanding), (0, 0, 0));
    // Written again after being read empty.
    chain.extend_from_slice(b"again");
    assert_eq!(contents(&chain), b"again");
}

#[test]
fn write_all_buf_sends_the_chain_with_vectored_writes() {
    let pool = small();
    let mut chain = pool.chain(16);
    chain.extend_from_slice(&[3; 1000]);
    let mut sink: Vec<u8> = Vec::new();
    // `std::io::Write::write_all_buf` is unstable; this is its loop.
    while chain.has_remaining() {
        let mut slices = [IoSlice::new(&[]); 64];
        let n = chain.chunks_vectored(&mut slices);
        let written = sink.write_vectored(&slices[..n]).unwrap();
        chain.advance(written);
    }
    assert_eq!(sink, vec![3; 1000]);
    assert_eq!(pool.stats().outstanding, 0);
}

#[test]
fn a_limit_refuses_the_write_that_crosses_it_and_keeps_everything_before() {
    let pool = small();
    let mut chain = pool.chain(16).with_limit(50);
    assert_eq!(chain.max_len(), Some(50));
    chain.try_extend_from_slice(&[1; 40]).unwrap();
    assert_eq!(chain.try_extend_from_slice(&[2; 11]), Err(ChainError::LimitExceeded { limit: 50 }));
    assert_eq!((chain.len(), contents(&chain)), (40, vec![1; 40]), "nothing of the refused write, all of before");
    assert_eq!(chain.remaining_mut(), 10);
    assert_eq!(chain.chunk_mut().len().min(10), chain.chunk_mut().len(), "chunk_mut offers no more than the room");
    assert_eq!(chain.write(&[3; 20]).unwrap(), 10, "io::Write writes what fits");
    let err = chain.write(b"x").unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::FileTooLarge);
    let inner = err.get_ref().and_then(|e| e.downcast_ref::<ChainError>()).unwrap();
    assert_eq!(*inner, ChainError::LimitExceeded { limit: 50 });
    assert!(std::fmt::Write::write_str(&mut chain, "y").is_err(), "fmt::Write refuses too");
    assert_eq!(chain.remaining_mut(), 0);
    assert_eq!(chain.chunk_mut().len(), 0);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| chain.put_u8(0)));
    assert!(result.is_err(), "BufMut's put past the limit panics, as its contract says");
    drop(chain);
    assert_eq!(pool.stats().outstanding, 0, "no chunk leaked");
}

#[test]
fn chunks_beyond_the_budget_are_discarded_when_the_chain_returns_them() {
    let pool = BufPool::builder().tiers(&[4096]).max_retained_bytes(4 * 4096).build().unwrap();
    let mut chain = pool.chain(4096);
    chain.extend_from_slice(&vec![9; 16 * 4096]);
    assert_eq!(chain.chunk_count(), 16);
    drop(chain);
    let stats = pool.stats();
    assert!(stats.retained_bytes() <= 4 * 4096, "{}", stats.retained_bytes());
    assert!(stats.tiers[0].discards.over_budget >= 12);
    assert_eq!(stats.outstanding, 0);
}

#[test]
fn zero_copy_pieces_return_their_chunks_on_their_last_drop() {
    let pool = std::sync::Arc::new(small());
    let mut chain = pool.chain_owned(16);
    chain.extend_from_slice(&[4; 40]);
    let pieces = chain.into_pieces();
    assert_eq!(pieces.iter().map(Bytes::len).collect::<Vec<_>>(), [16, 16, 8]);
    assert_eq!(pool.stats().outstanding, 3);
    let clone = pieces[0].slice(2..4);
    let mut pieces = pieces.into_iter();
    drop(pieces.next());
    assert_eq!(pool.stats().outstanding, 3, "a slice still holds the first chunk");
    drop(clone);
    assert_eq!(pool.stats().outstanding, 2);
    let rest: Vec<Bytes> = pieces.collect();
    std::thread::spawn(move || drop(rest)).join().unwrap();
    assert_eq!(pool.stats().outstanding, 0, "the last drop, on another thread, returned them");
}

#[test]
fn freeze_and_into_contiguous_copy_out_and_return_every_chunk() {
    let pool = BufPool::new();
    let mut chain = pool.chain(4096);
    chain.extend_from_slice(&[8; 10_000]);
    let bytes = chain.freeze();
    assert_eq!(bytes, vec![8; 10_000]);
    assert!(bytes.is_unique(), "its own allocation");
    assert_eq!(pool.stats().outstanding, 0);

    let mut chain = pool.chain(4096);
    chain.extend_from_slice(&[9; 10_000]);
    let buf = chain.into_contiguous().unwrap();
    assert_eq!((&buf[..], buf.tier_size()), (&[9; 10_000][..], Some(65536)));
    drop(buf);
    let mut too_big = pool.chain(1 << 20);
    too_big.extend_from_slice(&vec![0; (1 << 20) + 1]);
    let back = too_big.into_contiguous().unwrap_err();
    assert_eq!(back.len(), (1 << 20) + 1, "the chain comes back, unchanged");
}

#[test]
fn clear_returns_the_chunks_and_keeps_the_limit() {
    let pool = small();
    let mut chain = pool.chain(16).with_limit(100);
    chain.extend_from_slice(&[1; 90]);
    chain.clear();
    assert_eq!((chain.len(), chain.chunk_count(), pool.stats().outstanding), (0, 0, 0));
    assert_eq!(chain.try_extend_from_slice(&[2; 101]), Err(ChainError::LimitExceeded { limit: 100 }));
    assert_eq!(format!("{chain:?}"), "PooledChain { chunk_size: 16, len: 0, chunks: 0, max_len: Some(100) }");
}

#[test]
fn serde_json_documents_round_trip_through_a_chain() {
    use proptest::prelude::*;
    let pool = BufPool::builder().tiers(&[256, 4096]).build().unwrap();
    let doc = (
        proptest::collection::vec((any::<u32>(), "[a-z]{0,20}", any::<bool>()), 0..if cfg!(miri) { 40 } else { 2000 }),
        any::<i64>(),
    );
    let config = crate::support::config(if cfg!(miri) { 3 } else { 64 }, "proptests/regressions/chain_json.txt");
    proptest::test_runner::TestRunner::new(config)
        .run(&doc, |doc| {
            let mut chain = pool.chain(256);
            serde_json::to_writer(&mut chain, &doc).unwrap();
            let json = serde_json::to_vec(&doc).unwrap();
            prop_assert_eq!(chain.len(), json.len());
            prop_assert_eq!(contents(&chain), json, "byte for byte what to_vec writes");
            let back: (Vec<(u32, String, bool)>, i64) = serde_json::from_reader(chain.reader()).unwrap();
            prop_assert_eq!(back, doc);
            Ok(())
        })
        .unwrap();
    assert_eq!(pool.stats().outstanding, 0);
}

#[test]
fn no_chunk_holds_more_than_chunk_size_whatever_the_tier_hands_out() {
    let pool = BufPool::new();
    // The 64 KiB tier now holds a 100 KiB buffer (given back with `put`) and
    // a 4 KiB guard grown to 70 KiB: both are handed out as chunks.
    assert_eq!(pool.put(bytes::BytesMut::with_capacity(100 << 10)), tierpool::Put::Pooled { tier_size: 64 << 10 });
    let mut grown = pool.get(100);
    grown.reserve(70 << 10);
    drop(grown);
    assert_eq!(pool.stats().tiers[1].retained_buffers, 2);
    let mut chain = pool.chain(64 << 10);
    chain.extend_from_slice(&vec![3; 200 << 10]);
    let lens: Vec<usize> = chain.chunks().map(<[u8]>::len).collect();
    assert_eq!(lens, [64 << 10, 64 << 10, 64 << 10, 8 << 10], "each chunk holds chunk_size bytes");
    // The same after reading from the front of the last chunk.
    chain.advance((3 << 16) + 1000);
    chain.extend_from_slice(&vec![4; 60 << 10]);
    let lens: Vec<usize> = chain.chunks().map(<[u8]>::len).collect();
    assert_eq!(lens, [(64 << 10) - 1000, 4 << 10], "the read part of a chunk counts toward its size");
}

#[cfg(feature = "tokio")]
#[test]
fn read_chain_keeps_no_empty_chunk_at_a_chunk_boundary() {
    use tierpool::tokio::read_chain;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let pool = BufPool::new();
        let body = vec![9u8; 20 << 20];
        for limit in [None, Some(64 << 20)] {
            let mut socket: &[u8] = &body;
            let mut chain = pool.chain(1 << 20);
            if let Some(limit) = limit {
                chain = chain.with_limit(limit);
            }
            while read_chain(&mut socket, &mut chain).await.unwrap() > 0 {}
            assert_eq!((chain.len(), chain.chunk_count()), (20 << 20, 20), "twenty chunks, limit {limit:?}");
            assert_eq!(pool.stats().outstanding, 20);
        }
    });
}

#[cfg(feature = "tokio")]
#[test]
fn read_chain_holds_no_new_chunk_while_it_waits() {
    use tierpool::tokio::read_chain;
    use tokio::io::AsyncWriteExt;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let pool = BufPool::builder().tiers(&[16]).build().unwrap();
        let (mut client, mut server) = tokio::io::duplex(64);
        client.write_all(&[1; 16]).await.unwrap(); // fills the first chunk exactly
        let mut chain = pool.chain(16);
        assert_eq!(read_chain(&mut server, &mut chain).await.unwrap(), 16);
        // Nothing more to read: the read waits, and is given up.
        let waiting = tokio::time::timeout(std::time::Duration::from_millis(1), read_chain(&mut server, &mut chain));
        assert!(waiting.await.is_err(), "no data: the read waits");
        assert_eq!((chain.chunk_count(), pool.stats().outstanding), (1, 1), "the waiting read took no chunk");
        drop(client);
        assert_eq!(read_chain(&mut server, &mut chain).await.unwrap(), 0);
        assert_eq!(chain.chunk_count(), 1);
    });
}
