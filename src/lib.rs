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
//! # Threads
//!
//! Each thread keeps, per pool and per tier, a small stack of buffers (a
//! *magazine*). Caches are sized by bytes: 64 × 4 KiB, 4 × 64 KiB and
//! 2 × 1 MiB by default. A get or return that hits the cache uses no lock, no
//! shared atomic and no reference count. Only batches of half a magazine
//! move to and from the bounded global queue of the tier.
//!
//! Guards from [`BufPool::get_owned`], [`global`] and [`get`] are `'static`
//! and `Send + Sync`. They can move to another thread or task and be dropped
//! there. The buffer then returns through the dropping thread's cache, which
//! spills to the global queue where the producer's cache refills from.
//!
//! When a thread exits, its caches are flushed to the global queues of the
//! pools still alive, and its counters are folded into the pools' totals.
//! [`BufPool::trim`] releases the global queues and the caller's cache at
//! once. Other threads release their caches on their next use of the pool.
//!
//! # Guarantees
//!
//! - A buffer handed out has `len() == 0` and `capacity() >= n`.
//! - A buffer is handed out to one guard at a time; no two live guards, and
//!   no guard and a `Bytes` from [`freeze`](PooledBuf::freeze), share memory.
//! - The pool holds at most `global_queue[i] + threads × thread_cache[i]`
//!   buffers of tier `i`, each of at most `ceiling[i]` bytes.
//! - Get and return on a cache hit do not allocate.
//! - No `unsafe` code: `#![forbid(unsafe_code)]`.
//!
//! # Performance
//!
//! See `docs/benchmarks.md` for criterion runs that put each workload beside
//! `BytesMut::with_capacity` under the system allocator, with the command
//! that produced the figures.
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
//! - `bench-jemalloc` (off by default): builds jemalloc for the
//!   `alloc_jemalloc` benchmark only; the library never uses it.
//!
//! Otherwise the crate depends on `bytes` and `crossbeam-queue` only.
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
//! | `recycle.rs`  | the return path: normalise, classify, discard                |
//! | `local.rs`    | thread caches (magazines), spill and refill, thread exit     |
//! | `depot.rs`    | the global level: one bounded queue per tier                 |
//! | `config.rs`   | [`Builder`], defaults, validation                            |
//! | `stats.rs`    | per-thread counters and the [`Stats`] snapshot               |
//! | `sync.rs`     | the one place synchronisation primitives are imported from   |

#![forbid(unsafe_code)]
#![warn(
    missing_docs,
    missing_debug_implementations,
    unreachable_pub,
    rust_2018_idioms,
    clippy::undocumented_unsafe_blocks
)]

mod config;
mod depot;
mod error;
mod guard;
mod local;
mod pool;
mod recycle;
mod stats;
mod sync;

pub use config::{
    Builder, DEFAULT_CEILING_FACTOR, DEFAULT_MAX_REQUEST, DEFAULT_TIERS, MAX_TIER_SIZE, MAX_TIERS,
    default_global_queue, default_thread_cache,
};
pub use error::{ConfigError, GetError};
pub use guard::PooledBuf;
pub use pool::{BufPool, get, global};
pub use stats::{Discards, OversizeStats, Stats, TierStats};
