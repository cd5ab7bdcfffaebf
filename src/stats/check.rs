//! The identities a snapshot keeps ([`Stats`]' contract), and
//! [`Stats::check`], which tests them.

use super::Stats;

/// One identity of [`Stats`]' contract (numbered as in its docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Identity {
    /// 1: a tier's `gets = cache_hits + global_hits + misses`.
    Gets,
    /// 2: a tier's `retiered <= returns`.
    Retiered,
    /// 3: a tier's `retained_buffers × size <= retained_bytes <=
    /// retained_buffers × ceiling`.
    RetainedBytes,
    /// 4: guards ended (returned, discarded at return, detached) `<=` guards
    /// handed out, and `outstanding` is the difference.
    Outstanding,
    /// 5: over all tiers, `retained_buffers = prefilled + returns + adopted −
    /// cache_hits − global_hits − global_full − trimmed − decayed`.
    Retained,
    /// 6: `retained_bytes() <= max_retained_bytes`.
    Budget,
    /// 7: with a limit on outstanding bytes, `outstanding_bytes <= limit +
    /// overdrawn_bytes`, and nothing is out or owed with no guard out.
    Admission,
}

/// An identity that a snapshot breaks, from [`Stats::check`]: `left` should
/// have been equal to `right` (or, for a bound, not above it).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Broken {
    /// Which identity.
    pub identity: Identity,
    /// The tier's size, for a per-tier identity.
    pub tier: Option<usize>,
    /// The side that should not exceed, or should equal, `right`.
    pub left: u64,
    /// The other side, as the snapshot gives it.
    pub right: u64,
}

impl core::fmt::Display for Broken {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let what = match self.identity {
            Identity::Gets => "gets = cache_hits + global_hits + misses",
            Identity::Retiered => "retiered <= returns",
            Identity::RetainedBytes => "retained_buffers × size <= retained_bytes <= retained_buffers × ceiling",
            Identity::Outstanding => "guards ended <= guards handed out, and outstanding = the difference",
            Identity::Retained => {
                "retained_buffers = prefilled + returns + adopted − hits − global_full − trimmed − decayed"
            }
            Identity::Budget => "retained_bytes <= max_retained_bytes",
            Identity::Admission => {
                "outstanding_bytes <= max_outstanding_bytes + overdrawn_bytes, and 0 with no guard out"
            }
        };
        write!(f, "tierpool stats: {what} does not hold")?;
        if let Some(size) = self.tier {
            write!(f, " in the {size}-byte tier")?;
        }
        write!(f, " ({} against {})", self.left, self.right)
    }
}

impl std::error::Error for Broken {}

impl Stats {
    /// Tests the identities of the contract above, in order; returns the
    /// first that fails. Only an exact snapshot keeps them: take it when no
    /// other thread is using the pool (after joining them, for example).
    /// A snapshot taken meanwhile may break them, by the few buffers in
    /// flight.
    ///
    /// # Errors
    ///
    /// The first identity the snapshot breaks.
    ///
    /// # Examples
    ///
    /// ```
    /// let pool = tierpool::BufPool::new();
    /// pool.prefill(4096, 3);
    /// let held = pool.get(100);
    /// pool.put(bytes::BytesMut::with_capacity(70_000));
    /// assert_eq!(pool.stats().check(), Ok(()));
    /// assert_eq!(pool.stats().outstanding, 1);
    /// drop(held);
    /// assert_eq!(pool.stats().check(), Ok(()));
    /// ```
    pub fn check(&self) -> Result<(), Broken> {
        let broken = |identity, tier, left, right| Err(Broken { identity, tier, left, right });
        for t in &self.tiers {
            let tier = Some(t.size);
            let hits = t.cache_hits + t.global_hits + t.misses;
            if t.gets != hits {
                return broken(Identity::Gets, tier, t.gets, hits);
            }
            if t.retiered > t.returns {
                return broken(Identity::Retiered, tier, t.retiered, t.returns);
            }
            let (low, high) = (t.retained_buffers * t.size as u64, t.retained_buffers * t.ceiling as u64);
            if t.retained_bytes < low {
                return broken(Identity::RetainedBytes, tier, low, t.retained_bytes);
            }
            if t.retained_bytes > high {
                return broken(Identity::RetainedBytes, tier, t.retained_bytes, high);
            }
        }
        let handed_out = self.gets();
        let ended =
            self.tiers.iter().map(|t| t.ended()).sum::<u64>() + self.oversize.discarded + self.oversize.detached;
        if ended > handed_out {
            return broken(Identity::Outstanding, None, ended, handed_out);
        }
        if self.outstanding != handed_out - ended {
            return broken(Identity::Outstanding, None, self.outstanding, handed_out - ended);
        }
        let sum = |f: fn(&super::TierStats) -> u64| self.tiers.iter().map(f).sum::<u64>();
        let entered = sum(|t| t.prefilled + t.returns + t.adopted);
        let left = sum(|t| t.cache_hits + t.global_hits + t.discards.global_full + t.trimmed + t.decayed);
        let retained = self.retained_buffers();
        if entered.checked_sub(left) != Some(retained) {
            let expected = entered.saturating_sub(left);
            return broken(Identity::Retained, None, retained, expected);
        }
        if let Some(budget) = self.max_retained_bytes
            && self.retained_bytes() > budget as u64
        {
            return broken(Identity::Budget, None, self.retained_bytes(), budget as u64);
        }
        if let Some(a) = &self.admission {
            let bound = a.limit.saturating_add(a.overdrawn_bytes);
            if a.outstanding_bytes > bound {
                return broken(Identity::Admission, None, a.outstanding_bytes as u64, bound as u64);
            }
            // With no guard out, only a chain's room ahead may be; nothing is
            // out, and a forced charge with nothing out is repaid.
            if self.outstanding == 0 && (a.outstanding_bytes > 0 || a.overdrawn_bytes > 0) {
                let owed = a.outstanding_bytes.max(a.overdrawn_bytes) as u64;
                return broken(Identity::Admission, None, owed, 0);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::BufPool;

    use super::*;

    #[test]
    fn each_identity_fails_when_its_counters_disagree() {
        let pool = BufPool::new();
        drop(pool.get(100));
        pool.prefill(4096, 2);
        let stats = pool.stats();
        assert_eq!(stats.check(), Ok(()));
        let identity = |mutate: fn(&mut Stats)| {
            let mut s = stats.clone();
            mutate(&mut s);
            s.check().unwrap_err().identity
        };
        assert_eq!(identity(|s| s.tiers[0].misses += 1), Identity::Gets);
        assert_eq!(identity(|s| s.tiers[0].retiered = 2), Identity::Retiered);
        assert_eq!(identity(|s| s.tiers[0].retained_bytes -= 1), Identity::RetainedBytes);
        assert_eq!(identity(|s| s.tiers[0].retained_bytes = 3 * 8192 + 1), Identity::RetainedBytes);
        assert_eq!(identity(|s| s.outstanding = 1), Identity::Outstanding);
        assert_eq!(identity(|s| s.tiers[0].detached = 5), Identity::Outstanding);
        assert_eq!(identity(|s| s.tiers[1].prefilled = 1), Identity::Retained);
        assert_eq!(identity(|s| s.max_retained_bytes = Some(4096)), Identity::Budget);
        let limited = BufPool::builder().max_outstanding_bytes(64 * 1024).build().unwrap();
        let out = limited.get(100);
        let with_limit = limited.stats();
        assert_eq!(with_limit.check(), Ok(()));
        let identity = |mutate: fn(&mut crate::AdmissionStats)| {
            let mut s = with_limit.clone();
            mutate(s.admission.as_mut().unwrap());
            s.check().unwrap_err().identity
        };
        assert_eq!(identity(|a| a.outstanding_bytes = 64 * 1024 + 1), Identity::Admission);
        drop(out);
        let mut idle = limited.stats();
        assert_eq!(idle.check(), Ok(()));
        idle.admission.as_mut().unwrap().overdrawn_bytes = 1;
        assert_eq!(idle.check().unwrap_err().identity, Identity::Admission);
        let message = stats.clone().check().map(|()| String::new()).unwrap_or_else(|b| b.to_string());
        assert!(message.is_empty());
        let mut s = stats.clone();
        s.tiers[0].trimmed = 1;
        let err = s.check().unwrap_err();
        assert!(err.to_string().contains("retained_buffers = prefilled"), "{err}");
        assert_eq!((err.left, err.right), (3, 2));
    }
}
