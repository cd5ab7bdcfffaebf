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
//! tierpool is the Rust answer to Go's `sync.Pool` buffer pattern. It makes
//! that pattern's classic bugs impossible, or handles them:
//!
//! | Go pitfall                          | tierpool                                                    |
//! |-------------------------------------|-------------------------------------------------------------|
//! | forgetting `Reset`: stale data      | every buffer handed out has `len() == 0`                    |
//! | use after `Put`, double `Put`       | the guard returns on `Drop`; ownership rules out both       |
//! | `buf.Bytes()` aliases pool memory   | [`freeze`](PooledBuf::freeze) copies out                    |
//! | cap growth pins memory forever      | a ceiling per tier; grown buffers are re-tiered or dropped  |
//! | unbounded retention                 | bounded caches and queues, [`trim`](BufPool::trim)          |
//! | no `Len`, no stats                  | [`stats`](BufPool::stats), free on the hot path             |
//!
//! # Size classes
//!
//! A pool has tiers, 4 KiB, 64 KiB and 1 MiB by default ([`DEFAULT_TIERS`]).
//! [`BufPool::get(n)`](BufPool::get) hands out an empty buffer from the
//! smallest tier whose size is at least `n`. Above the largest tier it
//! allocates exactly `n` bytes, unpooled; such a buffer is dropped when its
//! guard ends. Above the pool's `max_request` (1 GiB by default), `get`
//! panics and [`try_get`](BufPool::try_get) returns [`GetError::TooLarge`].
//! Configure tiers with [`BufPool::builder`]; invalid settings are a typed
//! [`ConfigError`].
//!
//! # Returning buffers
//!
//! A [`PooledBuf`] dereferences to `BytesMut`, so a user can grow, split,
//! advance or replace its storage. When the guard drops, the return path
//! does three things:
//!
//! 1. **Normalise.** It clears the buffer and takes back its whole
//!    allocation, undoing `advance` and `split_to`.
//! 2. **Classify by real capacity.** The buffer goes to the largest tier
//!    whose size it covers, if its capacity is within that tier's ceiling
//!    (2 × size by default). A 4 KiB buffer grown to 70 KiB goes back as a
//!    64 KiB buffer.
//! 3. **Discard, and count, what must not be pooled:**
//!    - storage still shared with a live `Bytes` or `BytesMut`, e.g. after
//!      `buf.split().freeze()`;
//!    - capacity above every ceiling;
//!    - capacity below the smallest tier.
//!
//! A return that finds the thread cache full spills half of it (all of it,
//! if it gave nothing out since its last spill or refill) to the
//! global queue; a full global queue drops the buffer and counts it.
//! A panic while a buffer is checked out returns it on unwind, cleared.
//!
//! # Freezing
//!
//! - [`PooledBuf::freeze`] copies `len()` bytes into a new exact-size
//!   [`Bytes`](bytes::Bytes), and the buffer goes back to the pool at once.
//!   Use it for anything small or long-lived.
//! - [`PooledBuf::into_shared`] is zero-copy (`Bytes::from_owner`, one small
//!   box). The buffer returns to its pool only when the last clone drops.
//!   Use it for large payloads with a short life.
//! - [`PooledBuf::detach`] takes the `BytesMut` out of the pool for good.
//!
//! `BytesMut::freeze` through `DerefMut` still works, but it aliases: the
//! storage is then shared, and it is discarded on return, not pooled.
//!
//! # Large payloads
//!
//! A payload larger than the largest tier goes into a [`PooledChain`]
//! ([`BufPool::chain`]): pooled chunks of one tier, taken as it grows, so
//! nothing is reallocated or copied twice and every chunk goes back to its
//! tier. It implements `io::Write`, `fmt::Write`, `BufMut` and `Buf` (with
//! `chunks_vectored`, for `writev`), can carry a length limit, and converts
//! by copy ([`freeze`](PooledChain::freeze)), into zero-copy `Bytes` pieces
//! ([`into_pieces`](PooledChain::into_pieces)), or into one `PooledBuf`
//! ([`into_contiguous`](PooledChain::into_contiguous)).
//!
//! ```
//! let pool = tierpool::BufPool::new();
//! let mut body = pool.chain(64 * 1024);
//! serde_json::to_writer(&mut body, &vec!["a large document"; 100_000])?;
//! assert!(body.len() > 1 << 20 && body.chunk_count() > 16);
//! # Ok::<(), serde_json::Error>(())
//! ```
//!
//! # Threads
//!
//! Each thread keeps, per pool and per tier, a small stack of buffers (a
//! *magazine*). Caches are sized by bytes: 64 × 4 KiB, 64 × 64 KiB and
//! 8 × 1 MiB by default. A get or return that hits the cache uses no lock, no
//! shared atomic and no reference count. Only batches move to and from the
//! bounded global depot of the tier: half a magazine, or a whole one from a
//! thread that only returns (the consumer of a hand-off), each batch as one
//! unit (one compare-and-swap), as in Bonwick's magazine depot.
//!
//! Guards from [`BufPool::get_owned`], [`global`] and [`get`] are `'static`
//! and `Send + Sync`. They can move to another thread or task and be dropped
//! there. The buffer then returns through the dropping thread's cache, which
//! spills to the global queue where the producer's cache refills from.
//!
//! When a thread exits, its caches are flushed to the global queues of the
//! pools still alive, and its counters are folded into the pools' totals.
//!
//! # Memory
//!
//! Rust has no garbage collector to empty a pool the way Go's runs empty
//! `sync.Pool`. tierpool bounds and releases memory itself:
//!
//! - **Bounded by construction.** Tier `i` holds at most
//!   `global_queue[i] + threads × thread_cache[i]` buffers, each of at most
//!   `ceiling[i]` bytes. The defaults are generous bounds, sized for bursts
//!   (128 MiB per tier at the global level, up to 8 MiB per tier per thread): a
//!   pool holds only what it was given back, and idle decay releases it.
//!   For a hard cap, set a byte budget.
//! - **A hard byte budget.** [`Builder::max_retained_bytes`] caps the bytes
//!   held in the global queues and every thread cache together, at every
//!   instant. A return that would exceed it is discarded (`over_budget`).
//!   Threads reserve budget in batches, so the hot path stays free of shared
//!   atomics.
//! - **Thread exit.** An exiting thread flushes its caches to the global
//!   queues and returns its unused budget, so nothing is stranded. Unlike
//!   values of the `thread_local` crate, nothing waits for a later thread to
//!   inherit them.
//! - **trim.** [`BufPool::trim`] releases the global queues and the caller's
//!   cache at once. Every other thread releases its cache on its next get or
//!   return through the pool, or at exit.
//! - **Idle decay.** Buffers unused for a whole
//!   [`idle_timeout`](Builder::idle_timeout) interval (30 s by default) are
//!   released, without a background thread: operations advance the clock,
//!   and [`BufPool::decay`] does so on demand (or
//!   `tierpool::tokio::spawn_decay`, a task that calls it).
//! - **Scrub.** [`Builder::scrub_on_return`] zeroes each buffer's whole
//!   capacity before it is pooled, for secrets.
//! - **Dropped pools.** Dropping a pool frees its global queues. A thread's
//!   cache for a dropped pool is released when that thread registers with
//!   another pool, or exits.
//!
//! # Guarantees
//!
//! - A buffer handed out has `len() == 0` and `capacity() >= n`, and holds
//!   no byte a previous user could have read back through it.
//! - A buffer is handed out to one guard at a time; no two live guards, and
//!   no guard and a `Bytes` from [`freeze`](PooledBuf::freeze), share memory.
//! - The pool holds at most `global_queue[i] + threads × thread_cache[i]`
//!   buffers of tier `i`, each of at most `ceiling[i]` bytes, and at most
//!   `max_retained_bytes` in all, if set. These are bytes of real
//!   allocations, checked against a counting allocator in the tests.
//! - Get and return on a cache hit do not allocate and write only this
//!   thread's memory. They read two shared words, the pool's stamp on each
//!   call and its decay deadline on every 1024th hit, which change only on
//!   `trim` and once per idle interval.
//!
//! # Errors and panics
//!
//! Invalid settings are a [`ConfigError`] from [`Builder::build`], which
//! never aborts: every setting has a documented maximum. Requests above
//! `max_request`, and allocations the allocator refuses, are a [`GetError`]
//! from the `try_` methods; [`BufPool::get`] panics on them instead, as
//! `Vec::with_capacity` does. A chain's length limit is a [`ChainError`].
//! Each method that can panic says when under `# Panics`.
//!
//! # In tests
//!
//! [`Builder::track_callers`] records where each checkout came from, and
//! [`BufPool::assert_quiescent`] panics with the call sites of what is still
//! out: a leak test in one line. [`Builder::chaos`] hands out some larger
//! buffers, fills spare capacity with a pattern and drops some returns,
//! deterministically from a seed, so that code which leans on a pool's
//! accidents (a fresh buffer's zeroes, an exact capacity) fails in tests.
//! Both are free when off.
//!
//! # Feature flags
//!
//! - `tokio` (off by default): `tierpool::tokio::read_pooled` and
//!   `read_chain`, socket reads that never grow a pooled buffer and report
//!   a full buffer or a chain at its limit as an error, never as `Ok(0)`;
//!   and `spawn_decay`, a task that drives idle decay of a quiet pool.
//!
//! Without features, the crate depends on `bytes`, `crossbeam-queue`,
//! `crossbeam-utils` and `thread_local`. Independent of features,
//! [`PooledBuf`] implements `BufMut` and `Buf`, `io::Write`, `fmt::Write`,
//! `AsRef`/`AsMut<[u8]>`, `Borrow`, `Extend`, comparisons with byte slices,
//! strings, `Bytes` and `BytesMut`, `Eq`, `Ord` and `Hash`, as `BytesMut`
//! does.
//!
//! # Unsafe code
//!
//! The crate is `#![deny(unsafe_code)]`, with four measured exceptions,
//! each block with bulleted `// SAFETY:` premises, and each covered by
//! Miri (with strict provenance) in CI:
//!
//! - the `bytes::BufMut` impls of [`PooledBuf`] and [`PooledChain`]: an
//!   `unsafe trait` whose `advance_mut` is an `unsafe fn`, forwarding to
//!   the inner `BytesMut`;
//! - the thread-cache registry, reached through the address of a `const`
//!   thread-local, so that the hit path stays inlined;
//! - the chain's small-write copy into its last chunk's spare capacity,
//!   which a serializer calls once per token;
//! - the guard's buffer and pool reference, `ManuallyDrop` fields taken
//!   once by its `Drop` (or by `detach`), so that the return's slow paths
//!   are tail calls and the inlined fast return saves no registers.
//!
//! # Performance and guides
//!
//! - [`docs::benchmarks`]: tierpool beside `BytesMut` under glibc,
//!   jemalloc and mimalloc and beside five peer pools, each workload written
//!   through a call the compiler cannot see into and inlined, with the
//!   commands that produced every figure and the instruction counts.
//! - [`docs::guide`]: recipes for socket reads, serializers, large payloads,
//!   hand-off between tasks, codecs, property tests, and when not to pool.
//! - [`docs::tuning`]: what each [`Builder`] setting costs and buys.
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
mod config; // settings, limits, validation
mod buffer; // the pooled buffer and its invariants
mod budget;
mod decay;
mod stats;
mod debug; // call-site tracking and chaos, for tests
mod magazine; // a thread's cache for one tier
mod depot; // the global level of one tier
mod engine; // one pool's shared state
mod local; // thread caches: TLS, slots, fast paths
mod recycle; // the return path
mod guard;
mod chain; // large payloads: pooled chunks of one tier
mod impls;
mod pool; // the public façade
mod global;
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

pub use chain::PooledChain;
pub use config::{
    Builder, DEFAULT_CEILING_FACTOR, DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_REQUEST, DEFAULT_TIERS, MAX_CEILING,
    MAX_GLOBAL_QUEUE, MAX_THREAD_CACHE, MAX_TIER_SIZE, MAX_TIERS, default_global_queue, default_thread_cache,
};
pub use debug::Outstanding;
pub use error::{ChainError, ConfigError, GetError};
pub use global::{get, global, set_global};
pub use guard::PooledBuf;
pub use pool::BufPool;
pub use stats::{Discard, Discards, OversizeStats, Put, Stats, TierStats};
