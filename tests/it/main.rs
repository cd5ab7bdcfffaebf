//! Integration tests: one binary, one module per public behaviour area.

#[path = "../../proptests/support.rs"]
mod support;

mod chain;
// Real sockets: Miri cannot run them.
#[cfg(not(miri))]
mod codec;
mod config;
mod debug;
mod freeze;
mod get;
mod memory;
mod put;
// Real sockets, and the `tokio` feature's helpers.
#[cfg(all(feature = "tokio", not(miri)))]
mod ready;
mod returns;
#[cfg(not(miri))]
mod stack;
mod threads;
mod traits;

/// A pool with the default tiers whose caches are private to the test.
pub(crate) fn pool() -> tierpool::BufPool {
    tierpool::BufPool::new()
}
