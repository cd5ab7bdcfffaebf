//! What the property tests share: their run configuration.

use proptest::test_runner::{Config as ProptestConfig, FailurePersistence, FileFailurePersistence};

/// `default_cases` cases (or `PROPTEST_CASES`), with failures persisted to
/// `regressions` except under Miri, whose isolation forbids file access.
pub(crate) fn config(default_cases: u32, regressions: &'static str) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default_cases);
    let persistence =
        (!cfg!(miri)).then(|| Box::new(FileFailurePersistence::Direct(regressions)) as Box<dyn FailurePersistence>);
    ProptestConfig { cases, failure_persistence: persistence, ..ProptestConfig::default() }
}
