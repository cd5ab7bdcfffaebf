//! The modes for tests: call-site attribution of every checkout
//! (`Builder::track_callers`), and seeded chaos (`Builder::chaos`).
//!
//! Both are off by default and cost the hot path nothing then: a pool with
//! either on is *slow only* (`Engine::slow_only`): its thread caches keep 0
//! as the stamp the fast paths compare, which no pool's stamp ever is
//! (`decay::Generations`), so every get and return of that pool takes the
//! slow paths, where this module is called. Its guards are never pristine, so their returns are checked in
//! full.

use std::collections::HashMap;
use std::panic::Location;

use bytes::BytesMut;

use crate::buffer::Pooled;
use crate::sync::statics::Mutex;
use crate::sync::{AtomicU64, Ordering::Relaxed};

/// What a pool in a test mode does besides pooling.
#[derive(Debug)]
pub(crate) struct TestModes {
    /// Live checkouts by the address of their buffer's box, with their call
    /// site, capacity and weight (how many checkouts each stands for: 1, or
    /// the sampling rate); `None` unless `track_callers` or sampling.
    tracker: Option<Mutex<HashMap<usize, Entry>>>,
    chaos: Option<Chaos>,
    /// One cache hit in this many, on average, is recorded
    /// (`track_callers_sampled`).
    sample_every: Option<u64>,
}

/// A tracked checkout: its call site, its capacity, and how many
/// checkouts it stands for.
type Entry = (&'static Location<'static>, usize, usize);

/// One group of [`BufPool::outstanding_by_caller`](crate::BufPool::outstanding_by_caller):
/// the buffers checked out at one source line and not yet ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Outstanding {
    /// Where they were checked out: the caller of `get`, `try_get`,
    /// `get_owned`, `try_get_owned` or `tierpool::get`; of `chain` or
    /// `chain_owned` for a chain's chunks; of `into_contiguous` for the
    /// buffer it returns; or of `into_shared` or `into_pieces` for a buffer
    /// behind a `Bytes`.
    pub location: &'static Location<'static>,
    /// How many are out: the recorded ones, under sampling.
    pub buffers: usize,
    /// Their capacity when checked out, summed.
    pub bytes: usize,
    /// How many are out, estimated: `buffers` with `track_callers`; under
    /// [`track_callers_sampled(n)`](crate::Builder::track_callers_sampled)
    /// each recorded cache hit stands for `n` checkouts (gets on slow paths
    /// are all recorded, and count once).
    pub estimated: usize,
    /// Their capacity, estimated the same way.
    pub estimated_bytes: usize,
}

impl TestModes {
    /// The test modes asked for, or `None` for a pool with none. Full
    /// tracking wins over sampling.
    pub(crate) fn new(track_callers: bool, chaos: Option<u64>, sample_every: Option<u64>) -> Option<Self> {
        let sample_every = sample_every.filter(|_| !track_callers);
        (track_callers || chaos.is_some() || sample_every.is_some()).then(|| TestModes {
            tracker: (track_callers || sample_every.is_some()).then(|| Mutex::new(HashMap::new())),
            chaos: chaos.map(|seed| Chaos { seed, next: AtomicU64::new(0) }),
            sample_every,
        })
    }

    /// The sampling rate of a pool that records one cache hit in so many.
    pub(crate) fn sample_every(&self) -> Option<u64> {
        self.sample_every
    }

    fn tracker(&self) -> Option<std::sync::MutexGuard<'_, HashMap<usize, Entry>>> {
        let tracker = self.tracker.as_ref()?;
        Some(tracker.lock().unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    /// `buf` (empty) is being checked out at `caller`, from a tier or
    /// oversize: chaos fills its spare capacity, tracking records it as
    /// standing for `weight` checkouts. Every checkout of a pool in a test
    /// mode that does not take the fast path comes through here.
    pub(crate) fn checked_out(&self, buf: &mut Pooled, caller: &'static Location<'static>, weight: usize) {
        if self.chaos.is_some() {
            Chaos::fill(buf);
        }
        if let Some(mut live) = self.tracker() {
            live.insert(key(buf), (caller, buf.capacity(), weight));
        }
    }

    /// The checkout of `buf` moved to `caller` (`into_shared`).
    pub(crate) fn moved(&self, buf: &Pooled, caller: &'static Location<'static>) {
        if let Some(mut live) = self.tracker()
            && let Some(entry) = live.get_mut(&key(buf))
        {
            entry.0 = caller;
        }
    }

    /// The checkout of `buf` ended.
    pub(crate) fn ended(&self, buf: &Pooled) {
        if let Some(mut live) = self.tracker() {
            live.remove(&key(buf));
        }
    }

    /// The live checkouts grouped by call site, most buffers first; `None`
    /// without `track_callers`.
    pub(crate) fn outstanding(&self) -> Option<Vec<Outstanding>> {
        let live = self.tracker()?;
        let mut by_site: HashMap<&'static Location<'static>, Outstanding> = HashMap::new();
        for &(location, bytes, weight) in live.values() {
            let empty = Outstanding { location, buffers: 0, bytes: 0, estimated: 0, estimated_bytes: 0 };
            let group = by_site.entry(location).or_insert(empty);
            group.buffers += 1;
            group.bytes += bytes;
            group.estimated += weight;
            group.estimated_bytes += weight * bytes;
        }
        let mut groups: Vec<Outstanding> = by_site.into_values().collect();
        groups.sort_by(|a, b| {
            (b.buffers, a.location.file(), a.location.line()).cmp(&(a.buffers, b.location.file(), b.location.line()))
        });
        Some(groups)
    }

    pub(crate) fn chaos(&self) -> Option<&Chaos> {
        self.chaos.as_ref()
    }
}

/// A live checkout is keyed by the address of its buffer's box, which stays
/// with the guard (and, behind `into_shared`, with the `Bytes` owner) until
/// it ends.
fn key(buf: &Pooled) -> usize {
    core::ptr::from_ref::<BytesMut>(buf).addr()
}

/// Seeded chaos: a deterministic sequence of decisions, the `n`th one a hash
/// of the seed and `n`.
#[derive(Debug)]
pub(crate) struct Chaos {
    seed: u64,
    next: AtomicU64,
}

/// What chaos writes into the spare capacity of every buffer it hands out.
pub(crate) const PATTERN: &[u8; 16] = b"tierpool-chaos! ";

impl Chaos {
    /// The next decision, uniform in `0..n` (`n > 0`).
    fn roll(&self, n: u64) -> u64 {
        let i = self.next.fetch_add(1, Relaxed);
        splitmix64(self.seed ^ i.wrapping_mul(0x9E37_79B9_7F4A_7C15)) % n
    }

    /// For a get from a tier of `size` bytes and `ceiling`: a capacity above
    /// the size to hand out instead of a pooled buffer (one get in four), or
    /// `None`.
    pub(crate) fn larger(&self, size: usize, ceiling: usize) -> Option<usize> {
        if ceiling <= size || self.roll(4) != 0 {
            return None;
        }
        Some(size + 1 + self.roll((ceiling - size) as u64) as usize)
    }

    /// Whether to drop this return instead of pooling it (one in four, as
    /// Go's race detector does to `sync.Pool`).
    pub(crate) fn drop_return(&self) -> bool {
        self.roll(4) == 0
    }

    /// Fills the spare capacity of `buf` (empty) with [`PATTERN`]; the
    /// buffer stays empty.
    fn fill(buf: &mut BytesMut) {
        debug_assert!(buf.is_empty());
        let capacity = buf.capacity();
        buf.extend_from_slice(&PATTERN[..PATTERN.len().min(capacity)]);
        // Double the pattern in place until it covers the capacity.
        while buf.len() < capacity {
            let n = buf.len().min(capacity - buf.len());
            let start = buf.len();
            buf.resize(start + n, 0);
            buf.copy_within(..n, start);
        }
        buf.clear();
    }
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}
