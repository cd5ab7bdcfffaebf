//! Feature `metrics`: every counter and gauge of [`Stats`] published through
//! the [`metrics`](::metrics) facade, so that any recorder (Prometheus
//! through `metrics-exporter-prometheus`, OpenTelemetry through its bridges)
//! exports them.
//!
//! The values come from a snapshot ([`BufPool::stats`]), taken when
//! [`BufPool::export_metrics`] is called, never from the hit path: with the
//! feature on, a get or return does exactly what it does without it. Call it
//! from whatever ticks in the program (a timer, the scrape handler, or
//! `tierpool::tokio::spawn_metrics` with feature `tokio`).
//!
//! | name | kind | labels |
//! |---|---|---|
//! | `tierpool_gets_total`, `_cache_hits_total`, `_global_hits_total`, `_misses_total` | counter | `pool`, `tier` |
//! | `tierpool_returns_total`, `_retiered_total`, `_detached_total`, `_adopted_total`, `_prefilled_total` | counter | `pool`, `tier` |
//! | `tierpool_trimmed_total`, `_decayed_total` | counter | `pool`, `tier` |
//! | `tierpool_discards_total` | counter | `pool`, `tier`, `reason` |
//! | `tierpool_retained_buffers`, `tierpool_retained_bytes`, `tierpool_tier_ceiling_bytes` | gauge | `pool`, `tier` |
//! | `tierpool_oversize_gets_total`, `_oversize_discarded_total`, `_oversize_detached_total` | counter | `pool` |
//! | `tierpool_put_discards_total` | counter | `pool`, `reason` |
//! | `tierpool_outstanding_buffers` | gauge | `pool` |
//! | `tierpool_max_retained_bytes` | gauge, only with a byte budget | `pool` |
//! | `tierpool_max_outstanding_bytes`, `tierpool_outstanding_bytes`, `tierpool_reserved_bytes`, `tierpool_overdrawn_bytes`, `tierpool_waiting` | gauge, only with a limit on outstanding bytes | `pool` |
//! | `tierpool_overdrafts_total`, `tierpool_overdraft_bytes_total`, `tierpool_waits_total`, `tierpool_would_wait_total` | counter, only with that limit | `pool` |
//! | `tierpool_wait_microseconds_total` | counter, only with that limit (a `metrics` counter is an integer) | `pool` |
//!
//! `pool` is [`Builder::name`](crate::Builder::name); `tier` is the tier's
//! size in bytes; `reason` is one of `above_ceiling`, `shared`, `too_small`,
//! `global_full`, `over_budget`, `chaos`. Counters are set to the snapshot's
//! totals (`Counter::absolute`), so an export repeated is harmless.

use ::metrics::{Unit, counter, describe_counter, describe_gauge, gauge};

use crate::pool::BufPool;
use crate::stats::{Discards, Stats};

impl BufPool {
    /// Publishes every counter and gauge of [`stats`](Self::stats) to the
    /// installed `metrics` recorder (module docs of `tierpool::export`, in
    /// the source, list the names). Takes one snapshot; costs what `stats`
    /// costs plus one recorder call per value. Feature `metrics`.
    ///
    /// # Examples
    ///
    /// ```
    /// use metrics_util::debugging::DebuggingRecorder;
    ///
    /// let pool = tierpool::BufPool::builder().name("uploads").build()?;
    /// drop(pool.get(100));
    /// let recorder = DebuggingRecorder::new();
    /// let snapshot = recorder.snapshotter();
    /// metrics::with_local_recorder(&recorder, || pool.export_metrics());
    /// let names: Vec<String> =
    ///     snapshot.snapshot().into_vec().iter().map(|(key, ..)| key.key().name().to_owned()).collect();
    /// assert!(names.iter().any(|n| n == "tierpool_gets_total"));
    /// # Ok::<(), tierpool::ConfigError>(())
    /// ```
    pub fn export_metrics(&self) {
        export(self.name(), &self.stats());
    }
}

/// Publishes `stats` for the pool called `pool`.
fn export(pool: &str, stats: &Stats) {
    describe();
    for t in &stats.tiers {
        let tier = t.size.to_string();
        let labels = [("pool", pool.to_owned()), ("tier", tier)];
        for (name, value) in [
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
        ] {
            counter!(name, &labels).absolute(value);
        }
        discards("tierpool_discards_total", &labels, &t.discards);
        gauge!("tierpool_retained_buffers", &labels).set(t.retained_buffers as f64);
        gauge!("tierpool_retained_bytes", &labels).set(t.retained_bytes as f64);
        gauge!("tierpool_tier_ceiling_bytes", &labels).set(t.ceiling as f64);
    }
    let labels = [("pool", pool.to_owned())];
    counter!("tierpool_oversize_gets_total", &labels).absolute(stats.oversize.gets);
    counter!("tierpool_oversize_discarded_total", &labels).absolute(stats.oversize.discarded);
    counter!("tierpool_oversize_detached_total", &labels).absolute(stats.oversize.detached);
    discards("tierpool_put_discards_total", &labels, &stats.put_discards);
    gauge!("tierpool_outstanding_buffers", &labels).set(stats.outstanding as f64);
    if let Some(budget) = stats.max_retained_bytes {
        gauge!("tierpool_max_retained_bytes", &labels).set(budget as f64);
    }
    if let Some(a) = &stats.admission {
        gauge!("tierpool_max_outstanding_bytes", &labels).set(a.limit as f64);
        gauge!("tierpool_outstanding_bytes", &labels).set(a.outstanding_bytes as f64);
        gauge!("tierpool_reserved_bytes", &labels).set(a.reserved_bytes as f64);
        gauge!("tierpool_overdrawn_bytes", &labels).set(a.overdrawn_bytes as f64);
        gauge!("tierpool_waiting", &labels).set(a.waiting as f64);
        counter!("tierpool_overdrafts_total", &labels).absolute(a.overdrafts);
        counter!("tierpool_overdraft_bytes_total", &labels).absolute(a.overdraft_bytes_total);
        counter!("tierpool_waits_total", &labels).absolute(a.waits);
        counter!("tierpool_would_wait_total", &labels).absolute(a.would_wait);
        // A `metrics` counter is an integer: the wait time in whole
        // microseconds, as `_microseconds_total`.
        let micros = u64::try_from(a.wait_time.as_micros()).unwrap_or(u64::MAX);
        counter!("tierpool_wait_microseconds_total", &labels).absolute(micros);
    }
}

/// One counter per discard reason, under `name`, with `labels` and `reason`.
fn discards(name: &'static str, labels: &[(&'static str, String)], d: &Discards) {
    for (reason, value) in [
        ("above_ceiling", d.above_ceiling),
        ("shared", d.shared),
        ("too_small", d.too_small),
        ("global_full", d.global_full),
        ("over_budget", d.over_budget),
        ("chaos", d.chaos),
    ] {
        let mut labels: Vec<(&'static str, String)> = labels.to_vec();
        labels.push(("reason", reason.to_owned()));
        counter!(name, &labels).absolute(value);
    }
}

/// The descriptions and units a recorder shows (Prometheus: `# HELP`).
fn describe() {
    let bytes = [
        ("tierpool_retained_bytes", "Bytes of real capacity the pool keeps, per tier."),
        ("tierpool_tier_ceiling_bytes", "The largest capacity a tier pools."),
        ("tierpool_max_retained_bytes", "The pool's byte budget for what it keeps."),
    ];
    for (name, help) in bytes {
        describe_gauge!(name, Unit::Bytes, help);
    }
    for (name, help) in [
        ("tierpool_max_outstanding_bytes", "The pool's limit on bytes handed out."),
        ("tierpool_outstanding_bytes", "Bytes of real capacity handed out and not yet back."),
        ("tierpool_reserved_bytes", "Room under the limit that threads took and have not used."),
        ("tierpool_overdrawn_bytes", "Bytes gets forced past the limit, not yet repaid."),
    ] {
        describe_gauge!(name, Unit::Bytes, help);
    }
    describe_counter!("tierpool_overdraft_bytes_total", Unit::Bytes, "Bytes gets forced past the limit, in total.");
    describe_gauge!("tierpool_waiting", Unit::Count, "Futures waiting for room under the limit.");
    describe_counter!("tierpool_wait_microseconds_total", Unit::Microseconds, "Time spent waiting for room.");
    describe_gauge!("tierpool_retained_buffers", Unit::Count, "Buffers the pool keeps, per tier.");
    describe_gauge!("tierpool_outstanding_buffers", Unit::Count, "Guards handed out and not yet ended.");
    for (name, help) in [
        ("tierpool_gets_total", "Buffers handed out."),
        ("tierpool_cache_hits_total", "Gets served by the calling thread's cache."),
        ("tierpool_global_hits_total", "Gets served by the global queue."),
        ("tierpool_misses_total", "Gets that allocated."),
        ("tierpool_returns_total", "Guards whose buffer went back into the pool."),
        ("tierpool_retiered_total", "Returns pooled in another tier than they left."),
        ("tierpool_detached_total", "Guards taken out of the pool for good."),
        ("tierpool_trimmed_total", "Pooled buffers released by trim."),
        ("tierpool_decayed_total", "Pooled buffers released after an idle interval."),
        ("tierpool_adopted_total", "Buffers given with put and accepted."),
        ("tierpool_prefilled_total", "Buffers prefill allocated and pooled."),
        ("tierpool_discards_total", "Buffers dropped instead of pooled, by reason."),
        ("tierpool_oversize_gets_total", "Requests above the largest tier, served unpooled."),
        ("tierpool_oversize_discarded_total", "Oversize guards that ended."),
        ("tierpool_oversize_detached_total", "Oversize guards detached."),
        ("tierpool_put_discards_total", "Buffers given with put and refused, by reason."),
        ("tierpool_overdrafts_total", "Gets that went past the limit on outstanding bytes."),
        ("tierpool_waits_total", "Acquires that waited for room."),
        ("tierpool_would_wait_total", "try_acquires refused for room."),
    ] {
        describe_counter!(name, Unit::Count, help);
    }
}
