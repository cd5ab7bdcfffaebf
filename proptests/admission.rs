//! Property test: under `max_outstanding_bytes`, random gets, acquires,
//! waits, cancellations and returns, on this thread and others, keep the
//! limit's contract. Futures are polled by hand with a waker that does
//! nothing, so nothing here depends on a scheduler.
//!
//! After every step:
//! - `outstanding_bytes` is the sum of the capacities of what is out (each
//!   counted at the capacity it was handed out with);
//! - it exceeds the limit only by what `get` forced past it;
//! - a waiting future that becomes ready is the oldest one waiting (first
//!   come, first served);
//! - with nobody waiting, a `try_acquire` that fits under the limit is
//!   granted.
//!
//! At the end, with everything returned, every waiting future is served in
//! turn, and the pool owes nothing.
//!
//! Run: `cargo test --test admission_model` (`PROPTEST_CASES=10000` for more).

#[path = "support.rs"]
mod support;

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use proptest::prelude::*;
use tierpool::{AcquireError, BufPool, PooledBuf};

#[derive(Debug, Clone)]
enum Op {
    /// `get`: never waits, may go past the limit.
    Get(usize),
    /// `try_acquire`.
    TryAcquire(usize),
    /// `acquire`, polled once: granted, or waiting.
    Acquire(usize),
    /// Poll every waiting future, oldest first.
    PollAll,
    /// Drop waiting future `index` (cancel).
    Cancel(usize),
    /// Return guard `index` here.
    Drop(usize),
    /// Return guard `index` on another thread, which also takes and returns
    /// buffers of its own.
    DropElsewhere {
        index: usize,
        churn: usize,
    },
    /// `into_shared` then drop, or `detach`.
    Share(usize),
    Detach(usize),
    /// Write past the guard's capacity (it reallocates; the charge stays).
    Grow(usize),
    Trim,
}

const TIERS: [usize; 2] = [4096, 65536];
const LIMIT: usize = 256 * 1024;

fn op() -> impl Strategy<Value = Op> {
    let size = prop_oneof![
        proptest::sample::select(vec![0, 4096, 4097, 65536, 65537, 200_000, LIMIT, LIMIT + 1]),
        0usize..300_000
    ];
    prop_oneof![
        2 => size.clone().prop_map(Op::Get),
        3 => size.clone().prop_map(Op::TryAcquire),
        4 => size.prop_map(Op::Acquire),
        3 => Just(Op::PollAll),
        2 => any::<usize>().prop_map(Op::Cancel),
        4 => any::<usize>().prop_map(Op::Drop),
        1 => (any::<usize>(), 0usize..8).prop_map(|(index, churn)| Op::DropElsewhere { index, churn }),
        1 => any::<usize>().prop_map(Op::Share),
        1 => any::<usize>().prop_map(Op::Detach),
        1 => any::<usize>().prop_map(Op::Grow),
        1 => Just(Op::Trim),
    ]
}

type Waiting = Pin<Box<dyn Future<Output = Result<PooledBuf<'static>, AcquireError>> + Send>>;

fn poll(future: &mut Waiting) -> Poll<Result<PooledBuf<'static>, AcquireError>> {
    future.as_mut().poll(&mut Context::from_waker(Waker::noop()))
}

/// What is out, each with the capacity it was handed out with, and whether
/// `get` forced it.
struct Out {
    guards: Vec<(PooledBuf<'static>, usize)>,
}

impl Out {
    fn charged(&self) -> usize {
        self.guards.iter().map(|(_, charge)| charge).sum()
    }

    fn push(&mut self, buf: PooledBuf<'static>) {
        let charge = buf.capacity();
        self.guards.push((buf, charge));
    }

    fn take(&mut self, index: usize) -> Option<PooledBuf<'static>> {
        (!self.guards.is_empty()).then(|| self.guards.swap_remove(index % self.guards.len()).0)
    }
}

/// A request was just granted at once: so nobody who asked before it still
/// waits (the room they waited for was theirs first, even if they have not
/// been polled since).
fn earlier_were_served(waiting: &mut VecDeque<(Waiting, usize)>, out: &mut Out) -> Result<(), TestCaseError> {
    for (mut future, _) in waiting.drain(..) {
        match poll(&mut future) {
            Poll::Ready(Ok(buf)) => out.push(buf),
            _ => prop_assert!(false, "a later request was granted while an earlier one still waits"),
        }
    }
    Ok(())
}

/// What a request of `n` bytes is charged up front.
fn charge_for(n: usize) -> usize {
    TIERS.iter().copied().find(|&size| size >= n).unwrap_or(n)
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let pool = Arc::new(
        BufPool::builder()
            .tiers(&TIERS)
            .thread_cache(&[4, 2])
            .global_queue(&[8, 4])
            .max_outstanding_bytes(LIMIT)
            .build()
            .unwrap(),
    );
    let mut out = Out { guards: Vec::new() };
    // Oldest first.
    let mut waiting: VecDeque<(Waiting, usize)> = VecDeque::new();
    for op in ops {
        match op {
            Op::Get(n) => out.push(pool.get_owned(n)),
            Op::TryAcquire(n) => {
                let a = pool.stats().admission.unwrap();
                let fits = a.outstanding_bytes + charge_for(n) <= LIMIT;
                match pool.try_acquire_owned(n) {
                    Ok(buf) => {
                        out.push(buf);
                        earlier_were_served(&mut waiting, &mut out)?;
                    }
                    Err(AcquireError::AboveLimit { charge, .. }) => prop_assert!(charge > LIMIT),
                    Err(AcquireError::WouldWait { charge }) => {
                        prop_assert_eq!(charge, charge_for(n));
                        prop_assert!(
                            !(waiting.is_empty() && fits),
                            "refused {charge} with nobody waiting and {} of {LIMIT} out",
                            a.outstanding_bytes
                        );
                    }
                    Err(err) => prop_assert!(false, "{err}"),
                }
            }
            Op::Acquire(n) => {
                let mut future: Waiting = Box::pin(pool.acquire_owned(n));
                match poll(&mut future) {
                    Poll::Ready(Ok(buf)) => {
                        out.push(buf);
                        earlier_were_served(&mut waiting, &mut out)?;
                    }
                    Poll::Ready(Err(AcquireError::AboveLimit { charge, .. })) => prop_assert!(charge > LIMIT),
                    Poll::Ready(Err(err)) => prop_assert!(false, "{err}"),
                    Poll::Pending => waiting.push_back((future, n)),
                }
            }
            Op::PollAll => {
                let mut still = VecDeque::new();
                for (mut future, n) in waiting.drain(..) {
                    match poll(&mut future) {
                        Poll::Ready(Ok(buf)) => {
                            prop_assert!(still.is_empty(), "a later waiter was served before an earlier one");
                            prop_assert!(buf.capacity() >= n);
                            out.push(buf);
                        }
                        Poll::Ready(Err(err)) => prop_assert!(false, "{err}"),
                        Poll::Pending => still.push_back((future, n)),
                    }
                }
                waiting = still;
            }
            Op::Cancel(index) if !waiting.is_empty() => {
                let at = index % waiting.len();
                drop(waiting.remove(at));
            }
            Op::Drop(index) => drop(out.take(index)),
            Op::DropElsewhere { index, churn } => {
                if let Some(buf) = out.take(index) {
                    let remote = Arc::clone(&pool);
                    std::thread::spawn(move || {
                        let own: Vec<_> = (0..churn).map(|i| remote.get(TIERS[i % 2])).collect();
                        drop(buf);
                        drop(own);
                    })
                    .join()
                    .unwrap();
                }
            }
            Op::Share(index) => drop(out.take(index).map(PooledBuf::into_shared)),
            Op::Detach(index) => drop(out.take(index).map(PooledBuf::detach)),
            Op::Grow(index) if !out.guards.is_empty() => {
                let at = index % out.guards.len();
                let buf = &mut out.guards[at].0;
                let more = buf.capacity() - buf.len() + 1;
                buf.extend(std::iter::repeat_n(1u8, more));
            }
            Op::Trim => {
                pool.trim();
            }
            _ => {}
        }
        let a = pool.stats().admission.unwrap();
        prop_assert_eq!(a.outstanding_bytes, out.charged(), "{:?}", a);
        prop_assert!(a.outstanding_bytes <= LIMIT + a.overdrawn_bytes, "{:?}", a);
        prop_assert_eq!(a.waiting, waiting.len());
        if let Err(broken) = pool.stats().check() {
            prop_assert!(false, "{}", broken);
        }
    }
    // Everything back: each waiter is served in turn.
    drop(out.guards);
    while let Some((mut future, n)) = waiting.pop_front() {
        match poll(&mut future) {
            Poll::Ready(Ok(buf)) => prop_assert!(buf.capacity() >= n),
            other => prop_assert!(false, "the oldest waiter, alone, was not served: {:?}", other.map(|r| r.err())),
        }
    }
    let a = pool.stats().admission.unwrap();
    prop_assert_eq!((a.outstanding_bytes, a.overdrawn_bytes, a.waiting), (0, 0, 0), "{:?}", a);
    prop_assert!(a.reserved_bytes <= LIMIT / 32, "one thread's room at most: {:?}", a);
    Ok(())
}

const CASES: u32 = if cfg!(miri) { 4 } else { 500 };
const MAX_STEPS: usize = if cfg!(miri) { 12 } else { 48 };

proptest! {
    #![proptest_config(support::config(CASES, "proptests/regressions/admission.txt"))]

    #[test]
    fn the_limit_holds_and_waiters_are_served_in_order(ops in proptest::collection::vec(op(), 1..MAX_STEPS)) {
        run(ops)?;
    }
}
