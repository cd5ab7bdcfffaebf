//! The process-wide pool: [`global`] and the free function [`get`].

use std::sync::OnceLock;

use crate::guard::PooledBuf;
use crate::pool::BufPool;

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
    GLOBAL.get_or_init(BufPool::new)
}

static GLOBAL: OnceLock<BufPool> = OnceLock::new();

/// Makes `pool` the process-wide pool of [`global`] and [`get`], if neither
/// has been used yet: for a program with its own tiers, or a test binary
/// that wants [`Builder::track_callers`](crate::Builder::track_callers) on
/// the global pool too.
///
/// # Errors
///
/// Gives `pool` back if the global pool exists already (it is built on the
/// first use of [`global`] or [`get`]).
///
/// # Examples
///
/// ```
/// let pool = tierpool::BufPool::builder().tiers(&[256, 8192]).build()?;
/// assert!(tierpool::set_global(pool).is_ok());
/// assert_eq!(tierpool::get(100).capacity(), 256);
/// let again = tierpool::BufPool::new();
/// assert!(tierpool::set_global(again).is_err(), "set once");
/// # Ok::<(), tierpool::ConfigError>(())
/// ```
pub fn set_global(pool: BufPool) -> Result<(), BufPool> {
    GLOBAL.set(pool)
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
