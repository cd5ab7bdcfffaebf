//! Size-class pools of [`bytes::BytesMut`] buffers: thread-local caches in
//! front of bounded global queues, a capacity ceiling on return, and a
//! `freeze` that copies out so pool memory is never aliased.
//!
//! ```
//! use bytes::BufMut;
//!
//! let mut buf = tierpool::get(1500);       // an empty 4 KiB buffer from the global pool
//! buf.put_slice(b"HTTP/1.1 200 OK\r\n");
//! let head = buf.freeze();                 // exact-size copy; the 4 KiB buffer is back
//! assert_eq!(head.len(), 17);
//! assert_eq!(tierpool::global().stats().outstanding, 0);
//! ```
//!
//! # Size classes
//!
//! A pool has tiers, 4 KiB, 64 KiB and 1 MiB by default ([`DEFAULT_TIERS`]).
//! [`BufPool::get(n)`](BufPool::get) hands out an empty buffer from the
//! smallest tier whose size is at least `n`; above the largest tier it
//! allocates exactly `n` bytes, unpooled. Above the pool's `max_request`
//! (1 GiB by default), `get` panics and [`try_get`](BufPool::try_get)
//! returns [`GetError::TooLarge`]. A payload larger than every tier goes into
//! a [`PooledChain`] ([`BufPool::chain`]): pooled chunks of one tier, never
//! reallocated. [`BufPool::builder`] configures a pool; an invalid setting is
//! a [`ConfigError`].
//!
//! # Returning buffers
//!
//! A [`PooledBuf`] dereferences to `BytesMut` and goes back to its pool when
//! it drops, on unwind too. The return clears the buffer, takes back its
//! whole allocation (undoing `advance` and `split_to`), and files it by its
//! real capacity: a 4 KiB buffer grown to 70 KiB goes back as a 64 KiB one.
//! What must not be pooled is discarded and counted: storage still shared
//! with a live `Bytes` or `BytesMut`, a capacity above the ceiling of the
//! tier it would go to (2 × size by default), or below the smallest tier.
//! [`BufPool::put`] takes a `BytesMut` that no guard owns through the same
//! checks.
//!
//! # Freezing
//!
//! - [`PooledBuf::freeze`] copies `len()` bytes into a new exact-size
//!   [`Bytes`](bytes::Bytes), and the buffer goes back at once: for anything
//!   small or long-lived.
//! - [`PooledBuf::into_shared`] is zero-copy, and the buffer goes back when
//!   the last clone drops: for large payloads with a short life.
//! - [`PooledBuf::detach`] takes the `BytesMut` out of the pool for good.
//!
//! `BytesMut::freeze` through `DerefMut` still works, but it aliases: the
//! storage is then shared, and it is discarded on return, not pooled.
//!
//! # Threads
//!
//! Each thread keeps, per pool and per tier, a small stack of buffers (a
//! *magazine*). A get or return that hits it takes no lock, no shared atomic
//! and no reference count; only batches move between it and the tier's
//! bounded global queue, as in Bonwick's magazine depot. Guards from
//! [`BufPool::get_owned`], [`global`] and [`get`] are `'static` and
//! `Send + Sync`: dropped on another thread, a buffer returns through that
//! thread's cache. A thread's exit flushes its caches to the global queues.
//!
//! # Memory
//!
//! - **Bounded.** Tier `i` holds at most `global_queue[i] + threads ×
//!   thread_cache[i]` buffers, each of at most `ceiling[i]` bytes. By default
//!   the global queues take up to 4096 × 4 KiB, 2048 × 64 KiB and
//!   128 × 1 MiB buffers (16, 128 and 128 MiB), and each thread cache 64, 64
//!   and 8 (256 KiB, 4 MiB and 8 MiB): bounds for a burst, not a steady state.
//! - **A hard budget.** [`Builder::max_retained_bytes`] caps the bytes held in
//!   all queues and caches together, at every instant.
//! - **A limit on what is handed out.** [`Builder::max_outstanding_bytes`]
//!   caps the bytes out in guards, chains and shared buffers:
//!   [`BufPool::acquire`] waits for room, first come first served and
//!   cancellation-safe, under any executor; [`BufPool::try_acquire`] returns
//!   [`AcquireError::WouldWait`]; `get` never waits, and what it takes past
//!   the limit is counted ([`AdmissionStats`]). A burst of uploads then waits
//!   instead of running the server out of memory.
//! - **Released.** Buffers unused for a whole
//!   [`idle_timeout`](Builder::idle_timeout) (30 s by default) are released
//!   without a background thread, or on demand by [`BufPool::decay`].
//!   [`BufPool::trim`] releases the global queues and the caller's cache at
//!   once, and every other thread's cache on its next use of the pool.
//! - [`Builder::scrub_on_return`] zeroes each buffer before it is pooled.
//!
//! # Guarantees
//!
//! - A buffer handed out has `len() == 0` and `capacity() >= n`, and holds
//!   no byte a previous user could read back through it.
//! - No two live guards, and no guard and a `Bytes` from
//!   [`freeze`](PooledBuf::freeze), share memory.
//! - The bounds above hold in bytes of real allocations, checked against a
//!   counting allocator in the tests.
//! - Get and return on a cache hit allocate nothing and write only this
//!   thread's memory.
//! - Settings are validated: [`Builder::build`] returns a [`ConfigError`],
//!   and the `try_` methods a [`GetError`], where `get` would panic.
//! - `unsafe` is in five places (the `BufMut` impls, the thread-cache
//!   registry, the chain's in-place copy, the guard's `ManuallyDrop` fields,
//!   the read of one word of a returned `BytesMut` for the exact check),
//!   each with `// SAFETY:` premises, and covered by Miri in CI.
//!
//! In tests, [`Builder::track_callers`] and [`BufPool::assert_quiescent`]
//! name the call site of every buffer still out, and [`Builder::chaos`]
//! makes code that leans on a pool's accidents fail.
//!
//! # Feature flags
//!
//! - `tokio` (off by default): `tierpool::tokio::read_when_ready`, socket
//!   reads that take a buffer only once the socket is readable, so an idle
//!   connection holds none; `read_pooled` and `read_chain`, socket reads
//!   that never grow a pooled buffer; and `spawn_decay`, a task that drives
//!   idle decay of a quiet pool.
//! - `metrics` (off by default): `BufPool::export_metrics`, every counter
//!   and gauge of [`Stats`] through the `metrics` facade, labelled with the
//!   pool's [`name`](Builder::name); free on the hit path.
//! - `advice` (off by default): a per-thread histogram of request sizes,
//!   and `BufPool::advise`, tiers suggested from it; a few instructions per
//!   get while on.
//!
//! # Performance and guides
//!
//! [`docs::benchmarks`] measures tierpool beside `BytesMut` and five peer
//! pools, with the command behind each table. [`docs::guide`] has recipes
//! (socket reads, serializers, large payloads, hand-off, codecs, tests, when
//! not to pool), and [`docs::tuning`] what each [`Builder`] setting costs.
//!
//! # MSRV
//!
//! Rust 1.88 (edition 2024), as declared in `Cargo.toml`'s `rust-version`
//! and checked in CI.

#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(unsafe_code)]
#![warn(
    missing_docs,
    missing_debug_implementations,
    unreachable_pub,
    rust_2018_idioms,
    clippy::undocumented_unsafe_blocks
)]

// The layers, each importing only from those above it in this list
// (`.ci/layers.py` checks it; rustfmt.toml keeps the order).
mod sync; // std or loom primitives
mod error;
mod admission; // the limit on outstanding bytes, and waiting for room
mod config; // settings, limits, validation
mod buffer; // the pooled buffer and its invariants
mod layout; // the one word of BytesMut read beyond its API: the exact check
mod budget;
mod decay;
mod stats;
mod debug; // the test modes: call-site tracking and chaos
mod depot; // the global level of one tier
mod magazine; // a thread's cache for one tier
mod engine; // one pool's shared state
mod cache; // a thread's cache for one pool, and the path without one
mod registry; // the thread-local registry of caches, and thread exit
mod recycle; // the return path
mod guard;
mod checkout; // the get path
mod chain; // large payloads: pooled chunks of one tier
mod impls;
mod pool; // the public façade
mod global;
#[cfg(feature = "advice")]
mod advice; // feature `advice`: `BufPool::advise`
#[cfg(feature = "metrics")]
mod export; // feature `metrics`: `BufPool::export_metrics`
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub mod tokio;

/// The project's guides, as the repository's `docs/` holds them. Their snippets are
/// fragments, not doctests; `examples/` and `tests/` hold the runnable
/// versions.
#[cfg(all(doc, not(doctest)))]
pub mod docs {
    #[doc = include_str!("../docs/guide.md")]
    pub mod guide {}
    #[doc = include_str!("../docs/tuning.md")]
    pub mod tuning {}
    #[doc = include_str!("../docs/benchmarks.md")]
    pub mod benchmarks {}
}

#[cfg(all(test, tierpool_loom))]
mod loom_models;

#[cfg(feature = "advice")]
pub use advice::{Advice, AdvisedTier, MAX_ADVISED_TIERS, MIN_ADVISED_TIER};
pub use chain::PooledChain;
pub use config::{
    Builder, DEFAULT_CEILING_FACTOR, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_REQUEST, DEFAULT_NAME, DEFAULT_TIERS,
    MAX_CEILING, MAX_GLOBAL_QUEUE, MAX_SAMPLE_EVERY, MAX_THREAD_CACHE, MAX_TIER_SIZE, MAX_TIERS, MIN_SAMPLE_EVERY,
    default_global_queue, default_thread_cache,
};
pub use debug::Outstanding;
pub use error::{AcquireError, ChainError, ConfigError, GetError};
pub use global::{get, global, set_global};
pub use guard::PooledBuf;
pub use pool::BufPool;
pub use stats::{AdmissionStats, Broken, Discard, Discards, Identity, OversizeStats, Put, Stats, TierStats};
