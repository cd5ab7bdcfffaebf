//! A thread's cache for one pool ([`Slot`]: a magazine per tier, budget
//! credit, counters), and [`Cache`], what the get and return paths are
//! carried out on: this thread's slot, or, without one, the pool itself.
//!
//! ```text
//!  Slot { engine, stamp, seen epochs, credit, magazines[tier], counters }
//!  Cache::Thread(&mut Slot) ──► magazine ──► depot
//!  Cache::Direct            ──────────────► depot      (thread exit, re-entry)
//! ```
//!
//! Everything here is called from above (`registry.rs`, which finds the
//! slot) and only calls down: into the magazines, the depots, the engine's
//! budget and counters.

use std::panic::Location;

use crate::admission::{self, Pay, Refused};
use crate::budget::Credit;
use crate::buffer::{self, Origin, Pooled};
use crate::debug::TestModes;
use crate::decay::{Epochs, TICK_EVERY, TRANSFER_TICK_EVERY};
use crate::engine::Engine;
use crate::error::GetError;
use crate::magazine::{Dropped, Magazine};
use crate::stats::{Event, ThreadStats};
use crate::sync::{Arc, Weak};

/// One thread's cache for one pool, or a vacancy ([`Slot::vacant`]) at an
/// index no live pool of this thread's uses.
pub(crate) struct Slot {
    /// For flushing at thread exit, and for noticing that the pool is gone.
    /// Its address is the slot's identity: the engine's allocation outlives
    /// every `Weak`, so no other engine can have it while the slot lives.
    engine: Weak<Engine>,
    /// The engine's stamp when this cache last caught up, which the fast
    /// paths compare with the engine's current one; 0, which is never a
    /// stamp, for a pool all of whose operations take the slow paths, and
    /// for a vacancy. So the fast paths need no other test.
    stamp: u64,
    /// The engine's `epochs` when this cache last caught up. A newer trim
    /// generation means "release everything"; a newer decay epoch means
    /// "release what stayed below the low-water marks".
    seen: Epochs,
    /// Bytes reserved from the pool's budget and not backing a buffer.
    credit: Credit,
    /// Refills and spills so far, to check the decay clock every
    /// `TRANSFER_TICK_EVERY` of them.
    transfers: u32,
    /// A sampling pool's next get is to be recorded (its stamp is kept at 0
    /// meanwhile, so that get takes the slow path).
    sample_next: bool,
    /// Per tier, the fast hits left before a sampling pool records a get
    /// (counted from the last check).
    until_sample: Box<[u64]>,
    /// A xorshift state for the gaps between recorded hits.
    rng: u64,
    /// One magazine per tier.
    mags: Box<[Magazine]>,
    /// This thread's counters for the pool; only this thread writes them.
    /// `None` only in a vacancy.
    stats: Option<Arc<ThreadStats>>,
}

/// A slot's size. The registry finds a slot by index on every get and
/// return: at 88 bytes that is one `imul`; at 80 or 96 it takes two
/// instructions (`lea` and `shl`). Check the hit's instructions
/// (`scripts/callgrind.sh`) before changing it.
#[cfg(all(target_pointer_width = "64", not(tierpool_loom)))]
const SLOT_SIZE: usize = 88;
#[cfg(all(target_pointer_width = "64", not(tierpool_loom)))]
const _: () = assert!(core::mem::size_of::<Slot>() == SLOT_SIZE);

/// Where a get or a return is carried out: this thread's cache for the
/// pool, or, on a path without one (thread exit, a re-entrant call), the
/// pool's depots, budget and common counters directly. One type, so each
/// operation is written once, with an arm for each.
pub(crate) enum Cache<'a> {
    Thread(&'a mut Slot),
    Direct,
}

/// Why a buffer enters the pool, which decides what is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Entry {
    /// A guard handed out by tier `from` ended (counted there).
    Return { from: usize },
    /// `BufPool::put` gave it: counted as adopted in the tier it enters, or
    /// as refused in the foreign row.
    Adopt,
}

/// What a checkout takes: a buffer, its origin, whether its guard starts
/// pristine, and its charge against `max_outstanding_bytes` (0: none).
pub(crate) struct Taken {
    pub(crate) buf: Pooled,
    pub(crate) origin: Origin,
    pub(crate) pristine: bool,
    pub(crate) charge: u32,
}

/// What became of a buffer offered for admission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admitted {
    Pooled,
    /// Refused by the byte budget, and dropped.
    OverBudget,
    /// Dropped by a full depot.
    Full,
}

// === impl Slot ===

impl Slot {
    /// A new, empty cache for `engine` on this thread, counting in `stats`.
    /// No stamp yet: it takes one when it first catches up ([`sync`](Self::sync)).
    pub(crate) fn new(engine: &Engine, stats: Arc<ThreadStats>) -> Self {
        let config = engine.config();
        let mags = (0..config.tiers())
            .map(|t| Magazine::new(config.thread_cache[t], config.size(t), config.half(t), stats.cells(t)))
            .collect();
        let mut slot = Slot {
            engine: engine.weak(),
            stamp: 0,
            seen: engine.now().1,
            credit: Credit::default(),
            transfers: 0,
            sample_next: false,
            until_sample: vec![0; config.tiers()].into_boxed_slice(),
            rng: seed(engine.next_slot()),
            mags,
            stats: Some(stats),
        };
        if let Some(every) = engine.sample_every() {
            for tier in 0..config.tiers() {
                let gap = slot.gap(every);
                slot.sampling()[tier] = gap;
            }
        }
        slot
    }

    /// A place holder at an index no live pool of this thread's uses: no
    /// engine (so `is_for` matches none), stamp 0 (so the fast paths pass
    /// it by), no magazines; it allocates nothing, and retiring it does
    /// nothing.
    pub(crate) fn vacant() -> Self {
        Slot {
            engine: Weak::new(),
            stamp: 0,
            seen: Epochs(0),
            credit: Credit::default(),
            transfers: 0,
            sample_next: false,
            until_sample: Box::default(),
            rng: 0,
            mags: Box::default(),
            stats: None,
        }
    }

    /// Whether the fast paths may use it: it is `engine`'s and up to date.
    #[inline]
    pub(crate) fn is_ready(&self, engine: &Engine) -> bool {
        self.stamp == engine.stamp()
    }

    /// Whether this is `engine`'s slot.
    pub(crate) fn is_for(&self, engine: &Engine) -> bool {
        core::ptr::eq(self.engine.as_ptr(), engine)
    }

    /// Whether its pool is gone (a vacancy's never was).
    pub(crate) fn is_orphaned(&self) -> bool {
        self.stats.is_some() && self.engine.strong_count() == 0
    }

    /// Counts a request of `n` bytes in this thread's histogram (feature
    /// `advice`).
    #[cfg(feature = "advice")]
    #[inline]
    pub(crate) fn record_request(&self, n: usize) {
        if let Some(stats) = &self.stats {
            stats.requests.record(n);
        }
    }

    /// A cache hit of a standard buffer, or `None`.
    #[inline]
    pub(crate) fn pop_fast(&mut self, engine: &Engine, tier: usize) -> Option<Pooled> {
        let mag = self.mags.get_mut(tier)?;
        let (buf, hits) = mag.pop_hit()?;
        if let Some(budget) = engine.budget() {
            self.credit.refund(budget, mag.size());
        }
        if hits % u64::from(TICK_EVERY) == 0 {
            self.check(engine, tier);
        }
        Some(buf)
    }

    /// Every `TICK_EVERY`-th fast hit of a tier, by its counter: the decay
    /// clock's check, and a sampling pool's schedule.
    #[cold]
    #[inline(never)]
    fn check(&mut self, engine: &Engine, tier: usize) {
        if let Some(every) = engine.check() {
            self.schedule_sample(tier, every);
        }
    }

    /// A sampling pool's schedule, at every `TICK_EVERY`-th fast hit of a
    /// tier by its counter (the decay clock's check). It records the get
    /// after a hit drawn at random; to be there without a test on every
    /// hit, it moves the tier's counter on (`Magazine::skip`) so that the
    /// next check falls on that hit.
    fn schedule_sample(&mut self, tier: usize, every: u64) {
        if self.sampling()[tier] == 0 {
            // This hit is the one drawn: record the next get.
            self.sample_next = true;
            self.stamp = 0;
            let gap = self.gap(every);
            self.sampling()[tier] = gap;
        }
        let tick = u64::from(TICK_EVERY);
        let left = self.sampling()[tier];
        if left <= tick {
            self.mags[tier].skip(tick - left);
            self.sampling()[tier] = 0;
        } else {
            self.sampling()[tier] = left - tick;
        }
    }

    /// A sampling pool's per-tier schedule.
    fn sampling(&mut self) -> &mut [u64] {
        &mut self.until_sample
    }

    /// A gap between two recorded hits: uniform in `1..2 × every`, so
    /// `every` on average.
    fn gap(&mut self, every: u64) -> u64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        1 + self.rng % (2 * every - 1)
    }

    /// A return of a standard buffer into a magazine with room, paid from
    /// credit already reserved; otherwise the buffer comes back.
    #[inline]
    pub(crate) fn push_fast(&mut self, engine: &Engine, tier: usize, buf: Pooled) -> Result<(), Pooled> {
        let Some(mag) = self.mags.get_mut(tier) else { return Err(buf) };
        if !mag.has_standard_room() {
            return Err(buf);
        }
        if engine.budget().is_some() && !self.credit.spend_reserved(mag.size()) {
            return Err(buf);
        }
        mag.push_hit(buf)
    }

    /// Per-operation housekeeping on the slow paths: catches up with the
    /// epochs, and keeps the stamp read before them (`decay::Generations`).
    pub(crate) fn sync(&mut self, engine: &Engine) {
        let (stamp, now) = engine.now();
        if now != self.seen {
            self.catch_up(engine, now);
        }
        self.stamp = if engine.slow_only() || self.sample_next { 0 } else { stamp };
    }

    /// The pool moved on: after a `trim`, release everything; after decay
    /// ticks, release what stayed below each magazine's low-water marks.
    #[cold]
    fn catch_up(&mut self, engine: &Engine, now: Epochs) {
        let trimmed = self.seen.trimmed_since(now);
        self.seen = now;
        self.release(engine, if trimmed { Event::Trimmed } else { Event::Decayed });
    }

    /// Drops every cached buffer (`Trimmed`), or those idle for a whole
    /// decay epoch (`Decayed`); returns their bytes.
    pub(crate) fn release(&mut self, engine: &Engine, event: Event) -> usize {
        let released = self.mags.iter_mut().map(|mag| mag.release(event)).sum();
        self.refund(engine, released);
        released
    }

    /// Ends this slot (thread exit, or its pool is gone): flushes the cache
    /// to the depots of a live pool, and returns the budget credit. Counted
    /// in the pool's common block: this thread's own block goes to the next
    /// thread with its id.
    pub(crate) fn retire(mut self) {
        let Some(engine) = self.engine.upgrade() else { return };
        let (_, now) = engine.now();
        if self.seen != now {
            self.catch_up(&engine, now);
        }
        for (tier, mag) in self.mags.iter_mut().enumerate() {
            let (moved, (dropped, bytes)) = mag.flush_into(engine.depot(tier));
            let origin = Origin::tier(tier);
            engine.count_common(origin, Event::Exited, moved.buffers as u64);
            engine.count_common(origin, Event::ExitedExtra, moved.extra as u64);
            engine.count_common(origin, Event::GlobalFull, dropped);
            refund(&mut self.credit, &engine, bytes);
        }
        if let Some(budget) = engine.budget() {
            self.credit.release_all(budget);
        }
        if let (Some(admission), Some(stats)) = (engine.admission(), &self.stats) {
            stats.allowance.release_all(admission);
        }
    }

    /// A get the fast path did not serve, after catching up: the magazine,
    /// then a refill from the depot. `None` if both are empty.
    fn take_slow(&mut self, engine: &Engine, tier: usize) -> Option<(Pooled, bool)> {
        let found = match self.mags[tier].pop() {
            Some(found) => found,
            None => {
                self.transfer_tick(engine);
                self.mags[tier].refill_from(engine.depot(tier))?
            }
        };
        self.refund(engine, found.0.capacity());
        Some(found)
    }

    /// Stores a buffer the budget paid for; spilling a full magazine counts
    /// as a transfer.
    fn store(&mut self, engine: &Engine, tier: usize, buf: Pooled) -> Dropped {
        let mag = &self.mags[tier];
        if mag.cap() > 0 && mag.is_full() {
            self.transfer_tick(engine);
        }
        self.mags[tier].store(buf, engine.depot(tier))
    }

    /// Counts a refill or spill, and checks the decay clock every
    /// `TRANSFER_TICK_EVERY` of them.
    fn transfer_tick(&mut self, engine: &Engine) {
        self.transfers = self.transfers.wrapping_add(1);
        if self.transfers.is_multiple_of(TRANSFER_TICK_EVERY) {
            engine.tick();
        }
    }

    /// Gives back, as this thread's credit, the bytes of buffers that left
    /// the pool.
    fn refund(&mut self, engine: &Engine, bytes: usize) {
        refund(&mut self.credit, engine, bytes);
    }
}

/// A nonzero seed for the generator of a pool's `n`th slot: distinct per
/// slot of a pool, and the same in every run that makes them in one order.
fn seed(n: u64) -> u64 {
    // splitmix64 of the count: well-spread bits; `| 1` keeps xorshift off 0.
    let mut x = n.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (x ^ (x >> 31)) | 1
}

#[inline]
fn refund(credit: &mut Credit, engine: &Engine, bytes: usize) {
    if let Some(budget) = engine.budget() {
        credit.refund(budget, bytes);
    }
}

// === impl Cache ===

impl Cache<'_> {
    /// Every get the fast path does not serve: a buffer of `tier`, its
    /// origin, and whether its guard starts pristine (a standard buffer from
    /// a pool that neither scrubs nor runs a test mode). The cache, the
    /// global depot, then a new allocation (a miss; with `fallible`, an
    /// allocator failure is an error). In a test mode, chaos may hand out a
    /// larger, fresh buffer instead, and every buffer is filled and recorded
    /// at `caller` (`debug.rs`).
    #[cold]
    #[inline(never)]
    #[cfg_attr(not(feature = "advice"), allow(unused_variables))]
    pub(crate) fn take(
        &mut self,
        engine: &Engine,
        n: usize,
        tier: usize,
        fallible: bool,
        caller: &'static Location<'static>,
        pay: Pay,
    ) -> Result<Taken, Refused> {
        #[cfg(feature = "advice")]
        self.record_request(engine, n);
        let (config, origin, modes) = (engine.config(), Origin::tier(tier), engine.test_modes());
        // A limited pool charges the tier's size before it takes anything,
        // so a refused `try_acquire` moves no buffer.
        let size = config.size(tier);
        let paid = self.charge(engine, size, pay)?;
        let larger = modes.and_then(TestModes::chaos).and_then(|c| c.larger(size, config.ceilings[tier]));
        let found = match larger {
            Some(capacity) => self.allocate(engine, origin, capacity, fallible).map(|buf| (buf, false)),
            None => match self.take_pooled(engine, tier) {
                Some(found) => Ok(found),
                None => self.allocate(engine, origin, size, fallible).map(|buf| (buf, true)),
            },
        };
        let (mut buf, standard) = match found {
            Ok(found) => found,
            Err(err) => {
                self.settle_bytes(engine, paid, true);
                return Err(err.into());
            }
        };
        let charge = self.charge_rest(engine, paid, buf.capacity());
        let Some(modes) = modes else {
            return Ok(Taken { buf, origin, pristine: standard && !config.scrub_on_return, charge });
        };
        // A recorded cache hit stands for the sampling rate's checkouts.
        let sampled = match self {
            Cache::Thread(slot) => core::mem::take(&mut slot.sample_next),
            Cache::Direct => false,
        };
        let weight = match modes.sample_every() {
            Some(every) if sampled => usize::try_from(every).unwrap_or(usize::MAX),
            _ => 1,
        };
        modes.checked_out(&mut buf, caller, weight);
        Ok(Taken { buf, origin: origin.traced(), pristine: false, charge })
    }

    /// A buffer of `tier` without allocating, and whether it is standard;
    /// `None` if the cache and the depot are empty.
    fn take_pooled(&mut self, engine: &Engine, tier: usize) -> Option<(Pooled, bool)> {
        match self {
            Cache::Thread(slot) => slot.take_slow(engine, tier),
            Cache::Direct => {
                let buf = engine.depot(tier).pop()?;
                engine.refund_direct(buf.capacity());
                engine.count_common(Origin::tier(tier), Event::GlobalHit, 1);
                let standard = buf.capacity() == engine.config().size(tier);
                Some((buf, standard))
            }
        }
    }

    /// Allocates a new buffer of `size` bytes for a get of `origin` and
    /// counts the miss; with `fallible`, an allocator failure is an error.
    pub(crate) fn allocate(
        &mut self,
        engine: &Engine,
        origin: Origin,
        size: usize,
        fallible: bool,
    ) -> Result<Pooled, GetError> {
        let buf = buffer::allocate(size, fallible)?;
        if !fallible
            && let Some(tier) = origin.tier_index()
            && size == engine.config().size(tier)
        {
            engine.note_fresh(tier, &buf);
        }
        engine.tick();
        self.count(engine, origin, Event::Miss, 1);
        Ok(buf)
    }

    /// An oversize get: [`allocate`](Self::allocate), charged to a limited
    /// pool first.
    pub(crate) fn allocate_charged(
        &mut self,
        engine: &Engine,
        origin: Origin,
        size: usize,
        fallible: bool,
        pay: Pay,
    ) -> Result<(Pooled, u32), Refused> {
        let paid = self.charge(engine, size, pay)?;
        match self.allocate(engine, origin, size, fallible) {
            Ok(buf) => {
                let charge = self.charge_rest(engine, paid, buf.capacity());
                Ok((buf, charge))
            }
            Err(err) => {
                self.settle_bytes(engine, paid, true);
                Err(err.into())
            }
        }
    }

    /// Charges `cost` to a limited pool as `pay` says, for a buffer, and
    /// counts it; returns what was charged (0 for an unlimited pool).
    fn charge(&mut self, engine: &Engine, cost: usize, pay: Pay) -> Result<usize, Refused> {
        let paid = self.pay(engine, cost, pay)?;
        if paid > 0 {
            self.count_limit(engine, Event::Charged, paid);
        }
        Ok(paid)
    }

    /// Takes `cost` bytes of room under the limit as `pay` says, uncounted:
    /// for a buffer ([`charge`](Self::charge)), or for a chain's room.
    fn pay(&mut self, engine: &Engine, cost: usize, pay: Pay) -> Result<usize, Refused> {
        let Some(limit) = engine.admission() else { return Ok(0) };
        let paid = match self {
            Cache::Thread(Slot { stats: Some(stats), .. }) => stats.allowance.charge(limit, cost, pay),
            Cache::Thread(_) | Cache::Direct => admission::charge_direct(limit, cost, pay),
        };
        if paid { Ok(cost) } else { Err(Refused::WouldWait { charge: cost }) }
    }

    /// A buffer taken with `paid` charged, and found to hold `capacity`:
    /// forces the rest (an odd-sized or chaos buffer) and returns the whole
    /// charge, which fits a guard's `u32` (`Config` keeps `max_request` and
    /// every ceiling within it in a limited pool).
    fn charge_rest(&mut self, engine: &Engine, paid: usize, capacity: usize) -> u32 {
        if engine.admission().is_none() {
            return 0;
        }
        if capacity > paid {
            // Forced charges are never refused.
            let _ = self.charge(engine, capacity - paid, Pay::Force);
        }
        u32::try_from(capacity).unwrap_or(u32::MAX)
    }

    /// Takes `bytes` of room under the limit for buffers to be taken later
    /// (a chain's), paid for with [`Pay::Prepaid`]; `false` if there is no
    /// room now.
    pub(crate) fn reserve(&mut self, engine: &Engine, bytes: usize) -> bool {
        self.pay(engine, bytes, Pay::Try).is_ok()
    }

    /// Settles a guard's `charge` (0: none), and counts it.
    pub(crate) fn settle(&mut self, engine: &Engine, charge: u32) {
        if charge > 0 {
            self.give_room(engine, charge as usize);
            self.count_limit(engine, Event::Settled, charge as usize);
        }
    }

    /// Settles a buffer's charge that [`charge`](Self::charge) counted but
    /// no guard carries (a failed allocation), or gives back room that
    /// [`reserve`](Self::reserve) took (`counted == false`).
    pub(crate) fn settle_bytes(&mut self, engine: &Engine, bytes: usize, counted: bool) {
        if bytes > 0 {
            self.give_room(engine, bytes);
            if counted {
                self.count_limit(engine, Event::Settled, bytes);
            }
        }
    }

    /// Gives `bytes` of room back under the limit.
    fn give_room(&mut self, engine: &Engine, bytes: usize) {
        let Some(limit) = engine.admission() else { return };
        match self {
            Cache::Thread(Slot { stats: Some(stats), .. }) => stats.allowance.settle(limit, bytes),
            Cache::Thread(_) | Cache::Direct => admission::settle_direct(limit, bytes),
        }
    }

    /// Counts `bytes` charged or settled, in the limit's row of this
    /// thread's block, or of the common block.
    fn count_limit(&self, engine: &Engine, event: Event, bytes: usize) {
        match self {
            Cache::Thread(Slot { stats: Some(stats), .. }) => {
                stats.limit().bump(event, bytes as u64);
            }
            Cache::Thread(_) | Cache::Direct => engine.count_limit_common(event, bytes as u64),
        }
    }

    /// Pools `buf`, which keeps every pooled-buffer invariant, in `tier`, as
    /// `entry` asks: pays for it from the budget, counts it, and stores it,
    /// spilling a full magazine first. `recycle.rs` made every decision
    /// before; this carries it out.
    #[cold]
    #[inline(never)]
    pub(crate) fn admit(&mut self, engine: &Engine, entry: Entry, tier: usize, buf: Pooled, charge: u32) -> Admitted {
        // The tier a returned guard came from (`None`: adopted).
        let from = match entry {
            Entry::Return { from } => Some(from),
            Entry::Adopt => None,
        };
        // A charged guard's charge (0: none) settles as it ends.
        self.settle(engine, charge);
        if !self.spend(engine, buf.capacity()) {
            drop(buf);
            self.count(engine, from.map_or(Origin::FOREIGN, Origin::tier), Event::OverBudget, 1);
            return Admitted::OverBudget;
        }
        match from {
            Some(from) => {
                self.count(engine, Origin::tier(from), Event::Returned, 1);
                if from != tier {
                    self.count(engine, Origin::tier(from), Event::Retiered, 1);
                }
            }
            // Counted before it is stored, as a return is: a full depot that
            // drops it counts it in `GlobalFull`, and the flows add up.
            None => self.count(engine, Origin::tier(tier), Event::Adopted, 1),
        }
        let dropped = match self {
            Cache::Thread(slot) => slot.store(engine, tier, buf),
            Cache::Direct => Dropped::pushed(buf, engine.depot(tier)),
        };
        if dropped.buffers > 0 {
            self.refund(engine, dropped.bytes);
            self.count(engine, Origin::tier(tier), Event::GlobalFull, dropped.buffers);
        }
        if dropped.stored { Admitted::Pooled } else { Admitted::Full }
    }

    /// Counts a request of `n` bytes in the histogram of this thread, or of
    /// the common block (feature `advice`).
    #[cfg(feature = "advice")]
    pub(crate) fn record_request(&self, engine: &Engine, n: usize) {
        match self {
            Cache::Thread(slot) => slot.record_request(n),
            Cache::Direct => engine.record_request_common(n),
        }
    }

    /// Counts `n` events of `origin`'s row.
    pub(crate) fn count(&self, engine: &Engine, origin: Origin, event: Event, n: u64) {
        match self {
            // The registry hands out registered slots only; a vacancy, which
            // has no counters, would count in the common block.
            Cache::Thread(Slot { stats: Some(stats), .. }) => {
                stats.row(origin).bump(event, n);
            }
            Cache::Thread(_) | Cache::Direct => engine.count_common(origin, event, n),
        }
    }

    /// Pays `cost` bytes from the budget, if the pool has one.
    fn spend(&mut self, engine: &Engine, cost: usize) -> bool {
        match (self, engine.budget()) {
            (_, None) => true,
            (Cache::Thread(slot), Some(budget)) => slot.credit.spend(budget, cost),
            (Cache::Direct, Some(_)) => engine.spend_direct(cost),
        }
    }

    /// Gives `bytes` back to the budget.
    fn refund(&mut self, engine: &Engine, bytes: usize) {
        match self {
            Cache::Thread(slot) => slot.refund(engine, bytes),
            Cache::Direct => engine.refund_direct(bytes),
        }
    }
}
