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
    static GLOBAL: OnceLock<BufPool> = OnceLock::new();
    GLOBAL.get_or_init(BufPool::new)
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
