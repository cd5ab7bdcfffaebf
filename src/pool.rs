//! The public pool: [`BufPool`], a façade over the engine, and the get path.
//!
//! ```text
//! get(n) ─► tier for n ─┬─► thread cache ─► (empty) refill from the global depot ─► (empty) allocate
//!                       └─► above the largest tier: allocate exactly n, unpooled
//! ```

use std::panic::Location;

use bytes::BytesMut;

use crate::admission::{Pay, Refused};
use crate::chain::PooledChain;
use crate::config::Builder;
use crate::debug::Outstanding;
use crate::engine::Engine;
use crate::error::{AcquireError, ConfigError, GetError};
use crate::guard::{PoolRef, PooledBuf};
use crate::recycle;
use crate::stats::{Discard, Put, Stats};
use crate::sync::Arc;
use crate::{checkout, registry};

/// A pool of [`BytesMut`](bytes::BytesMut) buffers in size classes (tiers).
///
/// [`get`](BufPool::get) hands out an empty buffer from the smallest tier that
/// fits; the returned [`PooledBuf`] guard goes back to the pool when dropped.
/// Each thread keeps a small cache per tier in front of bounded global queues.
///
/// # Examples
///
/// ```
/// use bytes::BufMut;
/// use tierpool::BufPool;
///
/// let pool = BufPool::new();
/// let mut buf = pool.get(1500);
/// assert!(buf.is_empty() && buf.capacity() >= 1500);
/// buf.put_slice(b"hello");
/// let frozen = buf.freeze(); // copies 5 bytes out; the 4 KiB buffer goes back
/// assert_eq!(&frozen[..], b"hello");
/// ```
pub struct BufPool {
    engine: Arc<Engine>,
}

impl Builder {
    /// Validates the settings and builds the pool.
    ///
    /// Building never aborts the process: every setting has a maximum, so
    /// what is preallocated is bounded. At the defaults that is about 260 KiB
    /// for the global queues' slots (4096 + 2048 + 128 slots of 40 bytes, plus
    /// the spare-batch queues); at the maxima, at most 16 tiers ×
    /// [`MAX_GLOBAL_QUEUE`](crate::MAX_GLOBAL_QUEUE) × 40 bytes = 40 MiB. Each thread that uses the
    /// pool then allocates its cache's pointer slots (`thread_cache` × 8 bytes
    /// per tier) on its first get or return.
    ///
    /// # Errors
    ///
    /// Returns the first [`ConfigError`] found:
    /// - no tiers, or too many;
    /// - a zero, unsorted, duplicate or oversized tier;
    /// - a ceiling below its size, or above [`MAX_CEILING`](crate::MAX_CEILING);
    /// - a per-tier list of the wrong length;
    /// - a zero global-queue capacity;
    /// - a thread cache above [`MAX_THREAD_CACHE`](crate::MAX_THREAD_CACHE), or a global queue above
    ///   [`MAX_GLOBAL_QUEUE`](crate::MAX_GLOBAL_QUEUE);
    /// - a `max_request` below the largest tier or above `isize::MAX`;
    /// - a byte budget below the smallest tier;
    /// - a zero idle timeout.
    ///
    /// # Examples
    ///
    /// ```
    /// use tierpool::{BufPool, ConfigError};
    ///
    /// let err = BufPool::builder().tiers(&[8192, 4096]).build().unwrap_err();
    /// assert_eq!(err, ConfigError::NotAscending { index: 1, size: 4096, previous: 8192 });
    /// assert_eq!(err.to_string(), "tier 1 (4096 bytes) is smaller than tier 0 (8192 bytes): tiers must be sorted ascending");
    /// ```
    pub fn build(self) -> Result<BufPool, ConfigError> {
        self.validate().map(|config| BufPool { engine: Engine::new(config) })
    }
}

// === impl BufPool ===

impl BufPool {
    /// A pool with the default tiers (4 KiB, 64 KiB, 1 MiB) and settings; see
    /// [`Builder::new`].
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tierpool::BufPool::new();
    /// assert_eq!(pool.get(5000).capacity(), 64 * 1024);
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Builder::new().build().expect("the default configuration is valid")
    }

    /// A [`Builder`] for a pool with custom tiers and limits.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tierpool::BufPool::builder().tiers(&[256, 2048]).build()?;
    /// assert_eq!(pool.get(300).capacity(), 2048);
    /// # Ok::<(), tierpool::ConfigError>(())
    /// ```
    #[must_use]
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// Hands out an empty buffer with `capacity() >= min_capacity`.
    ///
    /// It comes from the smallest tier whose size is at least `min_capacity`,
    /// so its capacity is at least that tier's size (more if the buffer grew
    /// in a previous use, up to the tier's ceiling). Above the largest tier,
    /// the buffer is allocated with exactly `min_capacity` bytes, unpooled,
    /// and discarded when the guard drops. `get(0)` returns a buffer of the
    /// smallest tier.
    ///
    /// # Panics
    ///
    /// If `min_capacity` is above the pool's `max_request`
    /// ([`DEFAULT_MAX_REQUEST`](crate::DEFAULT_MAX_REQUEST), 1 GiB, unless
    /// configured): `get(usize::MAX)` panics with a message naming both
    /// sizes. Use [`try_get`](BufPool::try_get) for sizes that come from
    /// untrusted input. Like any allocation, a failed allocation aborts.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tierpool::BufPool::new();
    /// let buf = pool.get(4097);
    /// assert_eq!((buf.len(), buf.capacity()), (0, 64 * 1024));
    /// ```
    #[inline(always)]
    #[track_caller]
    pub fn get(&self, min_capacity: usize) -> PooledBuf<'_> {
        self.get_for(min_capacity, Location::caller())
    }

    /// Like [`get`](BufPool::get), but returns an error instead of panicking
    /// or aborting.
    ///
    /// # Errors
    ///
    /// [`GetError::TooLarge`] if `min_capacity` is above the pool's
    /// `max_request`; [`GetError::AllocFailed`] if the allocator refuses a
    /// buffer the pool had to allocate.
    ///
    /// # Examples
    ///
    /// ```
    /// use tierpool::{BufPool, GetError};
    ///
    /// let pool = BufPool::new();
    /// assert!(pool.try_get(1 << 20).is_ok());
    /// let err = pool.try_get(usize::MAX).unwrap_err();
    /// assert!(matches!(err, GetError::TooLarge { .. }));
    /// ```
    #[inline]
    #[track_caller]
    pub fn try_get(&self, min_capacity: usize) -> Result<PooledBuf<'_>, GetError> {
        self.checkout(min_capacity, true, PoolRef::Borrowed(&self.engine), Location::caller())
    }

    /// Like [`get`](BufPool::get), but the guard owns a reference to the pool,
    /// so it is `'static`: it can move into `tokio::spawn` or another thread,
    /// and be turned into a zero-copy `Bytes` with
    /// [`into_shared`](PooledBuf::into_shared). Costs one reference-count
    /// increment (and a decrement when the guard ends).
    ///
    /// # Panics
    ///
    /// As [`get`](BufPool::get).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    ///
    /// let pool = Arc::new(tierpool::BufPool::new());
    /// let mut buf = pool.get_owned(100);
    /// std::thread::spawn(move || buf.extend_from_slice(b"dropped on another thread"))
    ///     .join()
    ///     .unwrap();
    /// assert_eq!(pool.stats().outstanding, 0);
    /// ```
    #[track_caller]
    pub fn get_owned(self: &Arc<Self>, min_capacity: usize) -> PooledBuf<'static> {
        self.get_owned_for(min_capacity, Location::caller())
    }

    /// Like [`get_owned`](BufPool::get_owned), with
    /// [`try_get`](BufPool::try_get)'s errors instead of panics.
    ///
    /// # Errors
    ///
    /// As [`try_get`](BufPool::try_get).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = std::sync::Arc::new(tierpool::BufPool::new());
    /// assert!(pool.try_get_owned(usize::MAX).is_err());
    /// ```
    #[track_caller]
    pub fn try_get_owned(self: &Arc<Self>, min_capacity: usize) -> Result<PooledBuf<'static>, GetError> {
        self.checkout(min_capacity, true, PoolRef::Owned(Arc::clone(&self.engine)), Location::caller())
    }

    /// An empty buffer of at least `min_capacity` bytes, as [`get`](Self::get)
    /// gives, once the pool's
    /// [`max_outstanding_bytes`](crate::Builder::max_outstanding_bytes) has
    /// room for it: at once if it has, else after a wait. For a server that
    /// must bound the memory a burst takes: bursts wait instead of running
    /// out of memory.
    ///
    /// - The request is charged its tier's size (above the largest tier, its
    ///   own size); a buffer that turns out larger (one grown by an earlier
    ///   user, up to the tier's ceiling) is charged the rest as `get` is.
    /// - Waiters are served first come first served: a large request is not
    ///   starved by a stream of small ones, and while one waits, nobody jumps
    ///   the queue through `acquire` or `try_acquire` (plain `get` still goes
    ///   past it, counted).
    /// - Cancellation-safe: a future dropped while it waits leaves the queue,
    ///   gives back what it was assigned, wakes whoever can now go, and takes
    ///   nothing.
    /// - It works under any executor: the queue is
    ///   `tokio::sync::Semaphore`, which needs no tokio runtime.
    /// - Without a limit it never waits: it is [`try_get`](Self::try_get).
    ///
    /// # Errors
    ///
    /// - [`AcquireError::AboveLimit`] at once, without waiting, if the
    ///   request is charged more than the whole limit;
    /// - [`AcquireError::Get`] for what [`try_get`](Self::try_get) refuses:
    ///   a request above `max_request`, an allocator failure.
    ///
    /// # Examples
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let pool = tierpool::BufPool::builder().max_outstanding_bytes(1 << 20).build()?;
    /// let first = pool.acquire(1 << 20).await?; // the whole limit
    /// let second = pool.acquire(1 << 20);       // waits for room ...
    /// drop(first);                              // ... which the first's return makes
    /// let second = second.await?;
    /// assert_eq!(second.capacity(), 1 << 20);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    #[track_caller]
    pub fn acquire(
        &self,
        min_capacity: usize,
    ) -> impl Future<Output = Result<PooledBuf<'_>, AcquireError>> + Send + '_ {
        let caller = Location::caller();
        let admissible = self.admissible(min_capacity);
        async move {
            admissible?;
            checkout::acquire(min_capacity, PoolRef::Borrowed(&self.engine), caller).await
        }
    }

    /// Like [`acquire`](Self::acquire), but `'static`, as
    /// [`get_owned`](Self::get_owned) is: for a future that is spawned.
    ///
    /// # Errors
    ///
    /// As [`acquire`](Self::acquire).
    #[track_caller]
    pub fn acquire_owned(
        self: &Arc<Self>,
        min_capacity: usize,
    ) -> impl Future<Output = Result<PooledBuf<'static>, AcquireError>> + Send + 'static {
        let caller = Location::caller();
        let admissible = self.admissible(min_capacity);
        let engine = Arc::clone(&self.engine);
        async move {
            admissible?;
            checkout::acquire(min_capacity, PoolRef::Owned(engine), caller).await
        }
    }

    /// Like [`acquire`](Self::acquire), without waiting: an error at once if
    /// the limit has no room for the request now.
    ///
    /// # Errors
    ///
    /// As [`acquire`](Self::acquire), and [`AcquireError::WouldWait`] if the
    /// limit has no room now (counted in
    /// [`AdmissionStats::would_wait`](crate::AdmissionStats::would_wait)).
    ///
    /// # Examples
    ///
    /// ```
    /// use tierpool::AcquireError;
    ///
    /// let pool = tierpool::BufPool::builder().max_outstanding_bytes(64 * 1024).build()?;
    /// let body = pool.try_acquire(60_000)?; // the 64 KiB tier: the whole limit
    /// assert_eq!(pool.try_acquire(1).unwrap_err(), AcquireError::WouldWait { charge: 4096 });
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[track_caller]
    pub fn try_acquire(&self, min_capacity: usize) -> Result<PooledBuf<'_>, AcquireError> {
        self.try_acquire_with(min_capacity, PoolRef::Borrowed(&self.engine), Location::caller())
    }

    /// Like [`try_acquire`](Self::try_acquire), but `'static`.
    ///
    /// # Errors
    ///
    /// As [`try_acquire`](Self::try_acquire).
    #[track_caller]
    pub fn try_acquire_owned(self: &Arc<Self>, min_capacity: usize) -> Result<PooledBuf<'static>, AcquireError> {
        self.try_acquire_with(min_capacity, PoolRef::Owned(Arc::clone(&self.engine)), Location::caller())
    }

    fn try_acquire_with<'a>(
        &self,
        min_capacity: usize,
        pool: PoolRef<'a>,
        caller: &'static Location<'static>,
    ) -> Result<PooledBuf<'a>, AcquireError> {
        self.admissible(min_capacity)?;
        let result = checkout::get_paying(&self.engine, min_capacity, pool, caller, Pay::Try);
        if let (Err(Refused::WouldWait { .. }), Some(admission)) = (&result, self.engine.admission()) {
            admission.count_would_wait();
        }
        result.map_err(checkout::acquire_error)
    }

    /// Checks a request against `max_request` and the limit, before any
    /// wait.
    fn admissible(&self, min_capacity: usize) -> Result<(), AcquireError> {
        let max_request = self.engine.config().max_request;
        if min_capacity > max_request {
            return Err(GetError::TooLarge { requested: min_capacity, limit: max_request }.into());
        }
        if let Some(admission) = self.engine.admission() {
            let charge = checkout::charge_for(&self.engine, min_capacity);
            if charge > admission.limit() {
                return Err(AcquireError::AboveLimit { charge, limit: admission.limit() });
            }
        }
        Ok(())
    }

    /// A chain of pooled chunks of the tier that serves `chunk_size`, for
    /// payloads larger than any tier: see [`PooledChain`]. Chunks are
    /// checked out as the chain grows and go back as it is read or dropped.
    ///
    /// # Panics
    ///
    /// If `chunk_size` is above the largest tier: chunks are pooled buffers.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tierpool::BufPool::new();
    /// let mut body = pool.chain(64 * 1024);
    /// serde_json::to_writer(&mut body, &vec![1u32; 100_000])?;
    /// assert!(body.chunk_count() > 1);
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    #[track_caller]
    pub fn chain(&self, chunk_size: usize) -> PooledChain<'_> {
        PooledChain::new(PoolRef::Borrowed(&self.engine), self.chunk_tier(chunk_size), Location::caller())
    }

    /// Like [`chain`](Self::chain), but `'static`, for a chain that moves
    /// into a task, and whose chunks can become zero-copy `Bytes`
    /// ([`PooledChain::into_pieces`]). Costs one reference-count increment
    /// per chunk.
    ///
    /// # Panics
    ///
    /// As [`chain`](Self::chain).
    #[track_caller]
    pub fn chain_owned(self: &Arc<Self>, chunk_size: usize) -> PooledChain<'static> {
        let tier = self.chunk_tier(chunk_size);
        PooledChain::new(PoolRef::Owned(Arc::clone(&self.engine)), tier, Location::caller())
    }

    #[track_caller]
    fn chunk_tier(&self, chunk_size: usize) -> usize {
        match self.engine.config().tier_for_request(chunk_size) {
            Some(tier) => tier,
            None => panic!("tierpool: a chain's chunk of {chunk_size} bytes is above the largest tier"),
        }
    }

    /// References to the engine: the pool's, plus one per `get_owned` guard
    /// or chain alive.
    #[cfg(test)]
    pub(crate) fn engine_refs(&self) -> usize {
        Arc::strong_count(&self.engine)
    }

    /// [`get`](Self::get) on behalf of `caller`: for a helper of this crate
    /// that takes a buffer for its caller later, in a future
    /// (`tokio::read_when_ready`), so that `track_callers` names the line
    /// that called the helper. The helper checks `min_capacity` against
    /// [`max_request`](Self::max_request) first
    /// ([`check_request`](Self::check_request)), so this does not panic
    /// there. `get` is this on behalf of its own caller.
    #[inline(always)]
    pub(crate) fn get_for(&self, min_capacity: usize, caller: &'static Location<'static>) -> PooledBuf<'_> {
        checkout::get_or_panic(&self.engine, min_capacity, PoolRef::Borrowed(&self.engine), caller)
    }

    /// [`get_owned`](Self::get_owned) on behalf of `caller`: see
    /// [`get_for`](Self::get_for).
    #[inline(always)]
    pub(crate) fn get_owned_for(
        self: &Arc<Self>,
        min_capacity: usize,
        caller: &'static Location<'static>,
    ) -> PooledBuf<'static> {
        checkout::get_or_panic(&self.engine, min_capacity, PoolRef::Owned(Arc::clone(&self.engine)), caller)
    }

    /// Panics as [`get`](Self::get) does if `min_capacity` is above
    /// [`max_request`](Self::max_request): for a helper that gets later, so
    /// that a bad size fails at the call, not when data arrives.
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    #[track_caller]
    pub(crate) fn check_request(&self, min_capacity: usize) {
        let limit = self.engine.config().max_request;
        if min_capacity > limit {
            checkout::get_failed(GetError::TooLarge { requested: min_capacity, limit });
        }
    }

    /// The one get path behind `get`, `try_get`, `get_owned` and
    /// `try_get_owned`, which differ only in `pool` and `fallible` (a miss
    /// then allocates fallibly); `caller` is the line that asked, for
    /// `track_callers` and chaos.
    #[inline(always)]
    fn checkout<'a>(
        &self,
        n: usize,
        fallible: bool,
        pool: PoolRef<'a>,
        caller: &'static Location<'static>,
    ) -> Result<PooledBuf<'a>, GetError> {
        checkout::get(&self.engine, n, fallible, pool, caller)
    }

    /// A snapshot of the pool's counters, summed over all threads.
    ///
    /// Costs a lock and a walk over the threads that used the pool; the hot
    /// path never writes anything this reads from another thread's line.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tierpool::BufPool::new();
    /// let held = pool.get(10);
    /// assert_eq!(pool.stats().outstanding, 1);
    /// drop(held);
    /// let stats = pool.stats();
    /// assert_eq!((stats.outstanding, stats.tiers[0].retained_buffers), (0, 1));
    /// ```
    #[must_use]
    pub fn stats(&self) -> Stats {
        self.engine.snapshot()
    }

    /// The buffers checked out and not yet ended, grouped by the source line
    /// that checked them out, most first. Needs
    /// [`Builder::track_callers`]; empty without it.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tierpool::BufPool::builder().track_callers(true).build()?;
    /// let a = pool.get(10);
    /// let b = pool.get(10);
    /// let out = pool.outstanding_by_caller();
    /// assert_eq!(out.len(), 2, "two call sites");
    /// assert!(out.iter().all(|o| o.location.file().ends_with(".rs") && o.buffers == 1));
    /// drop((a, b));
    /// assert!(pool.outstanding_by_caller().is_empty());
    /// # Ok::<(), tierpool::ConfigError>(())
    /// ```
    #[must_use]
    pub fn outstanding_by_caller(&self) -> Vec<Outstanding> {
        self.engine.test_modes().and_then(|modes| modes.outstanding()).unwrap_or_default()
    }

    /// Panics if any buffer of this pool is checked out: for the end of a
    /// test, after the code under test should have given everything back.
    /// The message lists where each outstanding buffer was checked out (with
    /// [`Builder::track_callers`]), or gives their number.
    ///
    /// # Panics
    ///
    /// If [`Stats::outstanding`] is not 0.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tierpool::BufPool::builder().track_callers(true).build()?;
    /// let leaked = pool.get(10);
    /// let err = std::panic::catch_unwind(|| pool.assert_quiescent()).unwrap_err();
    /// let msg = err.downcast_ref::<String>().unwrap();
    /// assert!(msg.contains("1 buffer") && msg.contains(file!()), "{msg}");
    /// drop(leaked);
    /// pool.assert_quiescent();
    /// # Ok::<(), tierpool::ConfigError>(())
    /// ```
    #[track_caller]
    pub fn assert_quiescent(&self) {
        let outstanding = self.stats().outstanding;
        if outstanding == 0 {
            return;
        }
        let sites = self.outstanding_by_caller();
        let mut msg = format!("tierpool: {outstanding} buffer(s) still checked out");
        if sites.is_empty() {
            msg.push_str(" (turn on Builder::track_callers to see where they were taken)");
        } else {
            msg.push_str(", taken at:");
            for site in &sites {
                let s = if site.buffers == 1 { "" } else { "s" };
                msg.push_str(&format!("\n  {}: {} buffer{s}, {} bytes", site.location, site.buffers, site.bytes));
            }
        }
        panic!("{msg}");
    }

    /// Releases every buffer in the global queues and in the calling thread's
    /// cache, and returns the bytes released.
    ///
    /// Other threads' caches cannot be touched without putting a lock on
    /// their hot path. Instead, `trim` starts a new pool generation, and each
    /// other thread releases its cache for this pool **on its next get or
    /// return through it**, or when it exits, whichever comes first. Exited
    /// threads have already flushed their caches to the global queues, so
    /// `trim` releases those at once.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tierpool::BufPool::new();
    /// drop(pool.get(10));
    /// assert_eq!(pool.trim(), 4096);
    /// assert_eq!(pool.stats().retained_bytes(), 0);
    /// ```
    pub fn trim(&self) -> usize {
        registry::release(&self.engine) + self.engine.trim_depots()
    }

    /// Runs idle decay now: if the pool's idle interval has elapsed since the
    /// last tick, releases the buffers that sat unused in the global queues
    /// for the whole interval, then reaps the calling thread's cache the same
    /// way. Other threads reap theirs on their next use of the pool.
    ///
    /// Gets and returns check the clock by themselves: on every 1024th cache
    /// hit, every 8th refill or spill, and every miss, per thread. Call this
    /// from a timer
    /// to decay a pool that has gone quiet. Does nothing if idle decay is off
    /// (`idle_timeout(None)`).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let pool = tierpool::BufPool::builder().idle_timeout(Some(Duration::from_millis(5))).build()?;
    /// pool.prefill(4096, 8);
    /// for _ in 0..2 {
    ///     std::thread::sleep(Duration::from_millis(10));
    ///     pool.decay();
    /// }
    /// assert_eq!(pool.stats().tiers[0].decayed, 8);
    /// # Ok::<(), tierpool::ConfigError>(())
    /// ```
    pub fn decay(&self) {
        self.engine.tick();
        registry::sync(&self.engine);
    }

    /// Ends the current idle interval now, whether or not it has elapsed, and
    /// starts the next: releases the buffers that sat unused in the global
    /// queues since the last tick, then reaps the calling thread's cache the
    /// same way; other threads reap theirs on their next use of the pool.
    /// The clock restarts, so the next tick by time comes a whole interval
    /// later. Does nothing if idle decay is off (`idle_timeout(None)`).
    ///
    /// For a program that decides itself when memory is idle (on a signal of
    /// memory pressure, at the end of a batch) and for tests, which should
    /// not depend on how long a sleep lasts: with a long `idle_timeout`,
    /// only `decay_now` ticks.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let hour = Some(Duration::from_secs(3600));
    /// let pool = tierpool::BufPool::builder().idle_timeout(hour).build()?;
    /// pool.prefill(4096, 8);
    /// pool.decay_now(); // an interval starts, with all 8 queued
    /// assert_eq!(pool.stats().tiers[0].decayed, 0);
    /// pool.decay_now(); // none was taken for a whole interval: released
    /// assert_eq!(pool.stats().tiers[0].decayed, 8);
    /// # Ok::<(), tierpool::ConfigError>(())
    /// ```
    pub fn decay_now(&self) {
        self.engine.tick_now();
        registry::sync(&self.engine);
    }

    /// The pool's idle interval, if idle decay is on.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(tierpool::BufPool::new().idle_timeout(), Some(tierpool::DEFAULT_IDLE_TIMEOUT));
    /// ```
    #[must_use]
    pub fn idle_timeout(&self) -> Option<std::time::Duration> {
        self.engine.idle_timeout()
    }

    /// Allocates up to `count` buffers for the tier that serves
    /// `min_capacity` and puts them in its global queue, so that the first
    /// gets do not allocate. Returns how many were added: fewer if the queue
    /// or the byte budget filled up, and 0 above the largest tier (oversize
    /// buffers are never pooled). It allocates only what it adds: none is
    /// made to be dropped, so it counts no discard. Counted in
    /// [`TierStats::prefilled`](crate::TierStats::prefilled).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tierpool::BufPool::new();
    /// assert_eq!(pool.prefill(64 * 1024, 16), 16);
    /// drop(pool.get(50_000));
    /// assert_eq!(pool.stats().tiers[1].misses, 0);
    /// ```
    pub fn prefill(&self, min_capacity: usize, count: usize) -> usize {
        let engine = &*self.engine;
        let Some(tier) = engine.config().tier_for_request(min_capacity) else { return 0 };
        recycle::prefill(engine, tier, count)
    }

    /// Gives the pool a buffer that did not come from a guard: a foreign
    /// `BytesMut`, one from [`detach`](PooledBuf::detach), one a codec grew,
    /// split or froze and took back with `Bytes::try_into_mut`. Go's
    /// `sync.Pool::Put`.
    ///
    /// It takes the same return path as a dropped guard: the pool clears the
    /// buffer (it never reads its contents), finds its real allocation, and
    /// pools it in the tier that allocation fits. It is discarded instead,
    /// and counted in [`Stats::put_discards`], if its storage is still shared,
    /// if it is below the smallest tier or above every ceiling, or if the
    /// byte budget refuses it. A `put` is not a get: it changes
    /// [`Stats::outstanding`] not at all; each tier counts its
    /// [`adopted`](crate::TierStats::adopted) buffers.
    ///
    /// # Examples
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use tierpool::{BufPool, Discard, Put};
    ///
    /// let pool = BufPool::new();
    /// let mut foreign = BytesMut::with_capacity(70 * 1024);
    /// foreign.extend_from_slice(b"a codec's read buffer");
    /// assert_eq!(pool.put(foreign), Put::Pooled { tier_size: 65536 });
    /// assert_eq!(pool.get(65536).capacity(), 70 * 1024); // reused, whole
    ///
    /// let mut shared = BytesMut::with_capacity(4096);
    /// shared.extend_from_slice(b"frame");
    /// let frame = shared.split().freeze(); // still views the storage
    /// assert_eq!(pool.put(shared), Put::Discarded(Discard::Shared));
    /// assert_eq!(pool.stats().put_discards.shared, 1);
    /// # drop(frame);
    /// ```
    pub fn put(&self, buf: BytesMut) -> Put {
        let engine = &*self.engine;
        match recycle::adopt(engine, Box::new(buf)) {
            Ok(tier) => Put::Pooled { tier_size: engine.config().size(tier) },
            Err(reason) => Put::Discarded(Discard::from_event(reason)),
        }
    }

    /// Every request counted so far, by size bucket (feature `advice`).
    #[cfg(feature = "advice")]
    pub(crate) fn engine_requests(&self) -> [u64; crate::stats::REQUEST_BUCKETS] {
        self.engine.requests()
    }

    /// The pool's name ([`Builder::name`]).
    #[must_use]
    pub fn name(&self) -> &str {
        &self.engine.config().name
    }

    /// The tier sizes, ascending.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(tierpool::BufPool::new().tier_sizes(), &[4096, 65536, 1048576]);
    /// ```
    #[must_use]
    pub fn tier_sizes(&self) -> &[usize] {
        self.engine.config().sizes()
    }

    /// Each tier's ceiling: the largest real capacity pooled in that tier.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(tierpool::BufPool::new().ceilings(), &[8192, 131072, 2097152]);
    /// ```
    #[must_use]
    pub fn ceilings(&self) -> &[usize] {
        &self.engine.config().ceilings
    }

    /// The largest request this pool serves.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(tierpool::BufPool::new().max_request(), tierpool::DEFAULT_MAX_REQUEST);
    /// ```
    #[must_use]
    pub fn max_request(&self) -> usize {
        self.engine.config().max_request
    }
}

impl Default for BufPool {
    fn default() -> Self {
        Self::new()
    }
}

impl core::fmt::Debug for BufPool {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.engine.fmt(f)
    }
}
