//! The weighted async semaphores `Builder::max_outstanding_bytes` could wait
//! on, in the two ways it uses one:
//!
//! - `batch`: take `n` permits without waiting and give them back (what a
//!   thread does when it takes or returns a batch of room);
//! - `wait`: a waiter for `n` queued behind a holder, then granted when the
//!   holder gives its permits back, on one thread with a no-op waker (what
//!   `acquire` does when it waits): the queueing, the hand-over and the
//!   wake-up.
//!
//! Usage: `semaphores <tokio|intrusive> <batch|wait> <iterations>`;
//! `scripts/callgrind.sh`-style instruction counts come from running it
//! under callgrind at two iteration counts. Without a count it times each
//! pair in interleaved rounds and prints medians.

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

const N: usize = 65536;

fn tokio_batch(sem: &tokio::sync::Semaphore, iters: u64) {
    for _ in 0..iters {
        sem.try_acquire_many(black_box(N as u32)).expect("room").forget();
        sem.add_permits(black_box(N));
    }
}

fn intrusive_batch(sem: &futures_intrusive::sync::Semaphore, iters: u64) {
    for _ in 0..iters {
        let mut permit = sem.try_acquire(black_box(N)).expect("room");
        permit.disarm();
        sem.release(black_box(N));
    }
}

fn tokio_wait(sem: &tokio::sync::Semaphore, iters: u64) {
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..iters {
        sem.try_acquire_many(N as u32).expect("room").forget(); // the holder
        let mut waiter = pin!(sem.acquire_many(black_box(N as u32)));
        assert!(waiter.as_mut().poll(&mut cx).is_pending());
        sem.add_permits(N); // the holder gives back: the waiter is granted
        let Poll::Ready(Ok(permit)) = waiter.as_mut().poll(&mut cx) else { panic!("granted") };
        drop(permit); // and gives back in turn
    }
}

fn intrusive_wait(sem: &futures_intrusive::sync::Semaphore, iters: u64) {
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..iters {
        sem.try_acquire(N).expect("room").disarm();
        let mut waiter = pin!(sem.acquire(black_box(N)));
        assert!(waiter.as_mut().poll(&mut cx).is_pending());
        sem.release(N);
        let Poll::Ready(permit) = waiter.as_mut().poll(&mut cx) else { panic!("granted") };
        drop(permit);
    }
}

fn run(which: &str, how: &str, iters: u64) {
    // Fair (FIFO) for futures-intrusive, as tokio's always is.
    let tokio = tokio::sync::Semaphore::new(N);
    let intrusive = futures_intrusive::sync::Semaphore::new(true, N);
    match (which, how) {
        ("tokio", "batch") => tokio_batch(&tokio, iters),
        ("tokio", "wait") => tokio_wait(&tokio, iters),
        ("intrusive", "batch") => intrusive_batch(&intrusive, iters),
        ("intrusive", "wait") => intrusive_wait(&intrusive, iters),
        _ => panic!("usage: semaphores <tokio|intrusive> <batch|wait> [iterations]"),
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let [_, which, how, iters] = &args[..] {
        return run(which, how, iters.parse().expect("iterations"));
    }
    const ITERS: u64 = 1_000_000;
    const ROUNDS: usize = 11;
    for how in ["batch", "wait"] {
        let mut times = [Vec::new(), Vec::new()];
        for round in 0..ROUNDS {
            let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
            for i in order {
                let start = Instant::now();
                run(["tokio", "intrusive"][i], how, ITERS);
                times[i].push(start.elapsed().as_nanos() as f64 / ITERS as f64);
            }
        }
        for (i, name) in ["tokio", "futures-intrusive"].iter().enumerate() {
            times[i].sort_by(f64::total_cmp);
            let t = &times[i];
            println!("{how:5} {name:18} median {:6.1} ns  (range {:.1}–{:.1})", t[ROUNDS / 2], t[0], t[ROUNDS - 1]);
        }
    }
}
