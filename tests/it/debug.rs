//! The modes for tests: `track_callers` with `outstanding_by_caller` and
//! `assert_quiescent`, and seeded `chaos`.

use std::sync::Arc;

use bytes::BufMut;
use tierpool::BufPool;

fn tracked() -> Arc<BufPool> {
    Arc::new(BufPool::builder().track_callers(true).build().unwrap())
}

/// The (line, buffers) of each call site in this file, sorted by line.
fn sites(pool: &BufPool) -> Vec<(u32, usize)> {
    let mut sites: Vec<(u32, usize)> = pool
        .outstanding_by_caller()
        .iter()
        .map(|o| {
            assert!(o.location.file().ends_with("debug.rs"), "{}", o.location);
            (o.location.line(), o.buffers)
        })
        .collect();
    sites.sort_unstable();
    sites
}

#[test]
fn every_entry_point_attributes_a_leak_to_its_exact_line() {
    let pool = tracked();
    let (a, line_a) = (pool.get(10), line!());
    let (b, line_b) = (pool.try_get(5000).unwrap(), line!());
    let (c, line_c) = (pool.get_owned(10), line!());
    let (d, line_d) = (pool.try_get_owned(2 << 20).unwrap(), line!()); // oversize
    assert_eq!(sites(&pool), [(line_a, 1), (line_b, 1), (line_c, 1), (line_d, 1)]);
    let bytes: usize = pool.outstanding_by_caller().iter().map(|o| o.bytes).sum();
    assert_eq!(bytes, 4096 + 65536 + 4096 + (2 << 20));
    // `into_shared` moves the checkout to its own call site, until the last
    // clone of the `Bytes` drops.
    let (shared, line_e) = (c.into_shared(), line!());
    let clone = shared.clone();
    assert_eq!(sites(&pool), [(line_a, 1), (line_b, 1), (line_d, 1), (line_e, 1)]);
    drop(shared);
    assert_eq!(sites(&pool).len(), 4, "a clone still holds it");
    drop(clone);
    drop((a, b));
    let _ = d.detach();
    assert!(pool.outstanding_by_caller().is_empty());
    pool.assert_quiescent();
}

#[test]
fn every_chain_entry_point_attributes_a_leak_to_the_callers_line() {
    let pool = tracked();
    let (mut chain, line_chain) = (pool.chain_owned(4096), line!());
    chain.extend_from_slice(&[1; 10_000]); // three chunks, taken by writes
    assert_eq!(sites(&pool), [(line_chain, 3)], "a chain's chunks: where the chain was made");
    let (pieces, line_pieces) = (chain.into_pieces(), line!());
    assert_eq!(sites(&pool), [(line_pieces, 3)], "pieces: where into_pieces was called");
    drop(pieces);
    let mut chain = pool.chain(4096);
    chain.extend_from_slice(&[2; 5000]);
    let (buf, line_contiguous) = (chain.into_contiguous().unwrap(), line!());
    assert_eq!(sites(&pool), [(line_contiguous, 1)], "into_contiguous's buffer: where it was called");
    drop(buf);
    pool.assert_quiescent();
}

#[test]
fn leaks_on_two_threads_are_each_attributed() {
    let pool = tracked();
    let spawn = |pool: Arc<BufPool>| {
        std::thread::spawn(move || {
            let line = line!() + 1;
            let held: Vec<_> = (0..3).map(|_| pool.get_owned(100)).collect();
            (held, line)
        })
    };
    let (t1, t2) = (spawn(Arc::clone(&pool)), spawn(Arc::clone(&pool)));
    let ((held1, line), (held2, _)) = (t1.join().unwrap(), t2.join().unwrap());
    assert_eq!(sites(&pool), [(line, 6)], "one line, six buffers from two threads");
    drop(held1);
    assert_eq!(sites(&pool), [(line, 3)]);
    drop(held2);
    pool.assert_quiescent();
}

#[test]
fn assert_quiescent_names_the_call_sites_of_what_is_out() {
    let pool = tracked();
    let (leak, line) = (pool.get(10), line!());
    let err = std::panic::catch_unwind(|| pool.assert_quiescent()).unwrap_err();
    let msg = err.downcast_ref::<String>().unwrap();
    let site = format!("{}:{line}:", file!());
    assert!(msg.starts_with("tierpool: 1 buffer(s) still checked out, taken at:"), "{msg}");
    assert!(msg.contains(&site) && msg.contains("1 buffer, 4096 bytes"), "{msg}");
    drop(leak);
    pool.assert_quiescent();
}

#[test]
fn assert_quiescent_without_tracking_gives_the_count() {
    let pool = BufPool::new();
    let leaks = (pool.get(10), pool.get(10));
    let err = std::panic::catch_unwind(|| pool.assert_quiescent()).unwrap_err();
    let msg = err.downcast_ref::<String>().unwrap();
    assert!(msg.contains("2 buffer(s) still checked out") && msg.contains("track_callers"), "{msg}");
    drop(leaks);
    pool.assert_quiescent();
}

/// What a run of gets and drops saw under chaos: each buffer's capacity and
/// whether its spare capacity held the pattern, and the returns dropped.
fn chaos_run(seed: u64) -> (Vec<(usize, bool)>, u64) {
    let pool = BufPool::builder().chaos(seed).build().unwrap();
    let mut seen = Vec::new();
    for i in 0..200 {
        let mut buf = pool.get([10, 5000, 100][i % 3]);
        let spare = buf.spare_capacity_mut();
        // SAFETY: chaos fills the whole spare capacity with its pattern, and
        // a plain pool's reused buffers were written by this loop; the first
        // 16 bytes are initialised either way (or this reads stale bytes,
        // which is what the check is about).
        let head: Vec<u8> = spare[..16].iter().map(|b| unsafe { b.assume_init() }).collect();
        seen.push((buf.capacity(), head == b"tierpool-chaos! "));
        buf.put_bytes(b'u', 16);
    }
    (seen, pool.stats().discards().chaos)
}

#[test]
fn chaos_is_deterministic_in_its_seed() {
    let (a, dropped_a) = chaos_run(42);
    let (b, dropped_b) = chaos_run(42);
    assert_eq!((&a, dropped_a), (&b, dropped_b), "the same seed, the same effects");
    let (c, _) = chaos_run(43);
    assert_ne!(a, c, "another seed, other effects");
    assert!(a.iter().all(|&(_, pattern)| pattern), "every buffer's spare capacity holds the pattern");
    // One get in four is handed a fresh, larger buffer, which is pooled as
    // an odd-sized one and handed out again later.
    let larger = a.iter().filter(|&&(cap, _)| cap != 4096 && cap != 65536).count();
    assert!(larger >= 20, "buffers larger than their tier: {larger} of 200");
    assert!((20..=100).contains(&dropped_a), "about one return in four is dropped: {dropped_a} of 200");
}

#[test]
fn chaos_fills_the_spare_capacity_of_every_buffer_it_hands_out_oversize_included() {
    let pool = BufPool::builder().chaos(7).build().unwrap();
    let pattern = b"tierpool-chaos! ";
    for n in [1, 5000, 1 << 20, (1 << 20) + 1, 3 << 20] {
        for _ in 0..4 {
            let mut buf = pool.get(n);
            let spare = buf.spare_capacity_mut();
            // SAFETY: chaos promises to have written every byte of the spare
            // capacity (reading an unwritten one is what this test catches).
            let bytes: Vec<u8> = spare.iter().map(|b| unsafe { b.assume_init() }).collect();
            let ok = bytes.iter().enumerate().all(|(i, &b)| b == pattern[i % pattern.len()]);
            assert!(ok, "get({n}): the spare capacity of {} bytes holds the pattern", bytes.len());
        }
    }
    assert_eq!(pool.stats().oversize.gets, 8);
}

#[test]
fn chaos_keeps_every_guarantee() {
    let pool = BufPool::builder().chaos(1).build().unwrap();
    for n in [0, 1, 4096, 4097, 65536, 1 << 20] {
        for _ in 0..20 {
            let buf = pool.get(n);
            assert!(buf.is_empty() && buf.capacity() >= n, "{n}: {}", buf.capacity());
            assert!(buf.capacity() <= buf.ceiling().unwrap(), "within the tier's ceiling");
        }
    }
    let stats = pool.stats();
    assert_eq!(stats.outstanding, 0);
    assert_eq!(stats.tiers.iter().map(|t| t.gets).sum::<u64>(), 120);
}

/// `(line, recorded, estimated)` per call site of this file.
fn estimates(pool: &BufPool) -> Vec<(u32, usize, usize)> {
    let mut v: Vec<_> =
        pool.outstanding_by_caller().iter().map(|o| (o.location.line(), o.buffers, o.estimated)).collect();
    v.sort_unstable();
    v
}

#[test]
fn sampled_tracking_reports_both_call_sites_with_estimates_near_the_truth() {
    const EVERY: u64 = 128;
    let pool = BufPool::builder().track_callers_sampled(EVERY).build().unwrap();
    let (mut kept_a, mut kept_b) = (Vec::new(), Vec::new());
    let (line_a, line_b) = (line!() + 4, line!() + 5);
    for i in 0..400_000u32 {
        // Two call sites in one loop, keeping 1 get in 16 and 1 in 32: a
        // periodic workload, which a fixed sampling period could alias.
        let a = pool.get(100);
        let b = pool.get(100);
        if i % 16 == 0 {
            kept_a.push(a);
        }
        if i % 32 == 0 {
            kept_b.push(b);
        }
    }
    let sites = estimates(&pool);
    assert_eq!(sites.iter().map(|s| s.0).collect::<Vec<_>>(), [line_a, line_b], "both sites: {sites:?}");
    for (&(line, recorded, estimated), kept) in sites.iter().zip([kept_a.len(), kept_b.len()]) {
        println!("line {line}: {recorded} recorded, estimated {estimated}, truly {kept}");
        assert!(recorded < kept / 4, "sampled: far fewer recorded than out");
        // Each site has about kept / EVERY recorded hits out (195 and 98), a
        // count whose standard deviation is about its square root: 30 % is
        // three of them. The generator is seeded per thread cache, in the
        // order they are made, so a run of this test gives one outcome.
        let error = (estimated as f64 - kept as f64).abs() / kept as f64;
        assert!(error <= 0.3, "estimate within 30 %: {estimated} for {kept}");
    }
    let stats = pool.stats();
    assert_eq!(stats.check(), Ok(()), "sampling keeps the counters' contract");
    assert_eq!(stats.tiers[0].gets, 800_000, "counted once each, whichever path");
    drop((kept_a, kept_b));
    assert!(pool.outstanding_by_caller().is_empty(), "every sampled checkout ended");
    pool.assert_quiescent();
}

#[test]
fn sampling_off_changes_nothing_and_bad_rates_are_config_errors() {
    let pool = BufPool::new();
    let held = pool.get(100);
    assert!(pool.outstanding_by_caller().is_empty(), "nothing recorded without a mode");
    drop(held);
    for every in [0, 1, (1 << 30) + 1] {
        let err = BufPool::builder().track_callers_sampled(every).build().unwrap_err();
        assert_eq!(err, tierpool::ConfigError::SampleRate { every, min: 2, max: 1 << 30 });
        assert!(err.to_string().contains("track_callers_sampled"));
    }
    // Full tracking wins over sampling: every get is recorded.
    let both = BufPool::builder().track_callers(true).track_callers_sampled(128).build().unwrap();
    let held: Vec<_> = (0..10).map(|_| both.get(100)).collect();
    let site = &both.outstanding_by_caller()[0];
    assert_eq!((site.buffers, site.estimated), (10, 10));
    drop(held);
}
