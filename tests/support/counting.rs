//! The counting global allocator that every test, bench and example of
//! tierpool shares, by `#[path]`. It forwards each call to another allocator
//! and keeps, per process:
//!
//! - allocations and deallocations made (a reallocation counts as one of
//!   each), and the bytes they asked for;
//! - live heap bytes, and their peak: what a memory claim is checked against;
//! - optionally, an [`Observer`] that sees every block, for checks such as
//!   `tests/zero_alloc.rs`'s size ledger.
//!
//! [`Counting::new`] counts always. [`Counting::windowed`] counts only inside
//! [`count`], so timed loops outside it pay one relaxed load of a read-mostly
//! flag and nothing shared (benches).
#![allow(dead_code, unsafe_code, unreachable_pub)] // each user takes a subset

use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed, Ordering::SeqCst};

/// Sees every block the allocator hands out or takes back. It runs inside
/// the allocator, so it must not allocate, and must not panic.
pub trait Observer: Sync {
    fn allocated(&self, addr: usize, size: usize);
    fn freed(&self, addr: usize, size: usize);
}

/// A global allocator that forwards to `A` and counts.
pub struct Counting<A: 'static> {
    inner: A,
    windowed: bool,
    observer: Option<&'static dyn Observer>,
}

impl<A> Counting<A> {
    /// Counts every call, always.
    pub const fn new(inner: A) -> Self {
        Self { inner, windowed: false, observer: None }
    }

    /// Counts only while [`count`] runs.
    pub const fn windowed(inner: A) -> Self {
        Self { inner, windowed: true, observer: None }
    }

    /// Counts every call, always, and shows every block to `observer`.
    pub const fn observed(inner: A, observer: &'static dyn Observer) -> Self {
        Self { inner, windowed: false, observer: Some(observer) }
    }

    #[inline]
    fn on(&self) -> bool {
        !self.windowed || WINDOW.load(Relaxed)
    }

    #[inline]
    fn allocated(&self, ptr: *mut u8, size: usize) -> *mut u8 {
        if !ptr.is_null() {
            if let Some(o) = self.observer {
                o.allocated(ptr.addr(), size);
            }
            if self.on() {
                ALLOCS.fetch_add(1, Relaxed);
                BYTES.fetch_add(size as u64, Relaxed);
                let live = LIVE.fetch_add(size, Relaxed) + size;
                PEAK.fetch_max(live, Relaxed);
            }
        }
        ptr
    }

    #[inline]
    fn freed(&self, ptr: *mut u8, size: usize) {
        if let Some(o) = self.observer {
            o.freed(ptr.addr(), size);
        }
        if self.on() {
            DEALLOCS.fetch_add(1, Relaxed);
            LIVE.fetch_sub(size, Relaxed);
        }
    }
}

static WINDOW: AtomicBool = AtomicBool::new(false);
static ALLOCS: AtomicU64 = AtomicU64::new(0);
static DEALLOCS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY:
// - Every method forwards to `A` with the caller's arguments unchanged, so
//   `A`'s guarantees are ours.
// - Counting touches only static atomics, and the observer must neither
//   allocate nor unwind.
unsafe impl<A: GlobalAlloc> GlobalAlloc for Counting<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `alloc`'s contract.
        self.allocated(unsafe { self.inner.alloc(layout) }, layout.size())
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `alloc_zeroed`'s contract.
        self.allocated(unsafe { self.inner.alloc_zeroed(layout) }, layout.size())
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        self.freed(ptr, layout.size());
        // SAFETY: forwarded unchanged; the caller upholds `dealloc`'s contract.
        unsafe { self.inner.dealloc(ptr, layout) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `realloc`'s contract.
        let new = unsafe { self.inner.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            self.freed(ptr, layout.size());
            self.allocated(new, new_size);
        }
        new
    }
}

/// What the allocator counted, process-wide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub allocs: u64,
    pub deallocs: u64,
    /// Bytes the allocations asked for.
    pub bytes: u64,
}

impl Counts {
    pub fn now() -> Self {
        Self { allocs: ALLOCS.load(SeqCst), deallocs: DEALLOCS.load(SeqCst), bytes: BYTES.load(SeqCst) }
    }

    /// What was counted since `self`.
    pub fn since(self) -> Self {
        let now = Self::now();
        Self { allocs: now.allocs - self.allocs, deallocs: now.deallocs - self.deallocs, bytes: now.bytes - self.bytes }
    }
}

/// Runs `f` and returns what the allocator counted meanwhile, on every
/// thread. Opens the window of a [`Counting::windowed`] allocator.
pub fn count<R>(f: impl FnOnce() -> R) -> (Counts, R) {
    let before = Counts::now();
    WINDOW.store(true, SeqCst);
    let r = f();
    WINDOW.store(false, SeqCst);
    (before.since(), r)
}

/// Live heap bytes now.
pub fn live() -> usize {
    LIVE.load(SeqCst)
}

/// The most live heap bytes since the last [`reset_peak`].
pub fn peak() -> usize {
    PEAK.load(SeqCst)
}

/// Starts a new peak from the live bytes now.
pub fn reset_peak() {
    PEAK.store(LIVE.load(SeqCst), SeqCst);
}
