//! Shared by the examples: the counting global allocator of the tests
//! (`tests/support/counting.rs`), so an example can print what the pool
//! saved, and a byte formatter. Not an example itself (Cargo only picks up
//! `examples/*.rs` and `examples/*/main.rs`).

#![allow(dead_code)]

#[path = "../../tests/support/counting.rs"]
mod counting;

pub use counting::{Counting, Counts};

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
