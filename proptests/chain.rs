//! A model test of `PooledChain`: random writes (through every trait) and
//! reads (through `Buf`), against a `VecDeque<u8>` that holds what the chain
//! must hold. After every step: the contents, the length, the number of
//! chunks (all full but the last, none beyond what is unread), the limit,
//! and the pool's count of checked-out buffers; at the end, one of the
//! conversions, and nothing left checked out.
//!
//! Run: `cargo test --test chain_model` (`PROPTEST_CASES=10000` for more).

#[path = "support.rs"]
mod support;

use std::collections::VecDeque;
use std::io::Write as _;
use std::sync::Arc;

use bytes::{Buf, BufMut, Bytes};
use proptest::prelude::*;
use tierpool::{BufPool, ChainError, PooledChain};

const CHUNK: usize = 32;

#[derive(Debug, Clone)]
enum Op {
    /// `extend_from_slice` / `try_extend_from_slice`.
    Extend(usize),
    /// `BufMut::put_slice`, or `put_u32` for `None`.
    Put(Option<usize>),
    /// `chunk_mut` + write + `advance_mut` of up to this many bytes.
    ChunkMut(usize),
    /// `io::Write::write`.
    IoWrite(usize),
    /// `io::Write::write_vectored` of these slice lengths.
    IoWriteVectored(Vec<usize>),
    /// `fmt::Write::write_str`.
    FmtWrite(usize),
    /// `Buf::advance` by this fraction (of 255) of what is unread.
    Advance(u8),
    /// `Buf::copy_to_bytes` of this fraction.
    CopyToBytes(u8),
    Clear,
}

#[derive(Debug, Clone, Copy)]
enum End {
    Drop,
    Freeze,
    IntoPieces,
    IntoContiguous,
}

fn op() -> impl Strategy<Value = Op> {
    let n = || prop_oneof![3 => 0usize..2 * CHUNK, 1 => 0usize..10 * CHUNK];
    prop_oneof![
        3 => n().prop_map(Op::Extend),
        2 => proptest::option::of(n()).prop_map(Op::Put),
        2 => n().prop_map(Op::ChunkMut),
        2 => n().prop_map(Op::IoWrite),
        1 => proptest::collection::vec(0usize..CHUNK, 0..6).prop_map(Op::IoWriteVectored),
        1 => n().prop_map(Op::FmtWrite),
        3 => any::<u8>().prop_map(Op::Advance),
        1 => any::<u8>().prop_map(Op::CopyToBytes),
        1 => Just(Op::Clear),
    ]
}

fn end() -> impl Strategy<Value = End> {
    prop_oneof![Just(End::Drop), Just(End::Freeze), Just(End::IntoPieces), Just(End::IntoContiguous)]
}

/// `n` bytes that say where they were written (so a misplaced one shows).
fn data(written: &mut u8, n: usize) -> Vec<u8> {
    (0..n)
        .map(|_| {
            *written = written.wrapping_add(1);
            *written
        })
        .collect()
}

struct Model {
    expected: VecDeque<u8>,
    limit: Option<usize>,
    written: u8,
}

impl Model {
    fn room(&self) -> usize {
        self.limit.map_or(usize::MAX, |l| l - self.expected.len())
    }

    fn apply(&mut self, chain: &mut PooledChain<'_>, op: Op) -> Result<(), TestCaseError> {
        match op {
            Op::Extend(n) => {
                let bytes = data(&mut self.written, n);
                match chain.try_extend_from_slice(&bytes) {
                    Ok(()) => self.expected.extend(&bytes),
                    Err(ChainError::LimitExceeded { limit }) => {
                        prop_assert!(n > self.room(), "refused a write that fits");
                        prop_assert_eq!(Some(limit), self.limit);
                    }
                    Err(e) => prop_assert!(false, "{e}"),
                }
            }
            Op::Put(Some(n)) if n <= self.room() => {
                let bytes = data(&mut self.written, n);
                chain.put_slice(&bytes);
                self.expected.extend(&bytes);
            }
            Op::Put(None) if 4 <= self.room() => {
                let bytes = data(&mut self.written, 4);
                chain.put_u32(u32::from_be_bytes(bytes.clone().try_into().unwrap()));
                self.expected.extend(&bytes);
            }
            Op::Put(_) => {}
            Op::ChunkMut(n) => {
                prop_assert_eq!(chain.remaining_mut(), self.room().min(isize::MAX as usize - self.expected.len()));
                let spare = chain.chunk_mut();
                prop_assert!(spare.len() <= CHUNK && spare.len() <= self.room());
                prop_assert!(spare.len() > 0 || self.room() == 0, "an empty chunk_mut below the limit");
                let k = n.min(spare.len());
                let bytes = data(&mut self.written, k);
                spare[..k].copy_from_slice(&bytes);
                // SAFETY: the first `k` bytes of the chunk just returned were written.
                unsafe { chain.advance_mut(k) };
                self.expected.extend(&bytes);
            }
            Op::IoWrite(n) => {
                let bytes = data(&mut self.written, n);
                match chain.write(&bytes) {
                    Ok(k) => {
                        prop_assert_eq!(k, n.min(self.room()));
                        self.expected.extend(&bytes[..k]);
                    }
                    Err(e) => {
                        prop_assert_eq!(e.kind(), std::io::ErrorKind::FileTooLarge);
                        prop_assert_eq!(self.room(), 0);
                    }
                }
            }
            Op::IoWriteVectored(lens) => {
                let slices: Vec<Vec<u8>> = lens.iter().map(|&n| data(&mut self.written, n)).collect();
                let io: Vec<std::io::IoSlice<'_>> = slices.iter().map(|s| std::io::IoSlice::new(s)).collect();
                let total: usize = lens.iter().sum();
                match chain.write_vectored(&io) {
                    Ok(k) => {
                        prop_assert_eq!(k, total.min(self.room()));
                        self.expected.extend(slices.concat().into_iter().take(k));
                    }
                    Err(e) => prop_assert!(self.room() == 0 && total > 0, "{e}"),
                }
            }
            Op::FmtWrite(n) => {
                let text: String = data(&mut self.written, n).iter().map(|b| char::from(b'a' + b % 26)).collect();
                match std::fmt::Write::write_str(chain, &text) {
                    Ok(()) => self.expected.extend(text.as_bytes()),
                    Err(_) => prop_assert!(n > self.room()),
                }
            }
            Op::Advance(f) => {
                let n = self.expected.len() * usize::from(f) / 255;
                chain.advance(n);
                self.expected.drain(..n);
            }
            Op::CopyToBytes(f) => {
                let n = self.expected.len() * usize::from(f) / 255;
                let got = chain.copy_to_bytes(n);
                let want: Vec<u8> = self.expected.drain(..n).collect();
                prop_assert_eq!(&got[..], &want[..]);
            }
            Op::Clear => {
                chain.clear();
                self.expected.clear();
            }
        }
        Ok(())
    }

    fn check(&self, chain: &PooledChain<'_>, pool: &BufPool) -> Result<(), TestCaseError> {
        let got: Vec<u8> = chain.chunks().flatten().copied().collect();
        let want: Vec<u8> = self.expected.iter().copied().collect();
        prop_assert_eq!(&got, &want, "contents");
        prop_assert_eq!(chain.len(), want.len());
        prop_assert_eq!(chain.remaining(), want.len());
        let chunks: Vec<&[u8]> = chain.chunks().collect();
        // Every chunk but the first and the last is full; unread bytes fit in
        // the chunks held, with at most one chunk that holds nothing.
        if chunks.len() > 2 {
            prop_assert!(chunks[1..chunks.len() - 1].iter().all(|c| c.len() == CHUNK), "a middle chunk not full");
        }
        prop_assert!(
            chunks.len() <= want.len().div_ceil(CHUNK) + 2,
            "{} chunks for {} bytes",
            chunks.len(),
            want.len()
        );
        prop_assert_eq!(pool.stats().outstanding, chunks.len() as u64, "each chunk is one checkout");
        Ok(())
    }
}

fn run(ops: Vec<Op>, limit: Option<usize>, end: End) -> Result<(), TestCaseError> {
    let pool = Arc::new(BufPool::builder().tiers(&[CHUNK, 4096]).build().unwrap());
    let chain = pool.chain_owned(CHUNK);
    let mut chain = match limit {
        Some(limit) => chain.with_limit(limit),
        None => chain,
    };
    let mut model = Model { expected: VecDeque::new(), limit, written: 0 };
    for op in ops {
        model.apply(&mut chain, op)?;
        model.check(&chain, &pool)?;
    }
    let want: Vec<u8> = model.expected.iter().copied().collect();
    match end {
        End::Drop => drop(chain),
        End::Freeze => prop_assert_eq!(chain.freeze(), want),
        End::IntoPieces => {
            let pieces = chain.into_pieces();
            prop_assert_eq!(pieces.concat(), want);
            prop_assert_eq!(pool.stats().outstanding, pieces.len() as u64, "each piece holds its chunk");
            let pieces: Vec<Bytes> = pieces;
            drop(pieces);
        }
        End::IntoContiguous => match chain.into_contiguous() {
            Ok(buf) => prop_assert_eq!(&buf[..], &want[..]),
            Err(chain) => prop_assert!(chain.len() > 4096),
        },
    }
    prop_assert_eq!(pool.stats().outstanding, 0, "every chunk came back");
    Ok(())
}

const CASES: u32 = if cfg!(miri) { 4 } else { 500 };
const MAX_STEPS: usize = if cfg!(miri) { 12 } else { 60 };

proptest! {
    #![proptest_config(support::config(CASES, "proptests/regressions/chain.txt"))]

    #[test]
    fn random_writes_and_reads_keep_the_chain_a_byte_queue(
        ops in proptest::collection::vec(op(), 1..MAX_STEPS),
        limit in proptest::option::of(0usize..2000),
        end in end(),
    ) {
        run(ops, limit, end)?;
    }
}
