//! Admission: a hard limit on the bytes a pool has handed out
//! (`Builder::max_outstanding_bytes`), with FIFO waiting for room.
//!
//! Accounting, for a pool with limit `L`:
//!
//! ```text
//! permits  +  Σ allowance(thread)  +  Σ charge(out)  ==  L  +  debt      (always)
//! ```
//!
//! - `permits` are the semaphore's: bytes nobody holds. Waiters queue on it,
//!   first come first served (`tokio::sync::Semaphore`: FIFO, and a waiter
//!   dropped while queued gives back what it was assigned and wakes the
//!   next).
//! - An *allowance* is a thread's reservation: permits taken in batches and
//!   not yet backing a buffer. Only its own thread touches it.
//! - A *charge* is the real capacity of one buffer handed out, counted from
//!   its checkout until its guard (or chunk, or last `into_shared` clone)
//!   ends; the guard carries it, and its end settles it.
//! - `debt` is what `get`, which never waits, took beyond the limit
//!   (*forced* charges, as in aws-c-s3). Bytes settled repay the debt before
//!   they become permits again.
//!
//! So `Σ charge(out) <= L + debt`, and with no forced charge, the bytes
//! handed out never exceed `L`.
//!
//! A thread takes at least `batch` bytes (1/64 of the limit) at a time and
//! gives back what it holds above `2 × batch`, so the semaphore sees one
//! operation per many checkouts. A future that starts to wait takes back
//! every thread's allowance, and while someone waits, a thread keeps none
//! after its checkout or return ([`Allowance`]), so the room a waiter needs
//! never sits idle in a thread, busy or quiet.

use std::time::Duration;

use crossbeam_utils::CachePadded;
use tokio::sync::Semaphore;

use crate::error::GetError;
use crate::sync::{
    AtomicU64, AtomicUsize,
    Ordering::{Relaxed, SeqCst},
};

/// The largest limit: what `tokio::sync::Semaphore` can count.
pub(crate) const MAX_LIMIT: usize = Semaphore::MAX_PERMITS;

/// The largest single charge: `Semaphore::acquire_many` counts in `u32`, and
/// a guard carries its charge in a `u32`.
pub(crate) const MAX_CHARGE: usize = u32::MAX as usize;

/// How a checkout pays its charge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pay {
    /// From the allowance or the semaphore, or else as debt: never refused
    /// (`get`, and the chain's writes that cannot fail).
    Force,
    /// From the allowance or the semaphore, or refused (`try_acquire`).
    Try,
    /// With `n` bytes already taken from the semaphore by a wait, and the
    /// rest, if the buffer turns out larger, forced.
    Prepaid(usize),
}

/// Why a checkout handed out nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The get itself failed.
    Get(GetError),
    /// [`Pay::Try`], and the limit has no room for `charge` bytes now.
    WouldWait { charge: usize },
}

impl From<GetError> for Refused {
    fn from(err: GetError) -> Self {
        Refused::Get(err)
    }
}

/// A pool's admission state. `None` in the engine when unlimited.
#[derive(Debug)]
pub(crate) struct Admission {
    limit: usize,
    batch: usize,
    semaphore: Semaphore,
    /// Futures waiting for room: while non-zero, threads hold no allowance.
    /// Read on every limited checkout and return, written only when a wait
    /// starts or ends, so it has a line of its own.
    waiting: CachePadded<AtomicUsize>,
    /// The counters, written only on the paths that reach the semaphore.
    shared: CachePadded<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    /// Forced bytes not yet repaid.
    debt: AtomicUsize,
    overdrafts: AtomicU64,
    overdrawn_bytes: AtomicU64,
    waits: AtomicU64,
    wait_nanos: AtomicU64,
    would_wait: AtomicU64,
}

/// What `Stats::admission` reports (see there).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Snapshot {
    pub(crate) limit: usize,
    pub(crate) available: usize,
    pub(crate) debt: usize,
    pub(crate) overdrafts: u64,
    pub(crate) overdrawn_bytes: u64,
    pub(crate) waits: u64,
    pub(crate) wait_time: Duration,
    pub(crate) would_wait: u64,
    pub(crate) waiting: usize,
}

impl Admission {
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            limit,
            batch: (limit / 64).max(1),
            semaphore: Semaphore::new(limit),
            waiting: CachePadded::new(AtomicUsize::new(0)),
            shared: CachePadded::new(Shared::default()),
        }
    }

    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    /// Whether a future is waiting for room.
    #[inline]
    pub(crate) fn has_waiters(&self) -> bool {
        self.waiting.load(SeqCst) > 0
    }

    /// Takes exactly `n` permits, or none.
    fn grant(&self, n: usize) -> bool {
        let Ok(n32) = u32::try_from(n) else { return false };
        match self.semaphore.try_acquire_many(n32) {
            Ok(permit) => {
                permit.forget();
                true
            }
            Err(_) => false,
        }
    }

    /// Gives `n` settled bytes back: to the debt first, then as permits,
    /// which wake the waiters in order.
    pub(crate) fn release(&self, n: usize) {
        if n == 0 {
            return;
        }
        let mut rest = n;
        if self.shared.debt.load(Relaxed) > 0 {
            let _ = self.shared.debt.fetch_update(Relaxed, Relaxed, |debt| {
                let repaid = debt.min(n);
                rest = n - repaid;
                Some(debt - repaid)
            });
        }
        if rest > 0 {
            self.semaphore.add_permits(rest);
        }
    }

    /// Records `n` bytes charged beyond the limit.
    fn overdraw(&self, n: usize) {
        self.shared.debt.fetch_add(n, Relaxed);
        self.shared.overdrafts.fetch_add(1, Relaxed);
        self.shared.overdrawn_bytes.fetch_add(n as u64, Relaxed);
    }

    /// Counts a `try_acquire` (or a chain's `try_` write) refused for room.
    pub(crate) fn count_would_wait(&self) {
        self.shared.would_wait.fetch_add(1, Relaxed);
    }

    /// Waits, first come first served, until `n` bytes (at most
    /// [`MAX_CHARGE`], at most the limit) are free, and takes them. First it
    /// takes back every thread's unused room (`allowances`), so none sits
    /// idle while it waits. Dropped while waiting, it leaves the queue,
    /// gives back what it was assigned and takes nothing.
    pub(crate) async fn wait_for<'c>(&self, n: usize, allowances: impl Iterator<Item = &'c Allowance>) {
        debug_assert!(n <= self.limit && n <= MAX_CHARGE);
        let _waiting = Waiting::start(self);
        for room in allowances {
            room.release_all(self);
        }
        // The semaphore is never closed.
        if let Ok(permit) = self.semaphore.acquire_many(n as u32).await {
            permit.forget();
        }
    }

    pub(crate) fn snapshot(&self) -> Snapshot {
        let s = &self.shared;
        Snapshot {
            limit: self.limit,
            available: self.semaphore.available_permits(),
            debt: s.debt.load(Relaxed),
            overdrafts: s.overdrafts.load(Relaxed),
            overdrawn_bytes: s.overdrawn_bytes.load(Relaxed),
            waits: s.waits.load(Relaxed),
            wait_time: Duration::from_nanos(s.wait_nanos.load(Relaxed)),
            would_wait: s.would_wait.load(Relaxed),
            waiting: self.waiting.load(Relaxed),
        }
    }
}

/// A wait in progress: counted in `waiting` from its start until it ends,
/// granted or dropped, and then in `waits` and the time waited, whichever
/// way it ended.
pub(crate) struct Waiting<'a> {
    admission: &'a Admission,
    start: std::time::Instant,
}

impl<'a> Waiting<'a> {
    pub(crate) fn start(admission: &'a Admission) -> Self {
        admission.waiting.fetch_add(1, SeqCst);
        Self { admission, start: std::time::Instant::now() }
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        let shared = &self.admission.shared;
        shared.waits.fetch_add(1, Relaxed);
        let nanos = u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        shared.wait_nanos.fetch_add(nanos, Relaxed);
        self.admission.waiting.fetch_sub(1, SeqCst);
    }
}

/// One thread's reservation against a pool's limit: room taken from the
/// permits in batches and not yet charged to a buffer. It lives in the
/// thread's counter block, so a waiter can reach it: only its thread adds
/// to it or spends it, and a future that starts to wait takes all of it
/// ([`Admission::wait_for`]).
///
/// The hand-over is Dekker's: the owner changes its room, then reads
/// `waiting`; a waiter raises `waiting`, then takes every room. All four
/// are sequentially consistent, so at least one of the two sees the other,
/// and no room stays with an owner while someone waits.
#[derive(Debug, Default)]
pub(crate) struct Allowance {
    bytes: CachePadded<AtomicUsize>,
}

impl Allowance {
    /// Pays a charge of `cost` bytes as `pay` says; `false` only for
    /// [`Pay::Try`] without room.
    pub(crate) fn charge(&self, admission: &Admission, cost: usize, pay: Pay) -> bool {
        // While anyone waits this is 0: a thread keeps no room then (`keep`),
        // and a waiter took what it had, so a `try_` cannot overtake them.
        let mut have = self.bytes.swap(0, SeqCst);
        if let Pay::Prepaid(n) = pay {
            have += n;
        }
        if have < cost {
            let need = cost - have;
            // While others wait, take no more than needed: a batch would sit
            // here while they wait for it.
            let batch = if admission.has_waiters() { need } else { need.max(admission.batch) };
            if admission.grant(batch) {
                have += batch;
            } else if batch > need && admission.grant(need) {
                have += need;
            } else if pay == Pay::Try {
                self.keep(admission, have);
                return false;
            } else {
                // Forced: what room there is, and the rest as debt.
                let room = admission.semaphore.available_permits().min(need);
                let taken = if room > 0 && admission.grant(room) { room } else { 0 };
                admission.overdraw(need - taken);
                have += need;
            }
        }
        self.keep(admission, have - cost);
        true
    }

    /// Takes back the charge of a buffer whose guard ended.
    pub(crate) fn settle(&self, admission: &Admission, charge: usize) {
        self.keep(admission, charge);
    }

    /// Adds `extra` bytes, out of the permits, to the room; keeps at most
    /// `2 × batch`, and nothing while someone waits or the pool owes a
    /// forced charge (room kept then would stand on debt).
    fn keep(&self, admission: &Admission, extra: usize) {
        let total = self.bytes.fetch_add(extra, SeqCst) + extra;
        if admission.shared.debt.load(Relaxed) > 0 {
            self.release_all(admission);
        } else if total > 2 * admission.batch && !admission.has_waiters() {
            let all = self.bytes.swap(0, SeqCst);
            let kept = all.min(admission.batch);
            admission.release(all - kept);
            self.bytes.fetch_add(kept, SeqCst);
        }
        // After the last change: Dekker's read (see the type).
        if admission.has_waiters() {
            self.release_all(admission);
        }
    }

    /// Gives all the room back (at thread exit, before a wait, and to a
    /// waiter).
    pub(crate) fn release_all(&self, admission: &Admission) {
        admission.release(self.bytes.swap(0, SeqCst));
    }

    /// Bytes reserved and not backing a buffer.
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> usize {
        self.bytes.load(SeqCst)
    }
}

/// A charge with no thread allowance (thread exit, re-entry): straight
/// against the permits.
pub(crate) fn charge_direct(admission: &Admission, cost: usize, pay: Pay) -> bool {
    let room = Allowance::default();
    let paid = room.charge(admission, cost, pay);
    room.release_all(admission);
    paid
}

/// Settles a charge with no thread allowance.
pub(crate) fn settle_direct(admission: &Admission, charge: usize) {
    admission.release(charge);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The accounting identity, in a quiet moment.
    fn balanced(a: &Admission, allowances: &[&Allowance], out: usize) {
        let s = a.snapshot();
        let held: usize = allowances.iter().map(|x| x.bytes()).sum();
        assert_eq!(s.available + held + out, s.limit + s.debt, "{s:?}");
    }

    #[test]
    fn charges_come_from_batches_and_balance() {
        let a = Admission::new(64 * 4096);
        let t = Allowance::default();
        assert!(t.charge(&a, 4096, Pay::Try));
        assert_eq!(t.bytes(), 0, "a batch is 4096 here: exactly the charge");
        balanced(&a, &[&t], 4096);
        t.settle(&a, 4096);
        balanced(&a, &[&t], 0);
        t.release_all(&a);
        assert_eq!(a.snapshot().available, a.limit());
    }

    #[test]
    fn try_is_refused_and_force_overdraws() {
        let a = Admission::new(10_000);
        let t = Allowance::default();
        assert!(t.charge(&a, 8192, Pay::Try));
        assert!(!t.charge(&a, 4096, Pay::Try), "1808 bytes left");
        balanced(&a, &[&t], 8192);
        assert!(t.charge(&a, 4096, Pay::Force));
        let s = a.snapshot();
        assert_eq!(
            (s.overdrafts, s.debt, s.available),
            (1, 4096 - 1808, 0),
            "forced: the room there was, and the rest as debt"
        );
        balanced(&a, &[&t], 8192 + 4096);
        t.settle(&a, 4096);
        t.settle(&a, 8192);
        t.release_all(&a);
        let s = a.snapshot();
        assert_eq!((s.debt, s.available), (0, 10_000), "settling repaid the debt first");
    }

    #[test]
    fn a_waiter_makes_threads_hold_nothing() {
        let a = Admission::new(64 * 1024);
        let t = Allowance::default();
        assert!(t.charge(&a, 100, Pay::Force));
        assert!(t.bytes() > 0, "kept the rest of its batch");
        let _w = Waiting::start(&a);
        t.settle(&a, 100);
        assert_eq!(t.bytes(), 0);
        assert_eq!(a.snapshot().available, a.limit());
    }
}
