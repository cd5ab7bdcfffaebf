//! A log-line formatter that reuses pooled buffers with `write!`: format
//! straight into the buffer, hand it to a synchronous writer, and let the
//! guard return it.
//!
//! A hand-rolled pool (Go's `sync.Pool` of byte slices, say) must remember to
//! reset the slice and to skip `Put` for a buffer that grew past 4 KiB. Here
//! the guard hands out an empty buffer and the pool's ceiling discards an
//! overgrown one on return. The classic bug of such pools, returning the
//! buffer while an asynchronous writer still reads it, cannot compile: the
//! writer borrows the guard, so the guard cannot drop first.
//!
//! Run: `cargo run --release --example log_lines`

mod common;

use std::io::{self, Write};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use tierpool::BufPool;

#[global_allocator]
static ALLOC: common::Counting<std::alloc::System> = common::Counting::new(std::alloc::System);

const LINES: u64 = 200_000;

/// Log lines are short: a 256 B tier serves them, and a 4 KiB tier takes the
/// occasional long line (which grows within the 2× ceiling, or is re-tiered).
fn log_pool() -> BufPool {
    BufPool::builder().tiers(&[256, 4096]).build().expect("valid tiers")
}

/// The naive version: `format!` builds a `String`, then it is written.
fn log_naive(out: &mut impl Write, level: &str, msg: std::fmt::Arguments<'_>) -> io::Result<()> {
    let line = format!("{level} {} {msg}\n", now_secs());
    out.write_all(line.as_bytes())
}

/// The pooled version: one buffer per line, formatted in place.
fn log_pooled(pool: &BufPool, out: &mut impl Write, level: &str, msg: std::fmt::Arguments<'_>) -> io::Result<()> {
    let mut line = pool.get(256);
    // `io::Write` is in scope for `out`, so `write!` uses the guard's
    // `io::Write` impl. (With `fmt::Write` imported as well, `write!` on a
    // guard is ambiguous: import one of the two.)
    writeln!(line, "{level} {} {msg}", now_secs())?;
    out.write_all(&line) // synchronous: the bytes are consumed when this returns
} // `line` drops here and goes back to the pool, cleared

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn main() -> io::Result<()> {
    let pool = log_pool();
    let stdout = io::stdout();
    let mut shown = stdout.lock();
    for (i, user) in ["ada", "grace", "edsger"].iter().enumerate() {
        log_pooled(&pool, &mut shown, "INFO", format_args!("user={user} request={i} status=200 bytes={}", 512 * i))?;
    }
    drop(shown);

    println!("\n{LINES} lines to io::sink():");
    println!("  {:<26} {:>9} {:>12}", "", "ns/line", "allocs/line");
    let mut sink = io::sink();
    let (ns, allocs) =
        measure(|i| log_naive(&mut sink, "INFO", format_args!("request={i} status=200 path=/api/v1/items")));
    println!("  {:<26} {ns:>9.0} {:>12.2}", "format! + write_all", allocs as f64 / LINES as f64);
    let (ns, allocs) =
        measure(|i| log_pooled(&pool, &mut sink, "INFO", format_args!("request={i} status=200 path=/api/v1/items")));
    println!("  {:<26} {ns:>9.0} {:>12.2}", "pooled write! + write_all", allocs as f64 / LINES as f64);

    // One very long line: it grows the 256 B buffer past the 4 KiB tier's
    // ceiling, and the pool discards it instead of keeping 16 KiB per line.
    let long = "x".repeat(10_000);
    log_pooled(&pool, &mut io::sink(), "WARN", format_args!("payload={long}"))?;
    let stats = pool.stats();
    println!(
        "\npool: {} gets, hit rate {:.4}, discarded above ceiling {}, retained {}",
        stats.gets(),
        stats.hit_rate(),
        stats.tiers.iter().map(|t| t.discards.above_ceiling).sum::<u64>(),
        common::human(stats.retained_bytes())
    );
    Ok(())
}

fn measure(mut log: impl FnMut(u64) -> io::Result<()>) -> (f64, u64) {
    for i in 0..1000 {
        log(i).unwrap();
    }
    let allocs = common::Counts::now();
    let start = Instant::now();
    for i in 0..LINES {
        log(i).unwrap();
    }
    (start.elapsed().as_nanos() as f64 / LINES as f64, allocs.since().allocs)
}
