//! The synchronisation primitives tierpool uses, in one place.
//!
//! Every module imports its atomics and locks from here, never from `std`
//! directly, so that `--cfg tierpool_loom` swaps in loom's for the protocols the crate
//! owns: the depot's limit and counters, the budget, admission's room and
//! debt, the decay clock and epochs, the stats counters. Run the models with
//! `RUSTFLAGS="--cfg tierpool_loom" cargo test --release --lib loom` (`.ci/deep.sh`).
//!
//! Not modelled, and taken from `std` in both arms: reference counts
//! (`Arc`, `Weak`: loom has no `Weak`), and process-wide statics (loom's
//! atomics cannot be built in a `const`). `crossbeam_queue::ArrayQueue` and
//! `thread_local::ThreadLocal` (and `tokio::sync::Semaphore`) use `std`'s atomics inside: under loom they
//! are linearisable black boxes, and the models check the protocols around
//! them.

#[cfg(not(tierpool_loom))]
pub(crate) use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

#[cfg(tierpool_loom)]
pub(crate) use loom::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

pub(crate) use std::sync::{Arc, Weak};

/// Atomics for `static`s, which are never modelled.
pub(crate) mod statics {
    pub(crate) use std::sync::Mutex;
    pub(crate) use std::sync::atomic::AtomicU64;
}
