//! Feature `advice`: tiers suggested from what was asked for.
//!
//! Every get counts its request size in a log2 histogram of the calling
//! thread's counter block (a load and a store of a cell only that thread
//! writes: nothing shared on the hit path). [`BufPool::advise`] sums the
//! blocks and turns the histogram into tiers: each tier the smallest power
//! of two that holds a bucket of requests, neighbouring buckets merged until
//! there are at most [`MAX_ADVISED_TIERS`], and thread caches and global
//! queues sized as the defaults size them for those tiers.

use crate::config::{DEFAULT_TIERS, default_global_queue, default_thread_cache};
use crate::pool::BufPool;
use crate::stats::{REQUEST_BUCKETS, Requests};

/// The most tiers [`BufPool::advise`] suggests: the default's count.
pub const MAX_ADVISED_TIERS: usize = 3;

/// The smallest tier [`BufPool::advise`] suggests: below it, a pool saves
/// less than a buffer's own overhead.
pub const MIN_ADVISED_TIER: usize = 256;

/// Tiers suggested from the requests a pool saw, from [`BufPool::advise`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Advice {
    /// Requests counted.
    pub requests: u64,
    /// The suggested tiers, smallest first.
    pub tiers: Vec<AdvisedTier>,
    /// The share of requests above the largest suggested tier, served
    /// unpooled (0 with the defaults).
    pub oversize_share: f64,
}

/// One suggested tier.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct AdvisedTier {
    /// Its size in bytes.
    pub size: usize,
    /// The share of requests it would serve, in `0.0..=1.0`.
    pub share: f64,
    /// Its thread cache, in buffers ([`default_thread_cache`]).
    pub thread_cache: usize,
    /// Its global queue, in buffers ([`default_global_queue`]).
    pub global_queue: usize,
    /// What its thread cache holds when full, per thread: `thread_cache ×
    /// size` bytes.
    pub thread_cache_bytes: usize,
    /// What its global queue holds when full: `global_queue × size` bytes.
    pub global_queue_bytes: usize,
}

impl Advice {
    /// The suggested tier sizes, smallest first, for
    /// [`Builder::tiers`](crate::Builder::tiers).
    #[must_use]
    pub fn tier_sizes(&self) -> Vec<usize> {
        self.tiers.iter().map(|t| t.size).collect()
    }

    /// The suggested thread caches, for
    /// [`Builder::thread_cache`](crate::Builder::thread_cache).
    #[must_use]
    pub fn thread_caches(&self) -> Vec<usize> {
        self.tiers.iter().map(|t| t.thread_cache).collect()
    }

    /// Tiers for the request counts `histogram`, where bucket `b` counts the
    /// requests of `(2^(b-1), 2^b]` bytes. With no request, the defaults.
    fn from_histogram(histogram: &[u64; REQUEST_BUCKETS]) -> Advice {
        let requests: u64 = histogram.iter().sum();
        if requests == 0 {
            let each = 1.0 / DEFAULT_TIERS.len() as f64;
            let tiers = DEFAULT_TIERS.iter().map(|&size| AdvisedTier::new(size, 0, 0)).collect::<Vec<_>>();
            let tiers = tiers.into_iter().map(|t| AdvisedTier { share: each, ..t }).collect();
            return Advice { requests, tiers, oversize_share: 0.0 };
        }
        // (bucket, count) of every bucket with requests, the smallest buckets
        // folded into the one of `MIN_ADVISED_TIER`.
        let floor = Requests::bucket(MIN_ADVISED_TIER);
        let mut groups: Vec<(usize, u64)> = Vec::new();
        for (bucket, &count) in histogram.iter().enumerate().filter(|&(_, &c)| c > 0) {
            let bucket = bucket.max(floor);
            match groups.last_mut() {
                Some((last, sum)) if *last == bucket => *sum += count,
                _ => groups.push((bucket, count)),
            }
        }
        // Too many: merge the group with the fewest requests into the next
        // larger one (the largest into the one below), which serves it with
        // a larger buffer but keeps every request pooled.
        while groups.len() > MAX_ADVISED_TIERS {
            let (i, _) = groups.iter().enumerate().min_by_key(|(_, (_, c))| *c).expect("non-empty");
            let (into, from) = if i + 1 < groups.len() { (i + 1, i) } else { (i - 1, i) };
            let (bucket, count) = groups.remove(from);
            let into = if from < into { into - 1 } else { into };
            groups[into].1 += count;
            groups[into].0 = groups[into].0.max(bucket);
        }
        let tiers =
            groups.iter().map(|&(bucket, count)| AdvisedTier::new(bucket_size(bucket), count, requests)).collect();
        Advice { requests, tiers, oversize_share: 0.0 }
    }
}

impl AdvisedTier {
    fn new(size: usize, count: u64, requests: u64) -> Self {
        let (thread_cache, global_queue) = (default_thread_cache(size), default_global_queue(size));
        AdvisedTier {
            size,
            share: if requests == 0 { 0.0 } else { count as f64 / requests as f64 },
            thread_cache,
            global_queue,
            thread_cache_bytes: thread_cache * size,
            global_queue_bytes: global_queue * size,
        }
    }
}

/// The largest request of bucket `b`: `2^b` bytes (saturating).
fn bucket_size(bucket: usize) -> usize {
    1usize.checked_shl(bucket as u32).unwrap_or(usize::MAX)
}

impl BufPool {
    /// Tiers suggested from the sizes of every get so far (feature
    /// `advice`): at most [`MAX_ADVISED_TIERS`], each the smallest power of
    /// two that holds a group of requests, with the thread caches and global
    /// queues the defaults would give them, what they would hold, and the
    /// share of requests each would serve. With no request yet, the
    /// defaults. Build a pool from it with [`Advice::tier_sizes`] and
    /// [`Advice::thread_caches`].
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tierpool::BufPool::new();
    /// for i in 0..1000 {
    ///     drop(pool.get(9_000 + i % 500)); // a 9 KiB workload: the 64 KiB tier
    /// }
    /// let advice = pool.advise();
    /// assert_eq!(advice.tier_sizes(), [16 << 10]);
    /// let better = tierpool::BufPool::builder().tiers(&advice.tier_sizes()).build()?;
    /// assert_eq!(better.get(9_000).capacity(), 16 << 10);
    /// # Ok::<(), tierpool::ConfigError>(())
    /// ```
    #[must_use]
    pub fn advise(&self) -> Advice {
        Advice::from_histogram(&self.engine_requests())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn histogram(requests: &[(usize, u64)]) -> [u64; REQUEST_BUCKETS] {
        let mut h = [0; REQUEST_BUCKETS];
        for &(n, count) in requests {
            h[Requests::bucket(n)] += count;
        }
        h
    }

    #[test]
    fn buckets_hold_the_powers_of_two_they_end_at() {
        assert_eq!([0, 1, 2, 3, 4, 5].map(Requests::bucket), [0, 0, 1, 2, 2, 3]);
        assert_eq!(bucket_size(Requests::bucket(9 << 10)), 16 << 10);
        assert_eq!(bucket_size(Requests::bucket(16 << 10)), 16 << 10);
        assert_eq!(Requests::bucket(usize::MAX), 64);
    }

    #[test]
    fn no_request_gives_the_defaults() {
        let advice = Advice::from_histogram(&[0; REQUEST_BUCKETS]);
        assert_eq!(advice.tier_sizes(), DEFAULT_TIERS);
        assert_eq!(advice.thread_caches(), DEFAULT_TIERS.map(default_thread_cache));
    }

    #[test]
    fn a_skewed_workload_gets_tiers_that_fit_it() {
        let advice = Advice::from_histogram(&histogram(&[(9_000, 900), (100, 50), (200_000, 50)]));
        assert_eq!(advice.tier_sizes(), [256, 16 << 10, 256 << 10]);
        let shares: Vec<f64> = advice.tiers.iter().map(|t| t.share).collect();
        assert_eq!(shares, [0.05, 0.9, 0.05]);
        let t = &advice.tiers[1];
        assert_eq!((t.thread_cache, t.thread_cache_bytes), (64, 64 * (16 << 10)));
        assert_eq!(t.global_queue_bytes, t.global_queue * (16 << 10));
    }

    #[test]
    fn too_many_sizes_merge_the_rarest_upward() {
        let advice = Advice::from_histogram(&histogram(&[(1000, 100), (3000, 5), (9_000, 100), (100_000, 100)]));
        // 4 KiB (5 requests) merges into 16 KiB: three tiers, every request pooled.
        assert_eq!(advice.tier_sizes(), [1024, 16 << 10, 128 << 10]);
        assert_eq!(advice.tiers[1].share, 105.0 / 305.0);
        let sum: f64 = advice.tiers.iter().map(|t| t.share).sum();
        assert!((sum - 1.0).abs() < 1e-12);
    }
}
