//! Shared by the examples: the counting global allocator of the tests
//! (`tests/support/counting.rs`), so an example can print what the pool
//! saved, and a byte formatter. Not an example itself (Cargo only picks up
//! `examples/*.rs` and `examples/*/main.rs`).

#![allow(dead_code, unused_imports)] // each example takes a subset

#[path = "../../tests/support/counting.rs"]
mod counting;

pub use counting::{Counting, Counts, live};

/// `1.5 MiB`, `64 KiB`, `300 B`.
pub fn human(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64),
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}

/// Runs `a` and `b` in `rounds` interleaved rounds (alternating which goes
/// first), each returning its own measure (time per op, say), and prints a
/// progress line for a phase that runs longer than about 2 s.
pub fn interleave(
    label: &str,
    rounds: usize,
    mut a: impl FnMut() -> f64,
    mut b: impl FnMut() -> f64,
) -> (Vec<f64>, Vec<f64>) {
    let start = std::time::Instant::now();
    let mut next_note = std::time::Duration::from_secs(2);
    let (mut xs, mut ys) = (Vec::with_capacity(rounds), Vec::with_capacity(rounds));
    for round in 0..rounds {
        if round % 2 == 0 {
            xs.push(a());
            ys.push(b());
        } else {
            ys.push(b());
            xs.push(a());
        }
        if start.elapsed() >= next_note && round + 1 < rounds {
            println!("    {label}: round {} of {rounds}...", round + 1);
            next_note = start.elapsed() + std::time::Duration::from_secs(2);
        }
    }
    (xs, ys)
}

/// The median, and the range, of `xs`.
pub fn spread(xs: &[f64]) -> (f64, f64, f64) {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    (v[v.len() / 2], v[0], v[v.len() - 1])
}

/// How `pooled` compares with `unpooled` (lower is better): a ratio of
/// medians when the ranges do not overlap, "within noise" when they do.
pub fn verdict(unpooled: &[f64], pooled: &[f64]) -> String {
    let ((mu, lu, hu), (mp, lp, hp)) = (spread(unpooled), spread(pooled));
    if lp <= hu && lu <= hp {
        format!("within noise (the ranges overlap; medians {:.2}x)", mu / mp)
    } else if mp < mu {
        format!("pooled {:.2}x faster (median over median; no overlap)", mu / mp)
    } else {
        format!("pooled {:.2}x slower (median over median; no overlap)", mp / mu)
    }
}
