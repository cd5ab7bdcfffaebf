//! Property tests: random sequences of pool operations against a reference
//! model of what must hold after every step.
//!
//! Run: `cargo test --test model` (`PROPTEST_CASES=10000` for more cases).

use bytes::Bytes;
use proptest::prelude::*;
use tierpool::{BufPool, PooledBuf};

/// One step of a test case.
#[derive(Debug, Clone)]
enum Op {
    /// Get a buffer of this size and keep it.
    Get(usize),
    /// Write `len` bytes into live guard `index` (modulo the live count).
    Write { index: usize, len: usize },
    /// Freeze (copy out) live guard `index`.
    Freeze(usize),
    /// Drop live guard `index`.
    Drop(usize),
    /// Release what the pool retains.
    Trim,
}

const TIERS: [usize; 3] = [256, 4096, 16384];

fn size() -> impl Strategy<Value = usize> {
    let edges: Vec<usize> = TIERS.iter().flat_map(|&t| [t - 1, t, t + 1]).chain([0, 1, 20_000]).collect();
    prop_oneof![proptest::sample::select(edges), 0usize..20_000]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => size().prop_map(Op::Get),
        3 => (any::<usize>(), 0usize..40_000).prop_map(|(index, len)| Op::Write { index, len }),
        1 => any::<usize>().prop_map(Op::Freeze),
        2 => any::<usize>().prop_map(Op::Drop),
        1 => Just(Op::Trim),
    ]
}

/// A live guard and the pattern its owner wrote.
struct Live<'a> {
    buf: PooledBuf<'a>,
    stamp: u8,
}

fn disjoint(a: &PooledBuf<'_>, b: &[u8]) -> bool {
    let (a, b) = (a.as_ptr_range(), b.as_ptr_range());
    a.start == a.end || b.start == b.end || a.end <= b.start || b.end <= a.start
}

fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
    let pool = BufPool::builder().tiers(&TIERS).thread_cache(&[4, 2, 1]).global_queue(&[8, 4, 2]).build().unwrap();
    let mut live: Vec<Live<'_>> = Vec::new();
    let mut frozen: Vec<(Bytes, u8)> = Vec::new();
    let mut gets = 0u64;
    let mut stamp = 0u8;
    for op in ops {
        match op {
            Op::Get(n) => {
                let buf = pool.get(n);
                prop_assert_eq!(buf.len(), 0, "a new buffer is empty");
                prop_assert!(buf.capacity() >= n);
                gets += 1;
                stamp = stamp.wrapping_add(1);
                live.push(Live { buf, stamp });
            }
            Op::Write { index, len } if !live.is_empty() => {
                let at = index % live.len();
                let l = &mut live[at];
                let fill = len - len.min(l.buf.len());
                l.buf.extend(std::iter::repeat_n(l.stamp, fill));
            }
            Op::Freeze(index) if !live.is_empty() => {
                let l = live.swap_remove(index % live.len());
                let b = l.buf.freeze();
                prop_assert!(b.iter().all(|&x| x == l.stamp));
                frozen.push((b, l.stamp));
            }
            Op::Drop(index) if !live.is_empty() => {
                drop(live.swap_remove(index % live.len()));
            }
            Op::Trim => {
                pool.trim();
            }
            _ => {}
        }
        // Invariants after every step.
        for (i, a) in live.iter().enumerate() {
            prop_assert!(a.buf.iter().all(|&x| x == a.stamp), "a live buffer was written by someone else");
            for b in &live[i + 1..] {
                prop_assert!(disjoint(&a.buf, &b.buf), "two live guards share memory");
            }
            for (f, _) in &frozen {
                prop_assert!(disjoint(&a.buf, f), "a live guard aliases a frozen Bytes");
            }
        }
        for (f, s) in &frozen {
            prop_assert!(f.iter().all(|x| x == s), "a frozen Bytes changed after later pool activity");
        }
        let stats = pool.stats();
        prop_assert_eq!(stats.gets(), gets);
        prop_assert_eq!(stats.outstanding, live.len() as u64);
        for t in &stats.tiers {
            prop_assert_eq!(t.gets, t.cache_hits + t.global_hits + t.misses);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn random_operation_sequences_keep_every_invariant(ops in proptest::collection::vec(op(), 1..60)) {
        run(ops)?;
    }
}
