//! The standard traits of the two public buffer types, so that they go
//! wherever a `BytesMut` or a `Vec<u8>` would:
//! `tokio::io::AsyncReadExt::read_buf(&mut buf)`,
//! `serde_json::to_writer(&mut buf, …)`, `write!(buf, …)`,
//! `write_all_buf(&mut buf)`.
//!
//! - `guard.rs`: [`PooledBuf`](crate::PooledBuf): `BufMut`, `Buf`,
//!   `io::Write`, `fmt::Write`, `Extend`, comparisons, `Hash`, `Borrow`.
//!   Each write goes through `PooledBuf::writable`, so a write within the
//!   spare capacity keeps the guard on the fast return.
//! - `chain.rs`: [`PooledChain`](crate::PooledChain): `BufMut`, `Buf` with
//!   a vectored `chunks_vectored`, `io::Write` with a real `write_vectored`,
//!   `fmt::Write`.
//!
//! `BufMut` is an `unsafe trait` and its `advance_mut` an `unsafe fn`: the
//! impls here forward them to `BytesMut`'s and add no logic; every unsafe
//! item states its premises in a `// SAFETY:` comment, and Miri runs their
//! tests (`.ci/deep.sh`).

#![allow(unsafe_code)]

mod chain;
mod guard;
