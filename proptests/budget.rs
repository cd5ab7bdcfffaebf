//! Property test: under a byte budget, random operations on several threads
//! never make the pool retain more than the budget.
//!
//! Run: `cargo test --test budget_model` (`PROPTEST_CASES=10000` for more).

#[path = "support.rs"]
mod support;

use std::sync::Arc;

use proptest::prelude::*;
use tierpool::BufPool;

#[derive(Debug, Clone)]
enum Op {
    /// Get a buffer on this thread and keep it.
    Get(usize),
    /// Grow live guard `index` by `len` bytes.
    Grow { index: usize, len: usize },
    /// Drop live guard `index` here.
    Drop(usize),
    /// Move live guard `index` to a new thread, which may also get and drop
    /// buffers of its own, and drop it there.
    DropElsewhere { index: usize, churn: usize },
    /// Release what the pool retains.
    Trim,
    /// Warm a tier.
    Prefill { size: usize, count: usize },
}

const TIERS: [usize; 3] = [1024, 8192, 65536];

fn op() -> impl Strategy<Value = Op> {
    let size = prop_oneof![proptest::sample::select(vec![0, 1023, 1024, 1025, 8192, 65536, 70_000]), 0usize..70_000];
    prop_oneof![
        4 => size.clone().prop_map(Op::Get),
        2 => (any::<usize>(), 0usize..20_000).prop_map(|(index, len)| Op::Grow { index, len }),
        3 => any::<usize>().prop_map(Op::Drop),
        2 => (any::<usize>(), 0usize..20).prop_map(|(index, churn)| Op::DropElsewhere { index, churn }),
        1 => Just(Op::Trim),
        1 => (size, 0usize..20).prop_map(|(size, count)| Op::Prefill { size, count }),
    ]
}

fn run(budget: usize, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let pool = Arc::new(
        BufPool::builder()
            .tiers(&TIERS)
            .thread_cache(&[8, 4, 2])
            .global_queue(&[16, 8, 4])
            .max_retained_bytes(budget)
            .build()
            .unwrap(),
    );
    let mut live = Vec::new();
    for op in ops {
        match op {
            Op::Get(n) => live.push(pool.get_owned(n)),
            Op::Grow { index, len } if !live.is_empty() => {
                let at = index % live.len();
                live[at].extend(std::iter::repeat_n(7u8, len));
            }
            Op::Drop(index) if !live.is_empty() => drop(live.swap_remove(index % live.len())),
            Op::DropElsewhere { index, churn } if !live.is_empty() => {
                let buf = live.swap_remove(index % live.len());
                let remote = Arc::clone(&pool);
                std::thread::spawn(move || {
                    let own: Vec<_> = (0..churn).map(|i| remote.get(TIERS[i % 3])).collect();
                    drop(buf);
                    drop(own);
                })
                .join()
                .unwrap();
            }
            Op::Trim => {
                pool.trim();
            }
            Op::Prefill { size, count } => {
                pool.prefill(size, count);
            }
            _ => {}
        }
        let stats = pool.stats();
        prop_assert!(stats.retained_bytes() <= budget as u64, "retained {} > budget {budget}", stats.retained_bytes());
        prop_assert_eq!(stats.outstanding, live.len() as u64);
    }
    drop(live);
    pool.trim();
    prop_assert_eq!(pool.stats().retained_bytes(), 0, "trim reaches everything after the threads exited");
    Ok(())
}

const CASES: u32 = if cfg!(miri) { 4 } else { 1000 };
const MAX_STEPS: usize = if cfg!(miri) { 12 } else { 40 };

proptest! {
    #![proptest_config(support::config(CASES, "proptests/regressions/budget.txt"))]

    #[test]
    fn retained_bytes_never_exceed_the_budget(budget in 1024usize..300_000, ops in proptest::collection::vec(op(), 1..MAX_STEPS)) {
        run(budget, ops)?;
    }
}
