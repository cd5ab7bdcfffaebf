//! Typed errors: invalid configuration and refused requests.

use core::fmt;

/// Why a [`Builder`](crate::Builder) could not build a pool.
///
/// # Examples
///
/// ```
/// use tierpool::{BufPool, ConfigError};
///
/// assert_eq!(BufPool::builder().tiers(&[]).build().unwrap_err(), ConfigError::NoTiers);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// The tier list is empty.
    NoTiers,
    /// More tiers than [`MAX_TIERS`](crate::MAX_TIERS).
    TooManyTiers {
        /// Tiers given.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A tier of size zero.
    ZeroSize {
        /// Its position in the tier list.
        index: usize,
    },
    /// A tier smaller than the one before it.
    NotAscending {
        /// Its position in the tier list.
        index: usize,
        /// Its size.
        size: usize,
        /// The size of the tier before it.
        previous: usize,
    },
    /// The same size given twice.
    Duplicate {
        /// The repeated size.
        size: usize,
    },
    /// A tier above [`MAX_TIER_SIZE`](crate::MAX_TIER_SIZE).
    TierTooLarge {
        /// The tier's size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// A ceiling below its tier's size (or a ceiling factor of 0).
    CeilingBelowSize {
        /// The tier's size.
        size: usize,
        /// The ceiling given for it.
        ceiling: usize,
    },
    /// A per-tier list whose length differs from the number of tiers.
    LengthMismatch {
        /// The builder setting, e.g. `"thread_cache"`.
        setting: &'static str,
        /// The number of tiers.
        expected: usize,
        /// The number of values given.
        got: usize,
    },
    /// A global queue of capacity zero.
    ZeroGlobalQueue {
        /// The tier's size.
        size: usize,
    },
    /// `max_request` below the largest tier, or above `isize::MAX`.
    InvalidMaxRequest {
        /// The value given.
        max_request: usize,
        /// The largest tier.
        largest_tier: usize,
    },
    /// A byte budget too small to hold one buffer of the smallest tier.
    BudgetBelowSmallestTier {
        /// The budget given.
        budget: usize,
        /// The smallest tier.
        smallest_tier: usize,
    },
    /// A limit on outstanding bytes too small for one buffer of the smallest
    /// tier ([`Builder::max_outstanding_bytes`](crate::Builder::max_outstanding_bytes)).
    OutstandingBelowSmallestTier {
        /// The limit given.
        limit: usize,
        /// The smallest tier.
        smallest_tier: usize,
    },
    /// An idle timeout of zero (use `None` to disable idle decay).
    ZeroIdleTimeout,
    /// A sampling rate ([`Builder::track_callers_sampled`](crate::Builder::track_callers_sampled))
    /// outside `min..=max`.
    SampleRate {
        /// The rate given.
        every: u64,
        /// The smallest rate, [`MIN_SAMPLE_EVERY`](crate::MIN_SAMPLE_EVERY).
        min: u64,
        /// The largest rate, [`MAX_SAMPLE_EVERY`](crate::MAX_SAMPLE_EVERY).
        max: u64,
    },
    /// A setting above its documented maximum, such as
    /// [`MAX_THREAD_CACHE`](crate::MAX_THREAD_CACHE).
    AboveMaximum {
        /// The builder setting, e.g. `"global_queue"`.
        setting: &'static str,
        /// The value given.
        value: usize,
        /// The maximum.
        max: usize,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::NoTiers => f.write_str("no tiers: a pool needs at least one tier size"),
            Self::TooManyTiers { count, max } => write!(f, "{count} tiers given, at most {max} are allowed"),
            Self::ZeroSize { index } => write!(f, "tier {index} has size 0: tier sizes must be at least 1 byte"),
            Self::NotAscending { index, size, previous } => write!(
                f,
                "tier {index} ({size} bytes) is smaller than tier {} ({previous} bytes): tiers must be sorted ascending",
                index - 1
            ),
            Self::Duplicate { size } => write!(f, "tier size {size} is given twice: tier sizes must be distinct"),
            Self::TierTooLarge { size, max } => write!(f, "tier size {size} is above the maximum tier size {max}"),
            Self::CeilingBelowSize { size, ceiling } => {
                write!(
                    f,
                    "ceiling {ceiling} of tier {size} is below the tier size: a ceiling must be at least its size"
                )
            }
            Self::LengthMismatch { setting, expected, got } => {
                write!(f, "{setting} has {got} values for {expected} tiers: give exactly one per tier")
            }
            Self::ZeroGlobalQueue { size } => {
                write!(f, "global queue of tier {size} has capacity 0: it must hold at least 1 buffer")
            }
            Self::InvalidMaxRequest { max_request, largest_tier } => write!(
                f,
                "max_request {max_request} must be at least the largest tier ({largest_tier}) and at most isize::MAX"
            ),
            Self::BudgetBelowSmallestTier { budget, smallest_tier } => write!(
                f,
                "max_retained_bytes {budget} is below the smallest tier ({smallest_tier}): the pool could keep nothing"
            ),
            Self::OutstandingBelowSmallestTier { limit, smallest_tier } => write!(
                f,
                "max_outstanding_bytes {limit} is below the smallest tier ({smallest_tier}): the pool could hand out nothing"
            ),
            Self::ZeroIdleTimeout => f.write_str("idle timeout of zero: use None to disable idle decay"),
            Self::SampleRate { every, min, max } => {
                write!(f, "track_callers_sampled({every}): the rate must be from {min} to {max}")
            }
            Self::AboveMaximum { setting, value, max } => {
                write!(f, "{setting} of {value} is above the maximum of {max}")
            }
        }
    }
}

impl std::error::Error for ConfigError {}

/// Why [`BufPool::try_get`](crate::BufPool::try_get) refused a request.
///
/// # Examples
///
/// ```
/// use tierpool::{BufPool, GetError};
///
/// let pool = BufPool::new();
/// let err = pool.try_get(usize::MAX).unwrap_err();
/// assert_eq!(err, GetError::TooLarge { requested: usize::MAX, limit: tierpool::DEFAULT_MAX_REQUEST });
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum GetError {
    /// The request is above the pool's `max_request`.
    TooLarge {
        /// Bytes requested.
        requested: usize,
        /// The pool's `max_request`.
        limit: usize,
    },
    /// The allocator could not provide an unpooled buffer of this size.
    AllocFailed {
        /// Bytes requested.
        requested: usize,
    },
}

impl fmt::Display for GetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::TooLarge { requested, limit } => {
                write!(f, "requested {requested} bytes, above this pool's max_request of {limit} bytes")
            }
            Self::AllocFailed { requested } => write!(f, "the allocator could not provide {requested} bytes"),
        }
    }
}

impl std::error::Error for GetError {}

/// Why [`BufPool::acquire`](crate::BufPool::acquire) or
/// [`try_acquire`](crate::BufPool::try_acquire) handed out nothing.
///
/// # Examples
///
/// ```
/// use tierpool::{AcquireError, BufPool};
///
/// let pool = BufPool::builder().max_outstanding_bytes(64 * 1024).build()?;
/// let held = pool.try_acquire(64 * 1024)?;
/// assert_eq!(pool.try_acquire(10).unwrap_err(), AcquireError::WouldWait { charge: 4096 });
/// assert_eq!(pool.try_acquire(1 << 20).unwrap_err(), AcquireError::AboveLimit { charge: 1 << 20, limit: 64 * 1024 });
/// drop(held);
/// assert!(pool.try_acquire(10).is_ok());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AcquireError {
    /// The buffer would be charged more than the pool's whole
    /// `max_outstanding_bytes`: it could never be handed out, so the request
    /// fails at once instead of waiting forever.
    AboveLimit {
        /// What the buffer would count against the limit: its tier's size,
        /// or the request itself above the largest tier.
        charge: usize,
        /// The pool's `max_outstanding_bytes`.
        limit: usize,
    },
    /// `try_acquire` only: the limit has no room for `charge` more bytes now
    /// (`acquire` would wait).
    WouldWait {
        /// What the buffer would count against the limit.
        charge: usize,
    },
    /// The get itself failed: the request is above `max_request`, or the
    /// allocator refused a buffer.
    Get(GetError),
}

impl fmt::Display for AcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AboveLimit { charge, limit } => {
                write!(f, "a buffer of {charge} bytes is above this pool's max_outstanding_bytes of {limit}")
            }
            Self::WouldWait { charge } => {
                write!(f, "max_outstanding_bytes has no room for {charge} more bytes now")
            }
            Self::Get(err) => err.fmt(f),
        }
    }
}

impl std::error::Error for AcquireError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Get(err) => Some(err),
            _ => None,
        }
    }
}

impl From<GetError> for AcquireError {
    fn from(err: GetError) -> Self {
        Self::Get(err)
    }
}

/// Why a [`PooledChain`](crate::PooledChain) refused a write.
///
/// # Examples
///
/// ```
/// use tierpool::ChainError;
///
/// let pool = tierpool::BufPool::new();
/// let mut chain = pool.chain(4096).with_limit(3);
/// assert_eq!(chain.try_extend_from_slice(b"four"), Err(ChainError::LimitExceeded { limit: 3 }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChainError {
    /// The write would take the chain past its length limit; nothing of it
    /// was written.
    LimitExceeded {
        /// The chain's limit, in bytes.
        limit: usize,
    },
    /// The pool's `max_outstanding_bytes` has no room now for the chunks the
    /// write needs; nothing of it was written (`try_extend_from_slice`).
    WouldWait {
        /// The bytes of the chunks the write needed.
        charge: usize,
    },
}

impl fmt::Display for ChainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::LimitExceeded { limit } => write!(f, "the chain is limited to {limit} bytes"),
            Self::WouldWait { charge } => {
                write!(f, "max_outstanding_bytes has no room now for {charge} more bytes of chunks")
            }
        }
    }
}

impl std::error::Error for ChainError {}

/// An `io::Error` that wraps the `ChainError`, for `io::Write` and reads
/// into a chain: of kind `FileTooLarge` for the chain's limit, `WouldBlock`
/// for the pool's.
impl From<ChainError> for std::io::Error {
    fn from(err: ChainError) -> Self {
        let kind = match err {
            ChainError::LimitExceeded { .. } => std::io::ErrorKind::FileTooLarge,
            ChainError::WouldWait { .. } => std::io::ErrorKind::WouldBlock,
        };
        std::io::Error::new(kind, err)
    }
}
