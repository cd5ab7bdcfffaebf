//! Loom models of the protocols the crate owns, run with
//! `RUSTFLAGS="--cfg tierpool_loom" cargo test --release --lib loom` (`.ci/deep.sh`).
//!
//! Under `--cfg tierpool_loom`, `sync.rs` swaps in loom's atomics, so loom explores
//! every interleaving of the depot's, the budget's, the stamp's
//! (`decay::Generations`) and the admission's own atomic steps.
//! `tokio::sync::Semaphore`, behind admission's waiting, is a black box too:
//! its order of waiters, cancellation and wake-ups are tokio's, checked by
//! tokio's own loom models; the models here check the hand-over of the
//! threads' room to a waiter, and the debt of forced charges, around it.
//! `crossbeam_queue::ArrayQueue` is a black box to it (std atomics inside):
//! each push or pop is one indivisible step, which is what crossbeam
//! promises (a linearisable queue).

use loom::thread;

use crate::admission::{Admission, Allowance, Pay, Waiting};
use crate::budget::{Budget, Credit};
use crate::buffer::{Pooled, allocate};
use crate::decay::Generations;
use crate::depot::Depot;
use crate::sync::Arc;

fn bufs(n: usize, capacity: usize) -> Vec<Pooled> {
    (0..n).map(|_| allocate(capacity, false).unwrap()).collect()
}

/// Two threads spill batches of 2 into a depot with room for 3: the limit
/// holds at every step, and each buffer is either kept or dropped as full,
/// once.
#[test]
fn loom_depot_spills_race_with_the_limit() {
    loom::model(|| {
        let depot = Arc::new(Depot::new(3, 2, 2, 8));
        let other = {
            let depot = Arc::clone(&depot);
            thread::spawn(move || depot.push_batch(bufs(2, 8).into_iter()).0)
        };
        let here = depot.push_batch(bufs(2, 8).into_iter()).0;
        assert!(depot.level().0 <= 3, "the limit holds at every step");
        let dropped = here + other.join().unwrap();
        let (kept, bytes) = depot.level();
        assert_eq!((kept, dropped), (3, 1), "3 fit, 1 of the 4 is dropped");
        assert_eq!(bytes, kept * 8, "the byte count matches the buffers held");
    });
}

/// A spill and a refill race on a depot: each buffer is either in the depot
/// or taken, once, and the counts match what the depot holds.
#[test]
fn loom_depot_spill_races_with_a_refill() {
    loom::model(|| {
        let depot = Arc::new(Depot::new(4, 2, 2, 8));
        depot.push_batch(bufs(2, 8).into_iter());
        let taker = {
            let depot = Arc::clone(&depot);
            thread::spawn(move || depot.pop_batch(|b, _| b.count()).unwrap_or(0))
        };
        let dropped = depot.push_batch(bufs(2, 8).into_iter()).0;
        let taken = taker.join().unwrap();
        let (kept, bytes) = depot.level();
        assert_eq!(dropped, 0, "4 fit");
        assert_eq!((taken, kept + taken), (2, 4), "one batch taken, every buffer once");
        assert_eq!(bytes, kept * 8);
        assert_eq!(depot.drain(), (kept as u64, kept * 8));
    });
}

/// Threads reserve and refund against one budget through their own credit:
/// `available + Σ credit + held == limit` once they are done, and no thread
/// ever holds more than the limit allows.
#[test]
fn loom_budget_reserve_and_refund_keep_the_identity() {
    loom::model(|| {
        const LIMIT: usize = 256; // batch = 4
        let budget = Arc::new(Budget::new(LIMIT));
        let threads: Vec<_> = [[100, 100, 60], [120, 50, 0]]
            .into_iter()
            .map(|costs: [usize; 3]| {
                let budget = Arc::clone(&budget);
                thread::spawn(move || {
                    let mut credit = Credit::default();
                    let mut held = 0;
                    for cost in costs.into_iter().filter(|&c| c > 0) {
                        if credit.spend(&budget, cost) {
                            held += cost;
                        }
                    }
                    assert!(held <= LIMIT);
                    // Give the first buffer back, as a get would.
                    if held >= 100 {
                        credit.refund(&budget, 100);
                        held -= 100;
                    }
                    (held, credit.bytes())
                })
            })
            .collect();
        let (held, credit) = threads.into_iter().map(|t| t.join().unwrap()).fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
        assert_eq!(budget.available() + credit + held, LIMIT, "available + credit + held == limit");
        assert!(held <= LIMIT);
    });
}

/// A `trim` and a decay tick race with a thread cache catching up. Once
/// both are done, a cache that kept the current stamp (so its fast paths
/// run without catching up again) has seen the trim. With the stamp stored
/// instead of swapped, the tick's stamp can come last while its epochs
/// change came before the trim's, and the cache keeps the newest stamp with
/// the trim unseen.
#[test]
fn loom_a_cache_with_the_newest_stamp_has_seen_every_trim() {
    loom::model(|| {
        let gens = Arc::new(Generations::new());
        let (_, before) = gens.now();
        let trim = {
            let gens = Arc::clone(&gens);
            thread::spawn(move || gens.next_trim())
        };
        let tick = {
            let gens = Arc::clone(&gens);
            thread::spawn(move || gens.next_epoch())
        };
        let (stamp, seen) = gens.now();
        trim.join().unwrap();
        tick.join().unwrap();
        if gens.stamp() == stamp {
            assert!(before.trimmed_since(seen), "the newest stamp, kept without the trim before it");
        }
    });
}

/// A thread takes room for a get, then returns the buffer, while a future
/// starts to wait and takes back every thread's room: whichever goes first,
/// no room stays with the thread while someone waits, so the waiter can
/// have the whole limit.
#[test]
fn loom_admission_room_goes_to_a_waiter() {
    loom::model(|| {
        let admission = Arc::new(Admission::new(4 * 64)); // batches of 4 bytes
        let room = Arc::new(Allowance::default());
        let owner = {
            let (admission, room) = (Arc::clone(&admission), Arc::clone(&room));
            thread::spawn(move || {
                assert!(room.charge(&admission, 2, Pay::Force));
                room.settle(&admission, 2);
            })
        };
        let waiting = Waiting::start(&admission);
        room.release_all(&admission);
        owner.join().unwrap();
        assert_eq!(room.bytes(), 0, "no room stays with a thread while someone waits");
        let s = admission.snapshot();
        assert_eq!((s.available, s.debt), (admission.limit(), 0), "the waiter can have the whole limit");
        drop(waiting);
    });
}

/// A forced charge past the limit races a return on another thread: the
/// debt is repaid before any room is kept, and once both buffers are back
/// the limit is whole again, owed to nobody.
#[test]
fn loom_admission_forced_charges_are_repaid() {
    loom::model(|| {
        let admission = Arc::new(Admission::new(8));
        let (here, there) = (Allowance::default(), Arc::new(Allowance::default()));
        assert!(here.charge(&admission, 6, Pay::Try));
        let other = {
            let (admission, there) = (Arc::clone(&admission), Arc::clone(&there));
            thread::spawn(move || {
                assert!(there.charge(&admission, 4, Pay::Force)); // 2 of room, 2 owed
                there.settle(&admission, 4);
            })
        };
        here.settle(&admission, 6);
        other.join().unwrap();
        here.release_all(&admission);
        there.release_all(&admission);
        let s = admission.snapshot();
        assert_eq!((s.available, s.debt), (8, 0), "{s:?}");
        assert!(s.overdrafts <= 1);
    });
}
