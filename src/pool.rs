//! The public pool: [`BufPool`], the global pool, and the get path.
//!
//! ```text
//! get(n) ─► tier for n ─┬─► thread cache ─► (empty) refill half from global queue ─► (empty) allocate
//!                       └─► above the largest tier: allocate exactly n, unpooled
//! ```

use std::sync::OnceLock;

use bytes::BytesMut;

use crate::budget::Budget;
use crate::config::{Builder, Config};
use crate::decay::{Clock, Epochs};
use crate::depot::Depot;
use crate::error::GetError;
use crate::guard::{PoolRef, PooledBuf};
use crate::local;
use crate::recycle::{self, Origin, Pooled};
use crate::stats::{Event, Stats, ThreadStats, Totals};
use crate::sync::{Arc, AtomicU64, Mutex, MutexGuard, Ordering::Relaxed, Weak};

/// A pool of [`BytesMut`] buffers in size classes (tiers).
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
    inner: Arc<Inner>,
}

/// The shared state of a pool. Hot-path reads (`id`, `epochs`, `config`,
/// `budget`'s presence, `depots`) are of fields that only construction, `trim`
/// and the once-per-interval decay tick write.
pub(crate) struct Inner {
    /// Unique among all pools ever created in this process.
    pub(crate) id: u64,
    /// `trim` generations and decay epochs (see `decay::Epochs`). A thread
    /// cache that saw older epochs catches up on its next use.
    epochs: AtomicU64,
    pub(crate) config: Config,
    /// The byte budget, if any; `None` does no accounting at all.
    pub(crate) budget: Option<Budget>,
    clock: Clock,
    /// One global queue per tier.
    pub(crate) depots: Box<[Depot]>,
    /// Counters for the paths that have no thread cache (TLS teardown,
    /// `trim`); updated with `fetch_add`.
    pub(crate) shared_stats: ThreadStats,
    /// Lets a thread cache hold the pool weakly, to flush at thread exit.
    pub(crate) weak_self: Weak<Inner>,
    registry: Mutex<Registry>,
}

/// Every live thread's counters, and what exited threads left behind.
pub(crate) struct Registry {
    pub(crate) live: Vec<Arc<ThreadStats>>,
    pub(crate) retired: Totals,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(0);

impl Inner {
    /// The registry, even if a thread panicked while holding it: it holds
    /// only counters, which stay valid.
    pub(crate) fn registry(&self) -> MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    #[inline]
    pub(crate) fn epochs(&self) -> Epochs {
        Epochs(self.epochs.load(Relaxed))
    }

    /// Checks the decay clock; if an interval has elapsed, starts a new
    /// epoch and reaps the global queues. Thread caches reap themselves when
    /// they see the new epoch.
    #[cold]
    pub(crate) fn tick(&self) {
        if !self.clock.tick_due() {
            return;
        }
        self.epochs.fetch_add(1, Relaxed);
        for (tier, depot) in self.depots.iter().enumerate() {
            let (buffers, bytes) = depot.reap();
            self.refund_shared(bytes);
            self.shared_stats.add(tier, Event::Decayed, buffers);
        }
    }

    /// Pays for a buffer entering the pool on a path without a thread cache.
    pub(crate) fn spend_shared(&self, cost: usize) -> bool {
        match &self.budget {
            None => true,
            Some(budget) => budget.reserve_exact(cost),
        }
    }

    /// Gives back the bytes of buffers that left the pool on a path without
    /// a thread cache.
    pub(crate) fn refund_shared(&self, bytes: usize) {
        if let Some(budget) = &self.budget {
            budget.release(bytes);
        }
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

    pub(crate) fn from_config(config: Config) -> Self {
        let depots = (config.global_queue.iter().enumerate()).map(|(t, &c)| Depot::new(c, config.batch(t))).collect();
        let tiers = config.tiers();
        let inner = Arc::new_cyclic(|weak_self| Inner {
            id: NEXT_ID.fetch_add(1, Relaxed),
            epochs: AtomicU64::new(0),
            budget: config.max_retained_bytes.map(Budget::new),
            clock: Clock::new(config.idle_timeout),
            depots,
            shared_stats: ThreadStats::new(tiers),
            weak_self: weak_self.clone(),
            registry: Mutex::new(Registry { live: Vec::new(), retired: Totals::new(tiers) }),
            config,
        });
        Self { inner }
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
        let inner = &*self.inner;
        match inner.config.tier_for_request(min_capacity) {
            Some(tier) => PooledBuf::new(local::take(inner, tier), Origin::Tier(tier), PoolRef::Borrowed(self)),
            None => match self.take_oversize(min_capacity, false) {
                Ok(buf) => PooledBuf::new(buf, Origin::Oversize, PoolRef::Borrowed(self)),
                Err(err) => get_failed(err),
            },
        }
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
    pub fn try_get(&self, min_capacity: usize) -> Result<PooledBuf<'_>, GetError> {
        let (buf, origin) = self.try_take(min_capacity)?;
        Ok(PooledBuf::new(buf, origin, PoolRef::Borrowed(self)))
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
        let inner = &*self.inner;
        let owner = PoolRef::Owned(Arc::clone(self));
        match inner.config.tier_for_request(min_capacity) {
            Some(tier) => PooledBuf::new(local::take(inner, tier), Origin::Tier(tier), owner),
            None => match self.take_oversize(min_capacity, false) {
                Ok(buf) => PooledBuf::new(buf, Origin::Oversize, owner),
                Err(err) => get_failed(err),
            },
        }
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
    pub fn try_get_owned(self: &Arc<Self>, min_capacity: usize) -> Result<PooledBuf<'static>, GetError> {
        let (buf, origin) = self.try_take(min_capacity)?;
        Ok(PooledBuf::new(buf, origin, PoolRef::Owned(Arc::clone(self))))
    }

    /// The fallible get path, for `try_get`: a miss allocates fallibly.
    fn try_take(&self, n: usize) -> Result<(Pooled, Origin), GetError> {
        let inner = &*self.inner;
        let Some(tier) = inner.config.tier_for_request(n) else {
            return Ok((self.take_oversize(n, true)?, Origin::Oversize));
        };
        let buf = match local::take_cached(inner, tier) {
            Some(buf) => buf,
            None => {
                let buf = Box::new(alloc(inner.config.sizes[tier], true)?);
                local::count(inner, tier, Event::Miss);
                buf
            }
        };
        Ok((buf, Origin::Tier(tier)))
    }

    #[cold]
    fn take_oversize(&self, n: usize, fallible: bool) -> Result<Pooled, GetError> {
        let inner = &*self.inner;
        if n > inner.config.max_request {
            return Err(GetError::TooLarge { requested: n, limit: inner.config.max_request });
        }
        let buf = Box::new(alloc(n, fallible)?);
        local::count(inner, inner.config.tiers(), Event::Miss);
        Ok(buf)
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
        let inner = &*self.inner;
        let mut totals = {
            let registry = inner.registry();
            let mut totals = registry.retired.clone();
            for thread in &registry.live {
                thread.fold_into(&mut totals);
            }
            totals
        };
        inner.shared_stats.fold_into(&mut totals);
        let depot: Vec<_> = inner.depots.iter().map(Depot::level).collect();
        let mut stats = totals.snapshot(&inner.config.sizes, &inner.config.ceilings, &depot);
        stats.max_retained_bytes = inner.budget.as_ref().map(Budget::limit);
        stats
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
        let inner = &*self.inner;
        let mut released = local::release(inner);
        inner.epochs.fetch_add(Epochs::TRIM, Relaxed);
        for (tier, depot) in inner.depots.iter().enumerate() {
            let (buffers, bytes) = depot.drain();
            released += bytes;
            inner.refund_shared(bytes);
            inner.shared_stats.add(tier, Event::Trimmed, buffers);
        }
        released
    }

    /// Runs idle decay now: if the pool's idle interval has elapsed since the
    /// last tick, releases the buffers that sat unused in the global queues
    /// for the whole interval, then reaps the calling thread's cache the same
    /// way. Other threads reap theirs on their next use of the pool.
    ///
    /// Gets and returns check the clock by themselves, every 1024 cache hits
    /// per thread and on every refill, spill and miss. Call this from a timer
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
        self.inner.tick();
        local::sync(&self.inner);
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
        self.inner.clock.interval()
    }

    /// Allocates up to `count` buffers for the tier that serves
    /// `min_capacity` and puts them in its global queue, so that the first
    /// gets do not allocate. Returns how many were added: fewer if the queue
    /// or the byte budget filled up, and 0 above the largest tier (oversize
    /// buffers are never pooled).
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
        let inner = &*self.inner;
        let Some(tier) = inner.config.tier_for_request(min_capacity) else { return 0 };
        let size = inner.config.sizes[tier];
        let mut added = 0;
        while added < count && inner.spend_shared(size) {
            if !inner.depots[tier].push(recycle::new_pooled(size)) {
                inner.refund_shared(size);
                break;
            }
            added += 1;
        }
        added
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
        &self.inner.config.sizes
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
        &self.inner.config.ceilings
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
        self.inner.config.max_request
    }

    pub(crate) fn inner(&self) -> &Inner {
        &self.inner
    }
}

impl Default for BufPool {
    fn default() -> Self {
        Self::new()
    }
}

impl core::fmt::Debug for BufPool {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let c = &self.inner.config;
        f.debug_struct("BufPool")
            .field("tiers", &c.sizes)
            .field("ceilings", &c.ceilings)
            .field("thread_cache", &c.thread_cache)
            .field("global_queue", &c.global_queue)
            .field("max_request", &c.max_request)
            .field("max_retained_bytes", &c.max_retained_bytes)
            .field("idle_timeout", &c.idle_timeout)
            .field("scrub_on_return", &c.scrub_on_return)
            .finish_non_exhaustive()
    }
}

/// Allocates an empty buffer of `n` bytes; with `fallible`, reports
/// allocator failure instead of aborting.
///
/// `bytes` has no fallible constructor, so the fallible path reserves a
/// `Vec`, zero-fills it (a `Vec` with `len == capacity` converts to `Bytes`,
/// then to `BytesMut`, without allocating), and clears it. The fill touches
/// every page: `try_get`'s misses cost more than `get`'s.
pub(crate) fn alloc(n: usize, fallible: bool) -> Result<BytesMut, GetError> {
    if !fallible {
        return Ok(BytesMut::with_capacity(n));
    }
    let mut storage = Vec::new();
    storage.try_reserve_exact(n).map_err(|_| GetError::AllocFailed { requested: n })?;
    storage.resize(storage.capacity(), 0);
    let mut buf = BytesMut::from(bytes::Bytes::from(storage));
    buf.clear();
    Ok(buf)
}

#[cold]
#[track_caller]
fn get_failed(err: GetError) -> ! {
    panic!("tierpool: {err}; use try_get to handle this as an error")
}

/// The process-wide pool with default settings, built on first use.
///
/// Guards from it are `'static`, like those of
/// [`get_owned`](BufPool::get_owned), with no reference count.
///
/// # Examples
///
/// ```
/// let buf = tierpool::global().get(100);
/// let shared = buf.into_shared(); // 'static guards can become zero-copy Bytes
/// assert!(shared.is_empty());
/// ```
pub fn global() -> &'static BufPool {
    static GLOBAL: OnceLock<BufPool> = OnceLock::new();
    GLOBAL.get_or_init(BufPool::new)
}

/// Gets a buffer from the [`global`] pool: `tierpool::global().get(n)`.
///
/// # Panics
///
/// As [`BufPool::get`]: if `min_capacity` is above 1 GiB.
///
/// # Examples
///
/// ```
/// let mut buf = tierpool::get(100);
/// buf.extend_from_slice(b"hi");
/// assert_eq!(buf.freeze(), "hi");
/// ```
#[inline]
#[track_caller]
pub fn get(min_capacity: usize) -> PooledBuf<'static> {
    global().get(min_capacity)
}
