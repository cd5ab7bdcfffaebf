//! What the property tests share: their run configuration. Every one of
//! them persists its failures in `proptests/regressions/<name>.txt` and
//! replays that file first on every run (paths are relative to the package
//! root, where `cargo test` runs them). Included by `#[path]` from
//! `tests/it` too.

use proptest::test_runner::{Config as ProptestConfig, FailurePersistence, FileFailurePersistence};

/// `default_cases` cases (or `PROPTEST_CASES`), with failures persisted to
/// `regressions` except under Miri, whose isolation forbids file access.
#[allow(dead_code)] // each binary uses what it needs
pub(crate) fn config(default_cases: u32, regressions: &'static str) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default_cases);
    let persistence =
        (!cfg!(miri)).then(|| Box::new(FileFailurePersistence::Direct(regressions)) as Box<dyn FailurePersistence>);
    ProptestConfig { cases, failure_persistence: persistence, ..ProptestConfig::default() }
}

/// The regression files `config` is given are the ones proptest reads: each
/// `cc` line of each file loads as a seed to replay.
#[allow(dead_code)]
pub(crate) fn assert_regressions_load(files: &[&'static str]) {
    use proptest::test_runner::FailurePersistence as _;
    for &file in files {
        let Ok(text) = std::fs::read_to_string(file) else { continue };
        let lines = text.lines().filter(|l| l.starts_with("cc ")).count();
        let seeds = FileFailurePersistence::Direct(file).load_persisted_failures2(None);
        assert_eq!(seeds.len(), lines, "{file}: every saved case is replayed");
    }
}
