//! Feature `metrics`: what `BufPool::export_metrics` publishes, read back
//! through `metrics-util`'s `DebuggingRecorder`, equals `stats()` after a
//! known workload, under the documented names and labels.
//!
//! Run: `cargo test --features metrics --test metrics`
#![cfg(feature = "metrics")]

use std::collections::HashMap;

use bytes::{BufMut, BytesMut};
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use tierpool::BufPool;

/// (name, sorted labels) → value, for every metric one export published.
type Published = HashMap<(String, Vec<(String, String)>), f64>;

fn export(pools: &[&BufPool]) -> Published {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::with_local_recorder(&recorder, || {
        for pool in pools {
            pool.export_metrics();
        }
    });
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| {
            let mut labels: Vec<(String, String)> =
                key.key().labels().map(|l| (l.key().to_owned(), l.value().to_owned())).collect();
            labels.sort();
            let value = match value {
                DebugValue::Counter(v) => v as f64,
                DebugValue::Gauge(v) => v.into_inner(),
                DebugValue::Histogram(_) => panic!("tierpool publishes no histogram"),
            };
            ((key.key().name().to_owned(), labels), value)
        })
        .collect()
}

fn get(published: &Published, name: &str, labels: &[(&str, &str)]) -> f64 {
    let mut labels: Vec<(String, String)> = labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    labels.sort();
    *published.get(&(name.to_owned(), labels.clone())).unwrap_or_else(|| panic!("{name} {labels:?} not published"))
}

/// A workload that moves every counter: hits and misses, a re-tiered and a
/// shared return, a detach, puts pooled and refused, prefill, oversize,
/// trim, and buffers still out.
fn workload(pool: &BufPool) -> Vec<tierpool::PooledBuf<'_>> {
    for _ in 0..3 {
        drop(pool.get(100));
    }
    let mut grown = pool.get(100);
    grown.reserve(70 << 10); // back into the 64 KiB tier
    drop(grown);
    let mut split = pool.get(100);
    split.put_slice(b"frame");
    let frame = split.split().freeze(); // shared storage: discarded
    drop(split);
    drop(frame);
    let _ = pool.get(5000).detach();
    pool.put(BytesMut::with_capacity(70 << 10));
    pool.put(BytesMut::with_capacity(10)); // too small
    pool.prefill(1 << 20, 2);
    drop(pool.get(3 << 20)); // oversize
    pool.trim();
    vec![pool.get(100), pool.get(5000)]
}

#[test]
fn every_exported_value_equals_its_stats_field() {
    let pool = BufPool::builder().name("uploads").max_retained_bytes(64 << 20).build().unwrap();
    let held = workload(&pool);
    let stats = pool.stats();
    let published = export(&[&pool]);
    for t in &stats.tiers {
        let tier = t.size.to_string();
        let l = [("pool", "uploads"), ("tier", tier.as_str())];
        let counters = [
            ("tierpool_gets_total", t.gets),
            ("tierpool_cache_hits_total", t.cache_hits),
            ("tierpool_global_hits_total", t.global_hits),
            ("tierpool_misses_total", t.misses),
            ("tierpool_returns_total", t.returns),
            ("tierpool_retiered_total", t.retiered),
            ("tierpool_detached_total", t.detached),
            ("tierpool_trimmed_total", t.trimmed),
            ("tierpool_decayed_total", t.decayed),
            ("tierpool_adopted_total", t.adopted),
            ("tierpool_prefilled_total", t.prefilled),
            ("tierpool_retained_buffers", t.retained_buffers),
            ("tierpool_retained_bytes", t.retained_bytes),
            ("tierpool_tier_ceiling_bytes", t.ceiling as u64),
        ];
        for (name, value) in counters {
            assert_eq!(get(&published, name, &l), value as f64, "{name} of tier {tier}");
        }
        let d = &t.discards;
        for (reason, value) in [
            ("above_ceiling", d.above_ceiling),
            ("shared", d.shared),
            ("too_small", d.too_small),
            ("global_full", d.global_full),
            ("over_budget", d.over_budget),
            ("chaos", d.chaos),
        ] {
            let l = [("pool", "uploads"), ("tier", tier.as_str()), ("reason", reason)];
            assert_eq!(get(&published, "tierpool_discards_total", &l), value as f64, "{reason} of tier {tier}");
        }
    }
    let l = [("pool", "uploads")];
    assert_eq!(get(&published, "tierpool_outstanding_buffers", &l), 2.0);
    assert_eq!(get(&published, "tierpool_oversize_gets_total", &l), stats.oversize.gets as f64);
    assert_eq!(get(&published, "tierpool_oversize_discarded_total", &l), stats.oversize.discarded as f64);
    assert_eq!(get(&published, "tierpool_oversize_detached_total", &l), stats.oversize.detached as f64);
    assert_eq!(get(&published, "tierpool_max_retained_bytes", &l), (64 << 20) as f64);
    let refused = [("pool", "uploads"), ("reason", "too_small")];
    assert_eq!(get(&published, "tierpool_put_discards_total", &refused), 1.0);
    // The workload moved what it meant to: these are not all zeros.
    assert_eq!(stats.tiers[0].cache_hits, 3);
    assert_eq!((stats.tiers[0].retiered, stats.tiers[0].discards.shared, stats.tiers[1].adopted), (1, 1, 1));
    assert_eq!((stats.tiers[2].prefilled, stats.oversize.gets), (2, 1));
    drop(held);
}

#[test]
fn a_limited_pool_exports_its_admission_stats() {
    let pool = BufPool::builder().name("bodies").max_outstanding_bytes(1 << 20).build().unwrap();
    let held = pool.try_acquire(1 << 20).unwrap();
    let forced = pool.get(64 << 10); // past the limit: an overdraft
    assert!(pool.try_acquire(10).is_err()); // refused for room
    let stats = pool.stats().admission.unwrap();
    let published = export(&[&pool]);
    let l = [("pool", "bodies")];
    for (name, value) in [
        ("tierpool_max_outstanding_bytes", stats.limit as u64),
        ("tierpool_outstanding_bytes", stats.outstanding_bytes as u64),
        ("tierpool_reserved_bytes", stats.reserved_bytes as u64),
        ("tierpool_overdrawn_bytes", stats.overdrawn_bytes as u64),
        ("tierpool_waiting", stats.waiting as u64),
        ("tierpool_overdrafts_total", stats.overdrafts),
        ("tierpool_overdraft_bytes_total", stats.overdraft_bytes_total),
        ("tierpool_waits_total", stats.waits),
        ("tierpool_would_wait_total", stats.would_wait),
        ("tierpool_wait_microseconds_total", stats.wait_time.as_micros() as u64),
    ] {
        assert_eq!(get(&published, name, &l), value as f64, "{name}");
    }
    assert_eq!((stats.outstanding_bytes, stats.overdrafts, stats.would_wait), ((1 << 20) + (64 << 10), 1, 1));
    // An unlimited pool publishes none of them.
    let plain = BufPool::new();
    assert!(!export(&[&plain]).keys().any(|(name, _)| name.contains("outstanding_bytes")));
    drop((held, forced));
}

#[test]
fn names_and_labels_follow_prometheus_conventions() {
    let pool = BufPool::new();
    drop(pool.get(1));
    let published = export(&[&pool]);
    assert!(!published.is_empty());
    for (name, labels) in published.keys() {
        assert!(name.starts_with("tierpool_"), "{name}");
        let counter = name.ends_with("_total");
        let unit = name.ends_with("_bytes") || name.ends_with("_buffers");
        assert!(counter || unit, "{name}: a counter ends in _total, a gauge names its unit");
        assert!(labels.iter().any(|(k, v)| k == "pool" && v == tierpool::DEFAULT_NAME), "{name} {labels:?}");
        let keys: Vec<&str> = labels.iter().map(|(k, _)| k.as_str()).collect();
        assert!(keys.iter().all(|k| ["pool", "tier", "reason"].contains(k)), "{name} {keys:?}");
    }
    let tiers: std::collections::BTreeSet<&str> = published
        .keys()
        .filter(|(name, _)| name == "tierpool_gets_total")
        .flat_map(|(_, labels)| labels.iter().filter(|(k, _)| k == "tier").map(|(_, v)| v.as_str()))
        .collect();
    assert_eq!(tiers, ["1048576", "4096", "65536"].into_iter().collect());
}

#[test]
fn two_pools_with_different_names_do_not_mix() {
    let (a, b) = (BufPool::builder().name("a").build().unwrap(), BufPool::builder().name("b").build().unwrap());
    for _ in 0..5 {
        drop(a.get(100));
    }
    drop(b.get(100));
    let published = export(&[&a, &b]);
    assert_eq!(get(&published, "tierpool_gets_total", &[("pool", "a"), ("tier", "4096")]), 5.0);
    assert_eq!(get(&published, "tierpool_gets_total", &[("pool", "b"), ("tier", "4096")]), 1.0);
    // Exporting again after more work replaces the totals, never adds twice.
    drop(a.get(100));
    let again = export(&[&a]);
    assert_eq!(get(&again, "tierpool_gets_total", &[("pool", "a"), ("tier", "4096")]), 6.0);
}
