//! The retained-bytes budget: a hard bound on the bytes a pool holds, in its
//! global queues and every thread cache together, at every instant.
//!
//! Accounting, for a pool with limit `L`:
//!
//! ```text
//! available  +  Σ credit(thread)  +  held  ==  L        (always)
//! ```
//!
//! - `available` is one shared atomic, touched only in batches.
//! - `credit` is a thread's reservation: bytes taken from `available` and not
//!   yet backing a buffer. Only its own thread touches it.
//! - `held` is the real capacity of every pooled buffer, wherever it is.
//!
//! A buffer *enters* the pool by spending its capacity in credit: the
//! returning thread's credit, or `available` directly on the paths without a
//! thread cache. It *leaves* the pool (handed out, dropped by a full queue,
//! trimmed, decayed) by giving the same amount back, as credit or to
//! `available`. Moves between levels (spill, refill) change nothing. Every
//! term is non-negative, so `held <= L` at every instant, under any number of
//! threads.
//!
//! A thread reserves at least `batch` bytes at a time (1/64 of the limit) and
//! returns credit above `2 × batch`, so the shared counter sees one atomic
//! operation per many gets and returns. The price is that up to `2 × batch`
//! of unused reservation can sit with each thread. With many threads, a
//! return can then be refused (`over_budget`) before `held` reaches the
//! limit: conservative, never over.

use crate::sync::{AtomicUsize, Ordering::Relaxed};

/// A pool's budget. `None` in the pool when unlimited, so an unlimited pool
/// does no accounting at all.
#[derive(Debug)]
pub(crate) struct Budget {
    limit: usize,
    /// Bytes neither held nor reserved as credit.
    available: AtomicUsize,
    /// Reservation granularity; credit above `2 * batch` goes back.
    batch: usize,
}

impl Budget {
    pub(crate) fn new(limit: usize) -> Self {
        Self { limit, available: AtomicUsize::new(limit), batch: (limit / 64).max(1) }
    }

    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    /// Bytes not reserved by anyone: `limit - credit - held`.
    #[cfg(test)]
    pub(crate) fn available(&self) -> usize {
        self.available.load(Relaxed)
    }

    /// Takes at least `min` and up to `max(min, batch)` bytes from
    /// `available`; returns how many were granted, or 0 if `min` was not
    /// available.
    pub(crate) fn reserve(&self, min: usize) -> usize {
        let want = min.max(self.batch);
        let mut current = self.available.load(Relaxed);
        loop {
            if current < min {
                return 0;
            }
            let take = want.min(current);
            // Relaxed suffices: the counter guards quantities, not data.
            match self.available.compare_exchange_weak(current, current - take, Relaxed, Relaxed) {
                Ok(_) => return take,
                Err(now) => current = now,
            }
        }
    }

    /// Takes exactly `n` bytes from `available`, or nothing; for the paths
    /// without a thread cache.
    pub(crate) fn reserve_exact(&self, n: usize) -> bool {
        self.available.fetch_update(Relaxed, Relaxed, |current| current.checked_sub(n)).is_ok()
    }

    /// Gives `n` bytes back to `available`.
    pub(crate) fn release(&self, n: usize) {
        if n > 0 {
            self.available.fetch_add(n, Relaxed);
        }
    }
}

/// One thread's reservation against a pool's budget. Thread-local: the
/// hot path only compares and adds.
#[derive(Debug, Default)]
pub(crate) struct Credit {
    bytes: usize,
}

impl Credit {
    /// Pays `cost` bytes for a buffer entering the pool, reserving more from
    /// `budget` if needed; `false` if the budget cannot cover it.
    #[inline]
    pub(crate) fn spend(&mut self, budget: &Budget, cost: usize) -> bool {
        if self.bytes < cost {
            let granted = budget.reserve(cost - self.bytes);
            if granted == 0 {
                return false;
            }
            self.bytes += granted;
        }
        self.bytes -= cost;
        true
    }

    /// Pays `cost` from credit already reserved, without touching the shared
    /// budget; `false` if the credit is short (the caller then takes the
    /// general path, [`spend`](Self::spend)).
    #[inline]
    pub(crate) fn spend_reserved(&mut self, cost: usize) -> bool {
        let covered = self.bytes >= cost;
        if covered {
            self.bytes -= cost;
        }
        covered
    }

    /// Takes back `bytes` of a buffer leaving the pool; returns credit above
    /// `2 × batch` to the budget.
    #[inline]
    pub(crate) fn refund(&mut self, budget: &Budget, bytes: usize) {
        self.bytes += bytes;
        if self.bytes > 2 * budget.batch {
            self.release_excess(budget);
        }
    }

    #[cold]
    fn release_excess(&mut self, budget: &Budget) {
        let keep = budget.batch;
        budget.release(self.bytes - keep);
        self.bytes = keep;
    }

    /// Bytes reserved and not backing a buffer.
    #[cfg(all(test, tierpool_loom))]
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Returns all credit (at thread exit).
    pub(crate) fn release_all(&mut self, budget: &Budget) {
        budget.release(core::mem::take(&mut self.bytes));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credit_never_spends_more_than_the_limit() {
        let budget = Budget::new(10_000);
        let mut a = Credit::default();
        let mut b = Credit::default();
        assert!(a.spend(&budget, 4096));
        assert!(b.spend(&budget, 4096));
        assert!(!a.spend(&budget, 4096), "only 1808 bytes left unreserved");
        a.refund(&budget, 4096);
        assert!(b.spend(&budget, 4096), "a's refund beyond 2×batch went back to the budget");
    }

    #[test]
    fn accounting_balances() {
        let budget = Budget::new(1 << 20);
        let mut c = Credit::default();
        let mut held = 0;
        for _ in 0..100 {
            if c.spend(&budget, 4096) {
                held += 4096;
            }
        }
        assert_eq!(budget.available() + c.bytes + held, 1 << 20);
        for _ in 0..100 {
            c.refund(&budget, 4096);
        }
        c.release_all(&budget);
        assert_eq!(budget.available(), 1 << 20);
    }
}
