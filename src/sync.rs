//! The synchronisation primitives tierpool uses, in one place.
//!
//! Everything concurrent in the crate imports from here, never from `std`
//! directly, so that a model checker can be swapped in at a single point
//! (sharded-slab's `sync` module is the pattern).

pub(crate) use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
pub(crate) use std::sync::{Arc, Mutex, MutexGuard, Weak};
