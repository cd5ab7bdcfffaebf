//! Tier configuration: the [`Builder`], its defaults and limits, and
//! validation.
//!
//! Every number that shapes a pool's defaults lives in this file, once. The
//! builder collects settings; [`Builder::validate`] checks them all in one
//! place and produces a [`Config`] whose invariants the rest of the crate
//! relies on without re-checking. `Builder::build` (in `pool.rs`) builds the
//! pool from it.

use std::time::Duration;

use crate::error::ConfigError;

/// The default tier sizes: 4 KiB, 64 KiB and 1 MiB.
///
/// 4 KiB is a page and a typical socket read; 64 KiB is the largest TCP
/// segment burst a read usually returns; 1 MiB covers large frames and
/// serialized documents.
pub const DEFAULT_TIERS: [usize; 3] = [4 << 10, 64 << 10, 1 << 20];

/// The default ceiling factor: a buffer returned to tier `s` may have grown to
/// at most `2 × s` bytes of real capacity.
///
/// A factor of 2 admits exactly one doubling, which is what `BufMut::chunk_mut`
/// (and so tokio's `read_buf`) does to a full buffer, and nothing beyond.
pub const DEFAULT_CEILING_FACTOR: usize = 2;

/// The largest tier size a pool accepts: 1 GiB.
pub const MAX_TIER_SIZE: usize = 1 << 30;

/// The default largest request a pool serves, pooled or not: 1 GiB.
///
/// Requests above it make [`BufPool::try_get`](crate::BufPool::try_get) return
/// [`GetError::TooLarge`](crate::GetError::TooLarge) and [`BufPool::get`](crate::BufPool::get)
/// panic. It guards against absurd sizes, such as a corrupt length prefix
/// read from a socket. Raise it with [`Builder::max_request`].
pub const DEFAULT_MAX_REQUEST: usize = 1 << 30;

/// The most tiers a pool may have.
pub const MAX_TIERS: usize = 16;

/// The largest ceiling a tier may have: `isize::MAX` bytes, the largest
/// allocation Rust permits. A [`ceiling_factor`](Builder::ceiling_factor)
/// whose product with a tier size exceeds it is an error.
pub const MAX_CEILING: usize = isize::MAX as usize;

/// The most buffers a thread may cache per tier: 4096.
///
/// Each thread that uses a pool preallocates a pointer per cached buffer per
/// tier (at most 16 tiers × 4096 × 8 bytes = 512 KiB per thread and pool).
pub const MAX_THREAD_CACHE: usize = 4096;

/// The most buffers a tier's global queue may hold: 65 536.
///
/// `build()` preallocates the queue's slots, 40 bytes each (at most
/// 16 tiers × 65 536 × 40 bytes = 40 MiB, plus the spare-batch queues).
pub const MAX_GLOBAL_QUEUE: usize = 1 << 16;

/// The default idle interval: a pooled buffer unused for this long is
/// released (see [`Builder::idle_timeout`]).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// The smallest rate of [`Builder::track_callers_sampled`] (1 would record
/// every get: use [`Builder::track_callers`]).
pub const MIN_SAMPLE_EVERY: u64 = 2;

/// The largest rate of [`Builder::track_callers_sampled`].
pub const MAX_SAMPLE_EVERY: u64 = 1 << 30;

/// A pool's name unless [`Builder::name`] sets one.
pub const DEFAULT_NAME: &str = "default";

/// Bytes a thread caches per tier by default, before it spills to the global
/// queue. Caches are sized by bytes, not count (Bonwick's magazines): a thread
/// keeps many small buffers but few large ones. 8 MiB keeps a working set
/// of 64 × 64 KiB buffers per thread off the global level, and lets a
/// producer → consumer pipeline of 1 MiB buffers cross it in batches of 8
/// (a consumer's whole cache) instead of one at a time (docs/benchmarks.md,
/// *Hand-off*).
const THREAD_CACHE_BYTES: usize = 8 << 20;
/// Bounds on the default per-thread cache count of one tier. The lower bound
/// of 2 keeps a get/drop loop, and a get-get-drop-drop pair, on the cache even
/// for 1 MiB buffers; the upper bound limits the batch moved per spill.
const THREAD_CACHE_MIN: usize = 2;
const THREAD_CACHE_MAX: usize = 64;

/// Bytes the global queue of one tier holds at most by default. It holds
/// only what was returned and not yet reused, and idle decay releases that
/// after [`DEFAULT_IDLE_TIMEOUT`], so this bounds a burst, not a steady
/// state. 128 MiB covers a socket-reader → worker channel of 64 × 1 MiB
/// frames in flight: that hand-off circulates about 68 buffers, and with
/// room for 64 at the global level every consumer-thread exit dropped and
/// re-allocated 6-7 of them; 8 MiB missed on 0.86 of gets.
const GLOBAL_QUEUE_BYTES: usize = 128 << 20;
/// Bounds on the default global-queue count of one tier. The lower bound lets
/// a few thread caches spill a batch each before anything is dropped.
const GLOBAL_QUEUE_MIN: usize = 8;
const GLOBAL_QUEUE_MAX: usize = 4096;

/// The default per-thread cache capacity, in buffers, of a tier of `size`
/// bytes: 8 MiB / `size`, clamped to 2..=64.
///
/// With the default tiers this is 64 × 4 KiB, 64 × 64 KiB and 8 × 1 MiB.
///
/// # Examples
///
/// ```
/// assert_eq!(tierpool::default_thread_cache(4096), 64);
/// assert_eq!(tierpool::default_thread_cache(64 << 10), 64);
/// assert_eq!(tierpool::default_thread_cache(1 << 20), 8);
/// assert_eq!(tierpool::default_thread_cache(16 << 20), 2);
/// ```
#[must_use]
pub fn default_thread_cache(size: usize) -> usize {
    (THREAD_CACHE_BYTES / size.max(1)).clamp(THREAD_CACHE_MIN, THREAD_CACHE_MAX)
}

/// The default global-queue capacity, in buffers, of a tier of `size` bytes:
/// 128 MiB / `size`, clamped to 8..=4096.
///
/// With the default tiers this is 4096 × 4 KiB, 2048 × 64 KiB and 128 × 1 MiB.
///
/// # Examples
///
/// ```
/// assert_eq!(tierpool::default_global_queue(4096), 4096);
/// assert_eq!(tierpool::default_global_queue(1 << 20), 128);
/// ```
#[must_use]
pub fn default_global_queue(size: usize) -> usize {
    (GLOBAL_QUEUE_BYTES / size.max(1)).clamp(GLOBAL_QUEUE_MIN, GLOBAL_QUEUE_MAX)
}

/// Builds a [`BufPool`](crate::BufPool) with custom tiers, ceilings and cache sizes.
///
/// Settings are only recorded here; [`build`](Builder::build) validates them
/// all at once and reports the first problem as a [`ConfigError`].
///
/// # Examples
///
/// ```
/// use tierpool::BufPool;
///
/// let pool = BufPool::builder()
///     .tiers(&[1024, 16 * 1024])
///     .ceiling_factor(4)
///     .thread_cache(&[32, 8])
///     .global_queue(&[256, 64])
///     .build()?;
/// assert_eq!(pool.get(1000).capacity(), 1024);
/// # Ok::<(), tierpool::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Builder {
    tiers: Vec<usize>,
    ceiling: Ceiling,
    thread_cache: Option<Vec<usize>>,
    global_queue: Option<Vec<usize>>,
    max_request: usize,
    max_retained_bytes: Option<usize>,
    max_outstanding_bytes: Option<usize>,
    idle_timeout: Option<Duration>,
    scrub_on_return: bool,
    track_callers: bool,
    chaos: Option<u64>,
    sample_every: Option<u64>,
    name: String,
}

#[derive(Debug, Clone)]
enum Ceiling {
    Factor(usize),
    PerTier(Vec<usize>),
}

impl Default for Builder {
    fn default() -> Self {
        Self::new()
    }
}

// === impl Builder ===

impl Builder {
    /// A builder with the default settings: [`DEFAULT_TIERS`],
    /// [`DEFAULT_CEILING_FACTOR`], caches sized by [`default_thread_cache`] and
    /// [`default_global_queue`], [`DEFAULT_MAX_REQUEST`], no byte budget,
    /// idle decay after [`DEFAULT_IDLE_TIMEOUT`], and no scrubbing.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tierpool::Builder::new().build().unwrap();
    /// assert_eq!(pool.tier_sizes(), &tierpool::DEFAULT_TIERS);
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self {
            tiers: DEFAULT_TIERS.to_vec(),
            ceiling: Ceiling::Factor(DEFAULT_CEILING_FACTOR),
            thread_cache: None,
            global_queue: None,
            max_request: DEFAULT_MAX_REQUEST,
            max_retained_bytes: None,
            max_outstanding_bytes: None,
            idle_timeout: Some(DEFAULT_IDLE_TIMEOUT),
            scrub_on_return: false,
            track_callers: false,
            chaos: None,
            sample_every: None,
            name: DEFAULT_NAME.to_owned(),
        }
    }

    /// Names the pool: the `pool` label of its metrics (feature `metrics`,
    /// `BufPool::export_metrics`), so that two pools of one process are told
    /// apart. [`DEFAULT_NAME`] unless set.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tierpool::BufPool::builder().name("uploads").build()?;
    /// assert_eq!(pool.name(), "uploads");
    /// # Ok::<(), tierpool::ConfigError>(())
    /// ```
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Sets the tier sizes, in bytes: strictly ascending, non-zero, at most
    /// [`MAX_TIER_SIZE`], and at most [`MAX_TIERS`] of them.
    ///
    /// Per-tier settings given earlier keep their values and must still match
    /// the number of tiers at [`build`](Builder::build).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tierpool::BufPool::builder().tiers(&[512, 8192]).build()?;
    /// assert_eq!(pool.tier_sizes(), &[512, 8192]);
    /// # Ok::<(), tierpool::ConfigError>(())
    /// ```
    #[must_use]
    pub fn tiers(mut self, sizes: &[usize]) -> Self {
        self.tiers = sizes.to_vec();
        self
    }

    /// Sets every tier's ceiling to `factor × size`: a returned buffer whose
    /// real capacity exceeds its tier's ceiling is discarded, not pooled.
    ///
    /// `factor` must be at least 1, and `factor × size` at most
    /// [`MAX_CEILING`]. Replaces any [`ceilings`](Builder::ceilings).
    ///
    /// # Examples
    ///
    /// ```
    /// // Pool only buffers that have not grown at all.
    /// let pool = tierpool::BufPool::builder().ceiling_factor(1).build()?;
    /// assert_eq!(pool.ceilings()[0], 4096);
    /// # Ok::<(), tierpool::ConfigError>(())
    /// ```
    #[must_use]
    pub fn ceiling_factor(mut self, factor: usize) -> Self {
        self.ceiling = Ceiling::Factor(factor);
        self
    }

    /// Sets each tier's ceiling in bytes, one per tier, each at least its
    /// tier's size and at most [`MAX_CEILING`]. Replaces any
    /// [`ceiling_factor`](Builder::ceiling_factor).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tierpool::BufPool::builder()
    ///     .tiers(&[4096, 65536])
    ///     .ceilings(&[16384, 65536])
    ///     .build()?;
    /// assert_eq!(pool.ceilings(), &[16384, 65536]);
    /// # Ok::<(), tierpool::ConfigError>(())
    /// ```
    #[must_use]
    pub fn ceilings(mut self, ceilings: &[usize]) -> Self {
        self.ceiling = Ceiling::PerTier(ceilings.to_vec());
        self
    }

    /// Sets how many buffers each thread caches per tier, one count per tier,
    /// each at most [`MAX_THREAD_CACHE`].
    ///
    /// A count of 0 disables the thread cache for that tier: gets and returns
    /// then go straight to the global queue (Bonwick caches no objects over
    /// 128 KiB per CPU; this is how to do the same).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tierpool::BufPool::builder().thread_cache(&[128, 8, 0]).build()?;
    /// # Ok::<(), tierpool::ConfigError>(())
    /// ```
    #[must_use]
    pub fn thread_cache(mut self, counts: &[usize]) -> Self {
        self.thread_cache = Some(counts.to_vec());
        self
    }

    /// Sets the capacity, in buffers, of each tier's global queue, one count
    /// per tier, each in `1..=`[`MAX_GLOBAL_QUEUE`]. A return that finds the
    /// global queue full is dropped and counted as `global_full`. `build()`
    /// preallocates 40 bytes per buffer of capacity.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tierpool::BufPool::builder().global_queue(&[4096, 256, 16]).build()?;
    /// # Ok::<(), tierpool::ConfigError>(())
    /// ```
    #[must_use]
    pub fn global_queue(mut self, counts: &[usize]) -> Self {
        self.global_queue = Some(counts.to_vec());
        self
    }

    /// Sets the largest request the pool serves; at least the largest tier,
    /// and at most `isize::MAX`.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tierpool::BufPool::builder().max_request(1 << 20).build()?;
    /// assert!(pool.try_get((1 << 20) + 1).is_err());
    /// # Ok::<(), tierpool::ConfigError>(())
    /// ```
    #[must_use]
    pub fn max_request(mut self, bytes: usize) -> Self {
        self.max_request = bytes;
        self
    }

    /// Caps the bytes the pool retains, in its global queues and every thread
    /// cache together, at every instant, under any number of threads. A
    /// return that would go over is discarded and counted as `over_budget`.
    ///
    /// Each thread reserves budget in batches of 1/64 of the limit, so the
    /// hot path stays free of shared atomics. The price: reservations that sit
    /// unused in other threads can make a return be refused a little before
    /// the limit is reached, never after. Must be at least the smallest tier.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tierpool::BufPool::builder().max_retained_bytes(64 * 1024).build()?;
    /// let held: Vec<_> = (0..32).map(|_| pool.get(4096)).collect();
    /// drop(held); // 32 × 4 KiB = 128 KiB returned; at most 64 KiB kept
    /// let stats = pool.stats();
    /// assert!(stats.retained_bytes() <= 64 * 1024);
    /// assert!(stats.tiers[0].discards.over_budget >= 16);
    /// # Ok::<(), tierpool::ConfigError>(())
    /// ```
    #[must_use]
    pub fn max_retained_bytes(mut self, bytes: usize) -> Self {
        self.max_retained_bytes = Some(bytes);
        self
    }

    /// Caps the bytes the pool has handed out and not yet got back: the real
    /// capacity of every guard, every chunk of a chain, and every buffer
    /// behind an [`into_shared`](crate::PooledBuf::into_shared) `Bytes` until
    /// its last clone drops. A buffer counts from its checkout until its
    /// guard ends, at the capacity it was handed out with; one that
    /// [`detach`](crate::PooledBuf::detach) takes out of the pool stops
    /// counting there.
    ///
    /// - [`BufPool::acquire`](crate::BufPool::acquire) waits until the
    ///   request fits, first come first served, under any executor;
    ///   [`try_acquire`](crate::BufPool::try_acquire) returns
    ///   [`AcquireError::WouldWait`](crate::AcquireError::WouldWait) instead.
    ///   A request charged more than the whole limit fails at once with
    ///   [`AcquireError::AboveLimit`](crate::AcquireError::AboveLimit).
    /// - [`get`](crate::BufPool::get) never waits: it counts, and may take
    ///   the pool past the limit (a *forced* charge, counted in
    ///   [`AdmissionStats::overdrafts`](crate::AdmissionStats::overdrafts)), so
    ///   code that cannot wait keeps working. The limit holds for what
    ///   `acquire` hands out: the bytes forced past it are repaid first.
    /// - A chain's chunks are charged as they are taken: forced on the writes
    ///   that cannot fail, a [`ChainError::WouldWait`](crate::ChainError::WouldWait)
    ///   from `try_extend_from_slice`, and `tierpool::tokio::read_chain`
    ///   waits for room for its next chunk.
    ///
    /// Each thread takes room in batches of 1/64 of the limit, so no shared
    /// atomic is touched per checkout, and keeps at most 1/32 of it unused; a
    /// future that starts to wait takes back every thread's unused room,
    /// quiet threads' included, and while it waits no thread keeps any. A
    /// pool with a limit takes its general get and return paths: see
    /// `docs/benchmarks.md` for the cost.
    ///
    /// Must be at least the smallest tier. With a limit, `max_request` and
    /// every ceiling must be at most `u32::MAX` bytes (a guard carries its
    /// charge in 32 bits).
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tierpool::BufPool::builder().max_outstanding_bytes(8 << 20).build()?;
    /// let a = pool.try_acquire(4 << 20)?;
    /// let b = pool.try_acquire(4 << 20)?; // both above the 1 MiB tier: exact size
    /// assert!(pool.try_acquire(1).is_err(), "8 MiB handed out");
    /// drop((a, b));
    /// assert_eq!(pool.stats().admission.unwrap().outstanding_bytes, 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn max_outstanding_bytes(mut self, bytes: usize) -> Self {
        self.max_outstanding_bytes = Some(bytes);
        self
    }

    /// Releases pooled buffers that stay unused for a whole `interval`
    /// ([`DEFAULT_IDLE_TIMEOUT`] by default); `None` keeps them until
    /// [`trim`](crate::BufPool::trim) or the pool drops. Any non-zero interval is
    /// valid; one above `u64::MAX` nanoseconds (584 years) never elapses.
    ///
    /// No background thread is involved. Every thread checks the clock on
    /// every 1024th cache hit, every 8th refill or spill, and every miss, and
    /// [`BufPool::decay`](crate::BufPool::decay) checks it on demand.
    /// A buffer may therefore stay up to one more interval, plus the time to
    /// the next check, before it is released. A thread's own cache is reaped
    /// on its next use of the pool.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let pool = tierpool::BufPool::builder().idle_timeout(Some(Duration::from_millis(10))).build()?;
    /// drop(pool.get(100));
    /// std::thread::sleep(Duration::from_millis(15));
    /// pool.decay(); // tick: the buffer is idle from now on
    /// std::thread::sleep(Duration::from_millis(15));
    /// pool.decay(); // a whole interval idle: released
    /// assert_eq!(pool.stats().retained_bytes(), 0);
    /// # Ok::<(), tierpool::ConfigError>(())
    /// ```
    #[must_use]
    pub fn idle_timeout(mut self, interval: Option<Duration>) -> Self {
        self.idle_timeout = interval;
        self
    }

    /// Zeroes a buffer's whole capacity before it is pooled, so that no byte
    /// of one user's data, secrets included, survives into the next user's
    /// memory, even beyond `len()` (after `truncate`, `advance` or `split`).
    ///
    /// Costs a `memset` of the full capacity on every pooled return (docs/tuning.md,
    /// *scrub_on_return*, says how to measure it). Discarded buffers go back to the allocator
    /// unscrubbed.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tierpool::BufPool::builder().scrub_on_return(true).build()?;
    /// let mut buf = pool.get(16);
    /// buf.extend_from_slice(b"password=hunter2");
    /// drop(buf); // all 4096 bytes of capacity are zeroed, then pooled
    /// assert_eq!(pool.stats().tiers[0].retained_buffers, 1);
    /// # Ok::<(), tierpool::ConfigError>(())
    /// ```
    #[must_use]
    pub fn scrub_on_return(mut self, scrub: bool) -> Self {
        self.scrub_on_return = scrub;
        self
    }

    /// Records, for every buffer checked out, the source line that checked
    /// it out, so that a leak says where it was taken: see
    /// [`BufPool::outstanding_by_caller`](crate::BufPool::outstanding_by_caller)
    /// and [`BufPool::assert_quiescent`](crate::BufPool::assert_quiescent).
    /// For tests; off by default.
    ///
    /// The call site is `#[track_caller]`'s, so no stack is walked. Every
    /// checkout counts: `get`, `try_get`, `get_owned`, `try_get_owned`,
    /// `tierpool::get`, and `into_shared`, which moves a buffer's checkout to
    /// its own caller until the last clone of the `Bytes` drops.
    ///
    /// Off, it costs nothing. On, every get and return of the pool takes the
    /// slow path and a lock, so it is for tests.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tierpool::BufPool::builder().track_callers(true).build()?;
    /// let leaked = pool.get(100);
    /// let out = pool.outstanding_by_caller();
    /// assert_eq!((out[0].location.line(), out[0].buffers), (line!() - 2, 1));
    /// # drop(leaked);
    /// # Ok::<(), tierpool::ConfigError>(())
    /// ```
    #[must_use]
    pub fn track_callers(mut self, track: bool) -> Self {
        self.track_callers = track;
        self
    }

    /// Records the source line of about one get in `every`, cheap enough to
    /// leave on in production, where the leaks that matter happen (Netty's
    /// `ResourceLeakDetector` samples the same way).
    /// [`BufPool::outstanding_by_caller`](crate::BufPool::outstanding_by_caller)
    /// then reports the recorded call sites with `estimated` counts: each
    /// recorded cache hit stands for `every` checkouts.
    ///
    /// Cache hits are sampled: on each thread and tier, the gap between two
    /// recorded hits is drawn at random (uniform in `1..2 × every`, from a
    /// deterministic generator per thread cache), so a periodic workload
    /// cannot line up with it; the hits between stay on the fast path. Gets
    /// that take a slow path anyway (a refill, a miss, an oversize get) are
    /// all recorded, and count once. `every` is from [`MIN_SAMPLE_EVERY`] to
    /// [`MAX_SAMPLE_EVERY`]. With [`track_callers`](Self::track_callers) on
    /// as well, every get is recorded.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tierpool::BufPool::builder().track_callers_sampled(128).build()?;
    /// let mut leaked = Vec::new();
    /// for i in 0..100_000 {
    ///     let buf = pool.get(100);
    ///     if i % 10 == 0 {
    ///         leaked.push(buf); // 10,000 out, at one line
    ///     }
    /// }
    /// let site = &pool.outstanding_by_caller()[0];
    /// assert!(site.buffers < 2_000, "a sample is recorded, not every get: {site:?}");
    /// assert!((5_000..15_000).contains(&site.estimated), "{site:?}");
    /// # Ok::<(), tierpool::ConfigError>(())
    /// ```
    #[must_use]
    pub fn track_callers_sampled(mut self, every: u64) -> Self {
        self.sample_every = Some(every);
        self
    }

    /// Shakes the assumptions of the code that uses the pool, for tests:
    /// deterministically from `seed`, the pool
    ///
    /// - hands out one get in four a fresh buffer with more capacity than its
    ///   tier's size (up to the tier's ceiling), where code that expects
    ///   `capacity() == tier size` breaks;
    /// - fills the spare capacity of every buffer it hands out with the
    ///   pattern `tierpool-chaos! `, where code that reads
    ///   `spare_capacity_mut()` or past `len()` sees it;
    /// - drops one return in four instead of pooling it (as Go's race
    ///   detector does to `sync.Pool`), counted in `discards.chaos`, where
    ///   code that expects to get its own buffer back breaks.
    ///
    /// Every guarantee holds: a buffer is handed out empty, with
    /// `capacity() >= n`, and never aliased. The same seed and the same
    /// sequence of operations give the same effects, so a failure replays
    /// from its seed. Off by default; on, every get and return takes the slow
    /// path.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tierpool::BufPool::builder().chaos(7).build()?;
    /// let buf = pool.get(100);
    /// assert!(buf.is_empty() && buf.capacity() >= 100);
    /// # Ok::<(), tierpool::ConfigError>(())
    /// ```
    #[must_use]
    pub fn chaos(mut self, seed: u64) -> Self {
        self.chaos = Some(seed);
        self
    }

    /// Checks every setting; the first problem found is the error (see
    /// `Builder::build` for the list).
    pub(crate) fn validate(self) -> Result<Config, ConfigError> {
        let tiers = self.tiers;
        if tiers.is_empty() {
            return Err(ConfigError::NoTiers);
        }
        if tiers.len() > MAX_TIERS {
            return Err(ConfigError::TooManyTiers { count: tiers.len(), max: MAX_TIERS });
        }
        for (index, &size) in tiers.iter().enumerate() {
            if size == 0 {
                return Err(ConfigError::ZeroSize { index });
            }
            if size > MAX_TIER_SIZE {
                return Err(ConfigError::TierTooLarge { size, max: MAX_TIER_SIZE });
            }
            if index > 0 {
                let previous = tiers[index - 1];
                if size == previous {
                    return Err(ConfigError::Duplicate { size });
                }
                if size < previous {
                    return Err(ConfigError::NotAscending { index, size, previous });
                }
            }
        }

        let ceilings = match self.ceiling {
            Ceiling::Factor(factor) => {
                if factor == 0 {
                    return Err(ConfigError::CeilingBelowSize { size: tiers[0], ceiling: 0 });
                }
                tiers.iter().map(|s| s.saturating_mul(factor)).collect()
            }
            Ceiling::PerTier(c) => per_tier("ceilings", c, tiers.len())?,
        };
        for (&size, &ceiling) in tiers.iter().zip(&ceilings) {
            if ceiling < size {
                return Err(ConfigError::CeilingBelowSize { size, ceiling });
            }
            at_most("ceiling", ceiling, MAX_CEILING)?;
        }

        let thread_cache = match self.thread_cache {
            Some(c) => per_tier("thread_cache", c, tiers.len())?,
            None => tiers.iter().map(|&s| default_thread_cache(s)).collect(),
        };
        let global_queue = match self.global_queue {
            Some(c) => per_tier("global_queue", c, tiers.len())?,
            None => tiers.iter().map(|&s| default_global_queue(s)).collect(),
        };
        if let Some(i) = global_queue.iter().position(|&c| c == 0) {
            return Err(ConfigError::ZeroGlobalQueue { size: tiers[i] });
        }
        for (&cache, &queue) in thread_cache.iter().zip(&global_queue) {
            at_most("thread_cache", cache, MAX_THREAD_CACHE)?;
            at_most("global_queue", queue, MAX_GLOBAL_QUEUE)?;
        }

        let largest = tiers[tiers.len() - 1];
        if self.max_request < largest || self.max_request > isize::MAX as usize {
            return Err(ConfigError::InvalidMaxRequest { max_request: self.max_request, largest_tier: largest });
        }

        if let Some(budget) = self.max_retained_bytes
            && budget < tiers[0]
        {
            return Err(ConfigError::BudgetBelowSmallestTier { budget, smallest_tier: tiers[0] });
        }
        if let Some(limit) = self.max_outstanding_bytes {
            if limit < tiers[0] {
                return Err(ConfigError::OutstandingBelowSmallestTier { limit, smallest_tier: tiers[0] });
            }
            at_most("max_outstanding_bytes", limit, crate::admission::MAX_LIMIT)?;
            at_most("max_request (with max_outstanding_bytes)", self.max_request, crate::admission::MAX_CHARGE)?;
            for &ceiling in &ceilings {
                at_most("ceiling (with max_outstanding_bytes)", ceiling, crate::admission::MAX_CHARGE)?;
            }
        }
        if self.idle_timeout == Some(Duration::ZERO) {
            return Err(ConfigError::ZeroIdleTimeout);
        }
        if let Some(every) = self.sample_every
            && !(MIN_SAMPLE_EVERY..=MAX_SAMPLE_EVERY).contains(&every)
        {
            return Err(ConfigError::SampleRate { every, min: MIN_SAMPLE_EVERY, max: MAX_SAMPLE_EVERY });
        }

        let mut sizes = [0; MAX_TIERS];
        sizes[..tiers.len()].copy_from_slice(&tiers);
        Ok(Config {
            sizes,
            tiers: tiers.len(),
            ceilings,
            thread_cache,
            global_queue,
            max_request: self.max_request,
            max_retained_bytes: self.max_retained_bytes,
            max_outstanding_bytes: self.max_outstanding_bytes,
            idle_timeout: self.idle_timeout,
            scrub_on_return: self.scrub_on_return,
            track_callers: self.track_callers,
            chaos: self.chaos,
            sample_every: self.sample_every,
            name: self.name,
        })
    }
}

/// `value` of `setting`, if it is at most `max`.
fn at_most(setting: &'static str, value: usize, max: usize) -> Result<usize, ConfigError> {
    if value <= max { Ok(value) } else { Err(ConfigError::AboveMaximum { setting, value, max }) }
}

fn per_tier(setting: &'static str, values: Vec<usize>, tiers: usize) -> Result<Vec<usize>, ConfigError> {
    if values.len() == tiers {
        Ok(values)
    } else {
        Err(ConfigError::LengthMismatch { setting, expected: tiers, got: values.len() })
    }
}

/// A validated configuration. Invariants, established once by
/// [`Builder::build`]:
/// - `sizes()` is non-empty, strictly ascending, each in `1..=MAX_TIER_SIZE`,
///   with at most `MAX_TIERS` entries, and the padding after it is 0;
/// - every per-tier vector has `tiers` entries;
/// - `ceilings[i] >= sizes[i]` and `global_queue[i] >= 1`;
/// - `sizes.last() <= max_request <= isize::MAX`;
/// - `max_retained_bytes >= sizes[0]`, and `idle_timeout` is not zero.
#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// The tiers' sizes ([`Config::sizes`]), padded with zeros to
    /// `MAX_TIERS` entries: a fixed array in the engine, so the hot paths'
    /// lookups ([`Config::tier_for_request`], [`Config::size`]) load no
    /// pointer and check no length.
    sizes: [usize; MAX_TIERS],
    /// How many tiers there are: the unpadded length of `sizes`.
    tiers: usize,
    pub(crate) ceilings: Vec<usize>,
    pub(crate) thread_cache: Vec<usize>,
    pub(crate) global_queue: Vec<usize>,
    pub(crate) max_request: usize,
    pub(crate) max_retained_bytes: Option<usize>,
    pub(crate) max_outstanding_bytes: Option<usize>,
    pub(crate) idle_timeout: Option<Duration>,
    pub(crate) scrub_on_return: bool,
    pub(crate) track_callers: bool,
    pub(crate) chaos: Option<u64>,
    pub(crate) sample_every: Option<u64>,
    pub(crate) name: String,
}

// === impl Config ===

impl Config {
    /// The smallest tier whose size is at least `n`, or `None` above the
    /// largest tier. Tiers are few (≤ 16) and sorted; a linear scan beats a
    /// binary search at this size. The padding never matches a request of
    /// at least one byte, and a request of 0 matches the first tier.
    #[inline]
    pub(crate) fn tier_for_request(&self, n: usize) -> Option<usize> {
        self.sizes.iter().position(|&size| size >= n)
    }

    /// The tiers' sizes, ascending.
    pub(crate) fn sizes(&self) -> &[usize] {
        &self.sizes[..self.tiers]
    }

    /// The size of `tier`: a caller that knows `tier < MAX_TIERS` (a plain
    /// tier origin) pays one load, no bounds check.
    #[inline]
    pub(crate) fn size(&self, tier: usize) -> usize {
        debug_assert!(tier < self.tiers);
        self.sizes[tier]
    }

    /// The usual batch between a thread cache and the global depot of
    /// `tier`: half a magazine, at least one. A magazine that gave nothing
    /// out since its last move spills all of itself ([`Self::whole`]).
    pub(crate) fn half(&self, tier: usize) -> usize {
        self.thread_cache[tier].div_ceil(2).max(1)
    }

    /// The largest batch between a thread cache and the global depot of
    /// `tier`: a whole magazine, at least one.
    pub(crate) fn whole(&self, tier: usize) -> usize {
        self.thread_cache[tier].max(1)
    }

    /// The tier a buffer of real capacity `capacity` belongs to: the largest
    /// tier whose size it covers, if its capacity is within that tier's
    /// ceiling.
    #[inline]
    pub(crate) fn tier_for_capacity(&self, capacity: usize) -> Result<usize, Fit> {
        match self.sizes().iter().rposition(|&size| size <= capacity) {
            None => Err(Fit::TooSmall),
            Some(t) if capacity > self.ceilings[t] => Err(Fit::AboveCeiling),
            Some(t) => Ok(t),
        }
    }

    pub(crate) fn tiers(&self) -> usize {
        self.tiers
    }
}

/// Why a capacity fits no tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fit {
    TooSmall,
    AboveCeiling,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Builder::new().validate().unwrap()
    }

    #[test]
    fn request_picks_smallest_tier_that_fits() {
        let c = config();
        assert_eq!(c.tier_for_request(0), Some(0));
        assert_eq!(c.tier_for_request(4096), Some(0));
        assert_eq!(c.tier_for_request(4097), Some(1));
        assert_eq!(c.tier_for_request(1 << 20), Some(2));
        assert_eq!(c.tier_for_request((1 << 20) + 1), None);
    }

    #[test]
    fn capacity_picks_largest_covered_tier_within_ceiling() {
        let c = config();
        assert_eq!(c.tier_for_capacity(4095), Err(Fit::TooSmall));
        assert_eq!(c.tier_for_capacity(4096), Ok(0));
        assert_eq!(c.tier_for_capacity(8192), Ok(0));
        assert_eq!(c.tier_for_capacity(8193), Err(Fit::AboveCeiling));
        assert_eq!(c.tier_for_capacity(70 << 10), Ok(1));
        assert_eq!(c.tier_for_capacity(2 << 20), Ok(2));
        assert_eq!(c.tier_for_capacity((2 << 20) + 1), Err(Fit::AboveCeiling));
    }

    #[test]
    fn default_cache_sizes_follow_bytes_not_counts() {
        let c = config();
        assert_eq!(c.thread_cache, [64, 64, 8]);
        assert_eq!(c.global_queue, [4096, 2048, 128]);
    }
}
