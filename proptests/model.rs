//! A state-machine model test: random sequences of everything a user can do
//! to a pool, its guards and the `Bytes` made from them, run against a
//! reference model of what must hold after every step.
//!
//! The model tracks live guards, live `Bytes` (grouped by the storage they
//! view), detached buffers, and the counters the pool must report. After
//! every step it checks:
//! - a new buffer has `len() == 0` and `capacity() >= request`, and a pooled
//!   one a capacity within its tier's size and ceiling;
//! - no two live guards, and no live guard, detached buffer or live `Bytes`,
//!   share memory (disjoint pointer ranges; clones of one `Bytes` excepted);
//! - every guard, detached buffer and `Bytes` still holds exactly the bytes
//!   its owner wrote, so contents never change after later pool activity;
//! - the stats agree with the model: gets per tier, gets = hits + misses,
//!   guard ends by kind (detached, discarded as shared, ended otherwise),
//!   outstanding;
//! - every identity of the stats contract (`Stats::check`), including after
//!   `prefill` at a full queue, `put`, `trim`, `decay_now` and under chaos;
//! - retained buffers and bytes stay within the configured bounds, and `trim`
//!   releases all of them: the live heap, measured by a counting allocator,
//!   drops by exactly the bytes `stats()` said were retained.
//!
//! A third of the cases run the pool under `Builder::chaos`, which must not
//! break any of these.
//!
//! Run: `cargo test --test model`; `PROPTEST_CASES=10000` for more cases.
//! Failures are persisted in `proptests/regressions/model.txt`.

#[path = "../tests/support/counting.rs"]
mod counting;
#[path = "support.rs"]
mod support;

use std::sync::Arc;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use proptest::prelude::*;
use tierpool::{BufPool, Discard, GetError, PooledBuf, Put};

#[global_allocator]
static ALLOC: counting::Counting<std::alloc::System> = counting::Counting::new(std::alloc::System);

const TIERS: [usize; 3] = [256, 4096, 16384];
/// The last tier has no thread cache: its returns go straight to the queue.
const THREAD_CACHE: [usize; 3] = [4, 2, 0];
const GLOBAL_QUEUE: [usize; 3] = [8, 4, 2];
const MAX_REQUEST: usize = 40_000;
const CASES: u32 = if cfg!(miri) { 4 } else { 1000 };
const MAX_STEPS: usize = if cfg!(miri) { 24 } else { 80 };

// === operations ===

#[derive(Debug, Clone, Copy)]
enum GetKind {
    Get,
    TryGet,
    GetOwned,
    TryGetOwned,
}

#[derive(Debug, Clone, Copy)]
enum Write {
    /// Append this many bytes.
    Bytes(usize),
    /// Fill the spare capacity exactly.
    ToCapacity,
    /// Grow past the capacity by this many bytes (past the ceiling, too, for
    /// large values).
    PastCapacity(usize),
}

#[derive(Debug, Clone, Copy)]
enum Split {
    /// `split()`: everything written.
    All,
    /// `split_to(len × n / 255)`.
    To(u8),
    /// `split_off(capacity × n / 255)`.
    Off(u8),
    /// `split_off` at the capacity the guard was handed out with (or its
    /// whole capacity, if smaller): after growth, the view then looks as it
    /// was handed out, with more allocation hidden behind it.
    OffHandedOut,
}

/// One step. Indices pick among the live items, modulo their count.
#[derive(Debug, Clone)]
enum Op {
    Get(usize, GetKind),
    /// Get this many buffers of one size at once (fills and drains caches).
    Burst(usize, usize),
    /// Drop every live guard, in order (spills caches, fills queues).
    DropAll,
    Write(usize, Write),
    /// Split through `DerefMut` and freeze the split-off part.
    SplitFreeze(usize, Split),
    /// `advance(len × n / 255)`.
    Advance(usize, u8),
    Freeze(usize),
    IntoShared(usize),
    /// Clone a live `Bytes`, or slice it when `true`.
    CloneBytes(usize, bool),
    DropBytes(usize),
    DropBytesElsewhere(usize),
    Detach(usize),
    DropDetached(usize),
    Drop(usize),
    DropElsewhere(usize),
    Trim,
    /// `decay_now`: ends an idle interval (the clock itself never ticks in a
    /// case).
    Decay,
    Prefill(usize, usize),
    /// `BufPool::put` of a buffer from outside the pool.
    Put(usize, Foreign),
}

/// The buffer given to `put`.
#[derive(Debug, Clone, Copy)]
enum Foreign {
    /// `BytesMut::with_capacity(n)`, with this many bytes written.
    Fresh(usize),
    /// The same, written, with the written part split off, frozen and kept
    /// alive: shared storage, which must never be pooled.
    Shared,
    /// A detached buffer (picked by the index), in whatever state it is.
    Detached(usize),
}

fn size() -> impl Strategy<Value = usize> {
    let edges: Vec<usize> = TIERS
        .iter()
        .flat_map(|&t| [t - 1, t, t + 1])
        .chain([0, 1, TIERS[2] + 1, MAX_REQUEST, MAX_REQUEST + 1])
        .collect();
    prop_oneof![3 => proptest::sample::select(edges), 1 => 0usize..=MAX_REQUEST + 1]
}

fn op() -> impl Strategy<Value = Op> {
    let get_kind =
        prop_oneof![Just(GetKind::Get), Just(GetKind::TryGet), Just(GetKind::GetOwned), Just(GetKind::TryGetOwned)];
    let write = prop_oneof![
        3 => (0usize..100).prop_map(Write::Bytes),
        1 => Just(Write::ToCapacity),
        1 => prop_oneof![Just(1usize), 1usize..40_000].prop_map(Write::PastCapacity),
    ];
    let split = prop_oneof![
        Just(Split::All),
        any::<u8>().prop_map(Split::To),
        any::<u8>().prop_map(Split::Off),
        Just(Split::OffHandedOut),
    ];
    let i = || any::<usize>();
    prop_oneof![
        6 => (size(), get_kind).prop_map(|(n, k)| Op::Get(n, k)),
        1 => (size(), 1usize..=12).prop_map(|(n, count)| Op::Burst(n, count)),
        1 => Just(Op::DropAll),
        6 => (i(), write).prop_map(|(i, w)| Op::Write(i, w)),
        2 => (i(), split).prop_map(|(i, s)| Op::SplitFreeze(i, s)),
        1 => (i(), any::<u8>()).prop_map(|(i, n)| Op::Advance(i, n)),
        2 => i().prop_map(Op::Freeze),
        2 => i().prop_map(Op::IntoShared),
        2 => (i(), any::<bool>()).prop_map(|(i, s)| Op::CloneBytes(i, s)),
        3 => i().prop_map(Op::DropBytes),
        1 => i().prop_map(Op::DropBytesElsewhere),
        1 => i().prop_map(Op::Detach),
        1 => i().prop_map(Op::DropDetached),
        4 => i().prop_map(Op::Drop),
        1 => i().prop_map(Op::DropElsewhere),
        1 => Just(Op::Trim),
        1 => Just(Op::Decay),
        1 => (size(), 0usize..6).prop_map(|(n, c)| Op::Prefill(n, c)),
        2 => (size(), prop_oneof![
            (0usize..300).prop_map(Foreign::Fresh),
            Just(Foreign::Shared),
            i().prop_map(Foreign::Detached),
        ])
            .prop_map(|(n, f)| Op::Put(n, f)),
    ]
}

// === the model ===

/// A guard, borrowed from the pool or owning a reference to it.
enum Held<'p> {
    Borrowed(PooledBuf<'p>),
    Owned(PooledBuf<'static>),
}

impl Held<'_> {
    fn buf(&self) -> &BytesMut {
        match self {
            Held::Borrowed(b) => b,
            Held::Owned(b) => b,
        }
    }

    fn buf_mut(&mut self) -> &mut BytesMut {
        match self {
            Held::Borrowed(b) => b,
            Held::Owned(b) => b,
        }
    }
}

/// What the model knows of one guard, alive or behind a shared `Bytes`.
#[derive(Debug, Clone, Copy)]
struct Record {
    /// `None`: an oversize, unpooled buffer.
    tier: Option<usize>,
    /// The byte this guard's owner writes; unique among live things.
    stamp: u8,
    /// Bumped when a write outgrows the storage: a new allocation whenever
    /// the old one is shared, so split-off frames no longer share it.
    epoch: u32,
    /// A write outgrew the capacity handed out.
    grown: bool,
    /// The capacity it was handed out with.
    handed_out: usize,
}

struct LiveGuard<'p> {
    held: Held<'p>,
    id: usize,
}

/// A live `Bytes`. Clones and slices of one `Bytes` share a `group`.
struct LiveBytes {
    bytes: Bytes,
    stamp: u8,
    group: usize,
    /// Split off guard `.0`'s storage at epoch `.1` (through `DerefMut`).
    derived: Option<(usize, u32)>,
    /// From `into_shared` of guard `id`: the last clone ends that guard.
    shared_of: Option<usize>,
}

/// Counters the pool must report, per tier (index `TIERS.len()`: oversize).
#[derive(Debug, Default, Clone)]
struct Expected {
    gets: [u64; 4],
    detached: [u64; 4],
    /// Guard ends whose storage was shared (or had nothing to reclaim).
    shared: [u64; 3],
    /// Other guard ends: returned, or discarded above the ceiling or below
    /// the smallest tier.
    ended_other: [u64; 3],
    /// Of `ended_other`, those that certainly returned: the storage never
    /// outgrew what was handed out.
    returned_at_least: [u64; 3],
    oversize_discarded: u64,
    /// Buffers `put` pooled, per tier, and those it discarded.
    adopted: [u64; 3],
    put_discarded: u64,
}

struct Model<'p> {
    pool: &'p Arc<BufPool>,
    /// The pool runs under `Builder::chaos`: returns may be dropped, so the
    /// model checks discards in sum, not by reason.
    chaos: bool,
    records: Vec<Record>,
    guards: Vec<LiveGuard<'p>>,
    bytes: Vec<LiveBytes>,
    detached: Vec<(BytesMut, u8)>,
    expected: Expected,
    next_stamp: u8,
    next_group: usize,
}

fn tier_for(n: usize) -> Option<usize> {
    TIERS.iter().position(|&t| t >= n)
}

fn frac(n: usize, of: u8) -> usize {
    n * usize::from(of) / 255
}

impl<'p> Model<'p> {
    fn new(pool: &'p Arc<BufPool>, chaos: bool) -> Self {
        Model {
            pool,
            chaos,
            records: Vec::new(),
            guards: Vec::new(),
            bytes: Vec::new(),
            detached: Vec::new(),
            expected: Expected::default(),
            next_stamp: 0,
            next_group: 0,
        }
    }

    fn stamp(&mut self) -> u8 {
        // 0 is never a stamp: it is the byte the return path's probe writes.
        self.next_stamp = self.next_stamp % 255 + 1;
        self.next_stamp
    }

    fn group(&mut self) -> usize {
        self.next_group += 1;
        self.next_group
    }

    fn outstanding(&self) -> u64 {
        let mut behind_bytes: Vec<usize> = self.bytes.iter().filter_map(|b| b.shared_of).collect();
        behind_bytes.sort_unstable();
        behind_bytes.dedup();
        (self.guards.len() + behind_bytes.len()) as u64
    }

    /// A guard ended by drop (here, on another thread, or with its last
    /// shared `Bytes`): what the pool must count. Its storage is shared
    /// exactly when a live `Bytes` split off it since its last reallocation
    /// still holds the storage, even an empty one; otherwise the return path
    /// reclaims the whole allocation, however the view was split, advanced
    /// or emptied.
    fn ended(&mut self, id: usize) {
        let r = self.records[id];
        let Some(t) = r.tier else {
            self.expected.oversize_discarded += 1;
            return;
        };
        if self.bytes.iter().any(|b| b.derived == Some((id, r.epoch))) {
            self.expected.shared[t] += 1;
        } else {
            self.expected.ended_other[t] += 1;
            if !r.grown {
                self.expected.returned_at_least[t] += 1;
            }
        }
    }

    fn take_guard(&mut self, i: usize) -> Option<LiveGuard<'p>> {
        (!self.guards.is_empty()).then(|| self.guards.swap_remove(i % self.guards.len()))
    }

    fn take_bytes(&mut self, i: usize) -> Option<LiveBytes> {
        (!self.bytes.is_empty()).then(|| self.bytes.swap_remove(i % self.bytes.len()))
    }

    /// A `Bytes` was dropped: if it was the last one holding a shared guard,
    /// that guard has ended.
    fn bytes_dropped(&mut self, shared_of: Option<usize>) {
        if let Some(id) = shared_of
            && !self.bytes.iter().any(|o| o.shared_of == Some(id))
        {
            self.ended(id);
        }
    }

    fn apply(&mut self, op: Op) -> Result<(), TestCaseError> {
        let pool = self.pool;
        match op {
            Op::Get(n, kind) => {
                if n > MAX_REQUEST {
                    let err = match kind {
                        GetKind::Get | GetKind::TryGet => pool.try_get(n).unwrap_err(),
                        GetKind::GetOwned | GetKind::TryGetOwned => pool.try_get_owned(n).unwrap_err(),
                    };
                    prop_assert_eq!(err, GetError::TooLarge { requested: n, limit: MAX_REQUEST });
                    return Ok(());
                }
                let held = match kind {
                    GetKind::Get => Held::Borrowed(pool.get(n)),
                    GetKind::TryGet => Held::Borrowed(pool.try_get(n).unwrap()),
                    GetKind::GetOwned => Held::Owned(pool.get_owned(n)),
                    GetKind::TryGetOwned => Held::Owned(pool.try_get_owned(n).unwrap()),
                };
                let tier = tier_for(n);
                let buf = held.buf();
                prop_assert_eq!(buf.len(), 0, "a new buffer is empty");
                prop_assert!(buf.capacity() >= n, "capacity {} below the request {}", buf.capacity(), n);
                match tier {
                    Some(t) => {
                        prop_assert!(
                            (TIERS[t]..=pool.ceilings()[t]).contains(&buf.capacity()),
                            "tier {} handed out capacity {}",
                            TIERS[t],
                            buf.capacity()
                        );
                        self.expected.gets[t] += 1;
                    }
                    None => {
                        prop_assert_eq!(buf.capacity(), n, "oversize buffers are exact");
                        self.expected.gets[3] += 1;
                    }
                }
                let held_tier = match &held {
                    Held::Borrowed(b) => b.tier_size(),
                    Held::Owned(b) => b.tier_size(),
                };
                prop_assert_eq!(held_tier, tier.map(|t| TIERS[t]));
                let stamp = self.stamp();
                let handed_out = buf.capacity();
                self.records.push(Record { tier, stamp, epoch: 0, grown: false, handed_out });
                self.guards.push(LiveGuard { held, id: self.records.len() - 1 });
            }
            Op::Burst(n, count) => {
                for _ in 0..count {
                    self.apply(Op::Get(n, GetKind::Get))?;
                }
            }
            Op::DropAll => {
                while !self.guards.is_empty() {
                    self.apply(Op::Drop(0))?;
                }
            }
            Op::Write(i, w) => {
                let Some(at) = (!self.guards.is_empty()).then(|| i % self.guards.len()) else { return Ok(()) };
                let g = &mut self.guards[at];
                let r = &mut self.records[g.id];
                let buf = g.held.buf_mut();
                let spare = buf.capacity() - buf.len();
                let n = match w {
                    Write::Bytes(n) => n,
                    Write::ToCapacity => spare,
                    Write::PastCapacity(extra) => spare + extra,
                };
                if n > spare {
                    r.grown = true;
                    r.epoch += 1;
                }
                buf.put_bytes(r.stamp, n);
            }
            Op::SplitFreeze(i, how) => {
                let Some(at) = (!self.guards.is_empty()).then(|| i % self.guards.len()) else { return Ok(()) };
                let g = &mut self.guards[at];
                let r = self.records[g.id];
                let buf = g.held.buf_mut();
                let frame = match how {
                    Split::All => buf.split(),
                    Split::To(f) => buf.split_to(frac(buf.len(), f)),
                    Split::Off(f) => buf.split_off(frac(buf.capacity(), f)),
                    Split::OffHandedOut => buf.split_off(r.handed_out.min(buf.capacity())),
                }
                .freeze();
                let id = g.id;
                let group = self.group();
                self.bytes.push(LiveBytes {
                    bytes: frame,
                    stamp: r.stamp,
                    group,
                    derived: Some((id, r.epoch)),
                    shared_of: None,
                });
            }
            Op::Advance(i, f) => {
                if let Some(at) = (!self.guards.is_empty()).then(|| i % self.guards.len()) {
                    let buf = self.guards[at].held.buf_mut();
                    let n = frac(buf.len(), f);
                    buf.advance(n);
                }
            }
            Op::Freeze(i) => {
                let Some(g) = self.take_guard(i) else { return Ok(()) };
                let r = self.records[g.id];
                let frozen = match g.held {
                    Held::Borrowed(b) => b.freeze(),
                    Held::Owned(b) => b.freeze(),
                };
                self.ended(g.id);
                let group = self.group();
                self.bytes.push(LiveBytes { bytes: frozen, stamp: r.stamp, group, derived: None, shared_of: None });
            }
            Op::IntoShared(i) => {
                // Only 'static guards can; pick among those.
                let owned: Vec<usize> =
                    (0..self.guards.len()).filter(|&k| matches!(self.guards[k].held, Held::Owned(_))).collect();
                if owned.is_empty() {
                    return Ok(());
                }
                let g = self.guards.swap_remove(owned[i % owned.len()]);
                let Held::Owned(b) = g.held else { unreachable!() };
                let stamp = self.records[g.id].stamp;
                let bytes = b.into_shared();
                let group = self.group();
                self.bytes.push(LiveBytes { bytes, stamp, group, derived: None, shared_of: Some(g.id) });
            }
            Op::CloneBytes(i, slice) => {
                if self.bytes.is_empty() {
                    return Ok(());
                }
                let b = &self.bytes[i % self.bytes.len()];
                let len = b.bytes.len();
                let bytes = if slice { b.bytes.slice(len / 4..len - len / 3) } else { b.bytes.clone() };
                // An empty slice is a fresh `Bytes::new()`: it holds no storage.
                let holds = !slice || !bytes.is_empty();
                let copy = LiveBytes {
                    bytes,
                    stamp: b.stamp,
                    group: b.group,
                    derived: b.derived.filter(|_| holds),
                    shared_of: b.shared_of.filter(|_| holds),
                };
                self.bytes.push(copy);
            }
            Op::DropBytes(i) => {
                let Some(b) = self.take_bytes(i) else { return Ok(()) };
                drop(b.bytes);
                self.bytes_dropped(b.shared_of);
            }
            Op::DropBytesElsewhere(i) => {
                let Some(b) = self.take_bytes(i) else { return Ok(()) };
                let bytes = b.bytes;
                std::thread::spawn(move || drop(bytes)).join().unwrap();
                self.bytes_dropped(b.shared_of);
            }
            Op::Detach(i) => {
                let Some(g) = self.take_guard(i) else { return Ok(()) };
                let r = self.records[g.id];
                let buf = match g.held {
                    Held::Borrowed(b) => b.detach(),
                    Held::Owned(b) => b.detach(),
                };
                self.expected.detached[r.tier.unwrap_or(3)] += 1;
                self.detached.push((buf, r.stamp));
            }
            Op::DropDetached(i) => {
                if !self.detached.is_empty() {
                    self.detached.swap_remove(i % self.detached.len());
                }
            }
            Op::Drop(i) => {
                let Some(g) = self.take_guard(i) else { return Ok(()) };
                drop(g.held);
                self.ended(g.id);
            }
            Op::DropElsewhere(i) => {
                let Some(g) = self.take_guard(i) else { return Ok(()) };
                // Join the handle: leaving the scope does not wait for the
                // thread's TLS destructors, which flush its cache.
                std::thread::scope(|s| s.spawn(move || drop(g.held)).join().unwrap());
                self.ended(g.id);
            }
            Op::Trim => {
                let before = pool.stats();
                let live = counting::live();
                let released = pool.trim();
                let freed = live - counting::live();
                let after = pool.stats();
                prop_assert_eq!(released as u64, before.retained_bytes(), "trim releases what the pool retained");
                // The heap agrees: trim freed exactly the allocations it
                // reported, plus the box each buffer lives in (and at most a
                // few emptied batch vectors).
                let boxes = before.retained_buffers() as usize * std::mem::size_of::<BytesMut>();
                prop_assert!(
                    (released + boxes..=released + boxes + 256).contains(&freed),
                    "trim freed {} heap bytes for {} retained in {} buffers",
                    freed,
                    released,
                    before.retained_buffers()
                );
                prop_assert_eq!(after.retained_buffers(), 0);
                prop_assert_eq!(after.retained_bytes(), 0);
                for (b, a) in before.tiers.iter().zip(&after.tiers) {
                    prop_assert_eq!(a.trimmed - b.trimmed, b.retained_buffers);
                }
            }
            Op::Put(n, foreign) => {
                let capacity = n.min(MAX_REQUEST);
                let (buf, expected) = match foreign {
                    Foreign::Fresh(written) => {
                        let mut buf = BytesMut::with_capacity(capacity);
                        buf.put_bytes(0xEE, written.min(capacity));
                        (buf, Some(TIERS.iter().rposition(|&t| t <= capacity).filter(|&t| capacity <= 2 * TIERS[t])))
                    }
                    Foreign::Shared => {
                        let mut buf = BytesMut::with_capacity(capacity.max(1));
                        buf.put_u8(0xEF);
                        let frame = buf.split().freeze();
                        let group = self.group();
                        self.bytes.push(LiveBytes { bytes: frame, stamp: 0xEF, group, derived: None, shared_of: None });
                        (buf, Some(None))
                    }
                    Foreign::Detached(i) => {
                        if self.detached.is_empty() {
                            return Ok(());
                        }
                        (self.detached.swap_remove(i % self.detached.len()).0, None)
                    }
                };
                let put = pool.put(buf);
                match put {
                    Put::Pooled { tier_size } => {
                        let t = TIERS.iter().position(|&s| s == tier_size).unwrap();
                        self.expected.adopted[t] += 1;
                    }
                    Put::Discarded(Discard::GlobalFull) => {
                        // Accepted into the tier without a thread cache, whose
                        // full queue dropped it: adopted, then a global_full.
                        self.expected.adopted[2] += 1;
                        self.expected.put_discarded += 1;
                    }
                    Put::Discarded(_) => self.expected.put_discarded += 1,
                    _ => unreachable!("Put has two outcomes"),
                }
                if let Some(expected) = expected {
                    match (expected, put) {
                        (Some(t), Put::Pooled { tier_size }) => prop_assert_eq!(tier_size, TIERS[t]),
                        // The tier without a thread cache: its full queue may refuse it.
                        (Some(2), Put::Discarded(Discard::GlobalFull)) => {}
                        (None, Put::Discarded(_)) => {}
                        (expected, put) => prop_assert!(false, "put: expected tier {:?}, got {:?}", expected, put),
                    }
                }
            }
            Op::Decay => {
                let before = pool.stats();
                pool.decay_now();
                let after = pool.stats();
                for (b, a) in before.tiers.iter().zip(&after.tiers) {
                    let decayed = a.decayed - b.decayed;
                    prop_assert_eq!(b.retained_buffers - a.retained_buffers, decayed, "decay releases what it counts");
                }
            }
            Op::Prefill(n, count) => {
                let before = pool.stats();
                let added = pool.prefill(n, count);
                let after = pool.stats();
                prop_assert!(added <= count);
                let global_full = |s: &tierpool::Stats| s.discards().global_full;
                prop_assert_eq!(global_full(&after), global_full(&before), "prefill makes nothing to drop");
                let prefilled = |s: &tierpool::Stats| s.tiers.iter().map(|t| t.prefilled).sum::<u64>();
                prop_assert_eq!(prefilled(&after) - prefilled(&before), added as u64, "prefill counts what it adds");
                match tier_for(n) {
                    Some(t) if n <= MAX_REQUEST => {
                        let grew = after.tiers[t].retained_buffers - before.tiers[t].retained_buffers;
                        prop_assert_eq!(grew, added as u64, "prefill adds what it says");
                        prop_assert!(after.tiers[t].retained_buffers <= (GLOBAL_QUEUE[t] + THREAD_CACHE[t]) as u64);
                    }
                    _ => prop_assert_eq!(added, 0, "oversize buffers are never pooled"),
                }
                prop_assert_eq!(after.gets(), before.gets(), "prefill is not a get");
            }
        }
        Ok(())
    }
}

// === invariants ===

/// A memory range that some owner may read or write: a guard's or detached
/// buffer's whole capacity, a `Bytes`'s visible bytes.
struct Range {
    start: usize,
    end: usize,
    /// Ranges of one owner may overlap (clones of one `Bytes`).
    owner: (u8, usize),
    what: &'static str,
}

fn range(ptr: *const u8, len: usize, owner: (u8, usize), what: &'static str) -> Range {
    Range { start: ptr.addr(), end: ptr.addr() + len, owner, what }
}

impl Model<'_> {
    fn check(&self) -> Result<(), TestCaseError> {
        // Contents: every byte is its owner's stamp.
        for g in &self.guards {
            let stamp = self.records[g.id].stamp;
            prop_assert!(g.held.buf().iter().all(|&b| b == stamp), "a live guard's bytes were overwritten");
        }
        for (d, stamp) in &self.detached {
            prop_assert!(d.iter().all(|b| b == stamp), "a detached buffer's bytes were overwritten");
        }
        for b in &self.bytes {
            prop_assert!(b.bytes.iter().all(|&x| x == b.stamp), "a Bytes changed after later pool activity");
        }

        // Disjoint memory.
        let mut ranges: Vec<Range> = Vec::new();
        for (k, g) in self.guards.iter().enumerate() {
            let buf = g.held.buf();
            ranges.push(range(buf.as_ptr(), buf.capacity(), (0, k), "live guard"));
        }
        for (k, (d, _)) in self.detached.iter().enumerate() {
            ranges.push(range(d.as_ptr(), d.capacity(), (1, k), "detached buffer"));
        }
        for b in &self.bytes {
            ranges.push(range(b.bytes.as_ptr(), b.bytes.len(), (2, b.group), "live Bytes"));
        }
        ranges.retain(|r| r.start < r.end);
        for (k, a) in ranges.iter().enumerate() {
            for b in &ranges[k + 1..] {
                let overlap = a.start < b.end && b.start < a.end;
                prop_assert!(a.owner == b.owner || !overlap, "a {} and a {} share memory", a.what, b.what);
            }
        }

        // Stats against the model, and against their own contract.
        let stats = self.pool.stats();
        if let Err(broken) = stats.check() {
            prop_assert!(false, "{}: {:?}", broken, stats);
        }
        let e = &self.expected;
        prop_assert_eq!(stats.outstanding, self.outstanding(), "outstanding");
        for (t, s) in stats.tiers.iter().enumerate() {
            prop_assert_eq!(s.gets, e.gets[t], "gets of tier {}", t);
            prop_assert_eq!(s.gets, s.cache_hits + s.global_hits + s.misses, "gets = hits + misses, tier {}", t);
            prop_assert_eq!(s.detached, e.detached[t], "detached of tier {}", t);
            let other = s.returns + s.discards.above_ceiling + s.discards.too_small;
            if self.chaos {
                // Chaos drops some returns before they are looked at.
                let ended = other + s.discards.shared + s.discards.chaos;
                prop_assert_eq!(ended, e.ended_other[t] + e.shared[t], "guard ends, tier {}", t);
                prop_assert!(s.discards.shared <= e.shared[t], "never shared when not: {:?}", s);
            } else {
                prop_assert_eq!(
                    s.discards.shared,
                    e.shared[t],
                    "discarded as shared, tier {}: {:?}, expected {:?}",
                    t,
                    s,
                    e
                );
                prop_assert_eq!(other, e.ended_other[t], "other guard ends, tier {}", t);
                prop_assert!(s.returns >= e.returned_at_least[t], "buffers that never grew are pooled: {:?}", s);
                prop_assert_eq!(s.discards.chaos, 0);
            }
            prop_assert!(s.retiered <= s.returns);
            // Retention: this thread's cache and the global queue (other
            // threads have exited and flushed theirs).
            prop_assert!(
                s.retained_buffers <= (GLOBAL_QUEUE[t] + THREAD_CACHE[t]) as u64,
                "tier {} retains {} buffers",
                t,
                s.retained_buffers
            );
            prop_assert!(s.retained_bytes <= s.retained_buffers * s.ceiling as u64, "retained bytes above the ceiling");
            prop_assert!(s.retained_bytes >= s.retained_buffers * s.size as u64, "retained bytes below the tier size");
        }
        prop_assert_eq!(stats.oversize.gets, e.gets[3]);
        prop_assert_eq!(stats.oversize.detached, e.detached[3]);
        prop_assert_eq!(stats.oversize.discarded, e.oversize_discarded);
        for (t, s) in stats.tiers.iter().enumerate() {
            prop_assert_eq!(s.adopted, e.adopted[t], "adopted in tier {}", t);
        }
        let put_discards = stats.put_discards.total() + stats.tiers[2].discards.global_full;
        prop_assert!(put_discards >= e.put_discarded, "put's discards are counted");
        Ok(())
    }
}

/// Runs `ops` on a fresh pool, under `Builder::chaos(seed)` if a seed is
/// given: chaos changes what is handed out and what is kept, never what is
/// guaranteed, so every other check holds as it is.
fn run(ops: Vec<Op>, chaos: Option<u64>) -> Result<(), TestCaseError> {
    let mut builder = BufPool::builder()
        .idle_timeout(Some(std::time::Duration::from_secs(24 * 3600)))
        .tiers(&TIERS)
        .thread_cache(&THREAD_CACHE)
        .global_queue(&GLOBAL_QUEUE)
        .max_request(MAX_REQUEST);
    if let Some(seed) = chaos {
        builder = builder.chaos(seed);
    }
    let pool = Arc::new(builder.build().unwrap());
    // Registers this thread with the pool (and retires its slots for the
    // pools of earlier cases), so later heap measurements see only buffers.
    pool.trim();
    let mut model = Model::new(&pool, chaos.is_some());
    for op in ops {
        model.apply(op)?;
        model.check()?;
    }
    // Everything ends: the pool balances, and trim leaves nothing behind.
    let Model { guards, bytes, detached, .. } = &mut model;
    guards.clear();
    bytes.clear();
    detached.clear();
    let stats = pool.stats();
    prop_assert_eq!(stats.outstanding, 0);
    pool.trim();
    prop_assert_eq!(pool.stats().retained_bytes(), 0);
    Ok(())
}

proptest! {
    #![proptest_config(support::config(CASES, "proptests/regressions/model.txt"))]

    #[test]
    fn random_operation_sequences_keep_every_invariant(
        ops in proptest::collection::vec(op(), 1..MAX_STEPS),
        chaos in proptest::option::weighted(0.3, any::<u64>()),
    ) {
        run(ops, chaos)?;
    }
}
