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
//! (`src/recycle.rs`) does three things:
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
//! A return that finds the thread cache full spills half of it to the
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
//! *magazine*). Caches are sized by bytes: 64 × 4 KiB, 32 × 64 KiB and
//! 2 × 1 MiB by default. A get or return that hits the cache uses no lock, no
//! shared atomic and no reference count. Only batches of half a magazine
//! move to and from the bounded global depot of the tier, each batch as one
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
//!   (128 MiB per tier at the global level, 2 MiB per tier per thread): a
//!   pool holds only what it was given back, and idle decay releases it.
//!   For a hard cap, set a byte budget.
//! - **A hard byte budget.** [`Builder::max_retained_bytes`] caps the bytes
//!   held in the global queues and every thread cache together, at every
//!   instant. A return that would exceed it is discarded (`over_budget`).
//!   Threads reserve budget in batches, so the hot path stays free of shared
//!   atomics (`src/budget.rs`).
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
//!   and [`BufPool::decay`] does so on demand (`src/decay.rs`).
//! - **Scrub.** [`Builder::scrub_on_return`] zeroes each buffer's whole
//!   capacity before it is pooled, for secrets.
//! - **Dropped pools.** Dropping a pool frees its global queues. A thread's
//!   cache for a dropped pool is released when that thread registers with
//!   another pool, or exits.
//!
//! # Guarantees
//!
//! - A buffer handed out has `len() == 0` and `capacity() >= n`.
//! - A buffer is handed out to one guard at a time; no two live guards, and
//!   no guard and a `Bytes` from [`freeze`](PooledBuf::freeze), share memory.
//! - The pool holds at most `global_queue[i] + threads × thread_cache[i]`
//!   buffers of tier `i`, each of at most `ceiling[i]` bytes, and at most
//!   `max_retained_bytes` in all, if set.
//! - Get and return on a cache hit do not allocate.
//! - The only `unsafe` code is the `bytes::BufMut` impl in `src/impls.rs`
//!   (an `unsafe trait` whose `advance_mut` is an `unsafe fn`). It forwards
//!   each call to the inner `BytesMut` and adds no logic; every unsafe item
//!   there states its premises in a `// SAFETY:` comment. The rest of the
//!   crate is under `#![deny(unsafe_code)]`.
//!
//! # Performance
//!
//! `docs/benchmarks.md` has the criterion runs, with the commands that
//! produced them. Each workload puts tierpool beside `BytesMut::with_capacity`
//! under glibc, jemalloc and mimalloc, and beside five peer pools, in the same
//! run. In short, on a shared 2-core machine:
//!
//! - A get + 64 B write + drop takes 9.2–9.5 ns at every tier: 1.4× faster
//!   than the fastest peer pool (lockfree-object-pool, 13 ns), and 19×
//!   faster than jemalloc and 32× faster than mimalloc at 1 MiB.
//! - At 4 KiB, jemalloc's thread cache is still faster (6.7 ns against
//!   10.4 ns in the same binary).
//! - 64 buffers of 64 KiB held at once cost 16.8 ns per buffer, level with
//!   the best peer.
//! - Steady-state gets and returns make 0 allocations; a miss makes two
//!   (the buffer and the 32-byte box it lives in).
//!
//! Some of the project's speed targets are still missed; `docs/benchmarks.md`
//! says which, and where the time goes.
//!
//! # Comparison with similar crates
//!
//! | crate                  | hands out      | size classes | ceiling on return | copy-out freeze / return-on-last-drop |
//! |------------------------|----------------|--------------|-------------------|---------------------------------------|
//! | tierpool               | `BytesMut`     | yes          | yes, re-tiers     | yes / yes                             |
//! | zeropool               | `Vec<u8>`      | yes          | no                | no / no                               |
//! | opool                  | any `T`        | no           | via `is_valid`    | no / no                               |
//! | lockfree-object-pool   | any `T`        | no           | no                | no / no                               |
//! | object-pool            | any `T`        | no           | no                | no / no                               |
//! | byte-pool              | `Vec<u8>`      | exact sizes  | no                | no / no                               |
//!
//! # Feature flags
//!
//! - `tokio` (off by default): `tierpool::tokio::read_pooled`, a socket read into a
//!   `PooledBuf` that never grows it past the capacity it was handed out
//!   with, and `tierpool::tokio::spawn_decay`, a task that drives idle decay
//!   of a quiet pool.
//! - `bench-jemalloc` (off by default): builds jemalloc for the
//!   `alloc_jemalloc` benchmark only; the library never uses it.
//!
//! Without features, the crate depends on `bytes` and `crossbeam-queue` only.
//! Independent of features, [`PooledBuf`] implements `bytes::BufMut` (so
//! tokio's `read_buf(&mut buf)` takes it), `std::io::Write` (serializers such
//! as `serde_json::to_writer`), `std::fmt::Write` (`write!`), `AsRef<[u8]>`,
//! `AsMut<[u8]>`, `Extend<u8>` and `Extend<&u8>`.
//!
//! # MSRV
//!
//! Rust 1.85 (edition 2024), as declared in `Cargo.toml`'s `rust-version`.
//!
//! # Implementation notes
//!
//! `docs/design.md` walks through the data flow and its invariants:
//!
//! | file          | concept                                                      |
//! |---------------|--------------------------------------------------------------|
//! | `pool.rs`     | [`BufPool`], the get path, [`global`]                        |
//! | `guard.rs`    | [`PooledBuf`]: freeze, into_shared, detach                   |
//! | `impls.rs`    | `BufMut`, `io::Write`, `fmt::Write`, `Extend` for the guard  |
//! | `tokio.rs`    | feature `tokio`: `read_pooled`, `spawn_decay`                |
//! | `recycle.rs`  | the return path: normalise, classify, discard                |
//! | `local.rs`    | thread caches (magazines), spill and refill, thread exit     |
//! | `depot.rs`    | the global level: a bounded depot of batches per tier        |
//! | `budget.rs`   | the retained-bytes budget and per-thread credit              |
//! | `decay.rs`    | idle decay: the clock, epochs, low-water marks               |
//! | `config.rs`   | [`Builder`], defaults, validation                            |
//! | `stats.rs`    | per-thread counters and the [`Stats`] snapshot               |
//! | `sync.rs`     | the one place synchronisation primitives are imported from   |

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
pub mod tokio;

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
