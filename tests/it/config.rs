//! Configuration errors: each invalid setting is a typed error with a clear
//! message.

use tierpool::{BufPool, ConfigError, MAX_TIER_SIZE, MAX_TIERS};

fn err(b: tierpool::Builder) -> ConfigError {
    b.build().unwrap_err()
}

#[test]
fn invalid_configs_are_typed_errors_that_say_what_is_wrong() {
    let b = BufPool::builder;
    let cases: Vec<(ConfigError, &str)> = vec![
        (err(b().tiers(&[])), "no tiers"),
        (err(b().tiers(&[0, 10])), "tier 0 has size 0"),
        (err(b().tiers(&[10, 5])), "tiers must be sorted ascending"),
        (err(b().tiers(&[10, 10])), "given twice"),
        (err(b().tiers(&[MAX_TIER_SIZE + 1])), "above the maximum tier size"),
        (err(b().tiers(&(1..=MAX_TIERS + 1).collect::<Vec<_>>())), "at most 16"),
        (err(b().ceiling_factor(0)), "below the tier size"),
        (err(b().ceilings(&[4096, 1000, 1 << 20])), "ceiling 1000 of tier 65536"),
        (err(b().ceilings(&[4096])), "ceilings has 1 values for 3 tiers"),
        (err(b().thread_cache(&[1, 2])), "thread_cache has 2 values for 3 tiers"),
        (err(b().global_queue(&[1, 0, 1])), "capacity 0"),
        (err(b().max_request(100)), "at least the largest tier"),
        (err(b().max_request(usize::MAX)), "isize::MAX"),
    ];
    for (error, message) in cases {
        assert!(error.to_string().contains(message), "{error:?}: {error} does not say {message:?}");
    }
}

#[test]
fn config_error_is_a_std_error() {
    let e: Box<dyn std::error::Error> = Box::new(err(BufPool::builder().tiers(&[])));
    assert_eq!(e.to_string(), "no tiers: a pool needs at least one tier size");
}

#[test]
fn custom_tiers_and_ceilings_are_honoured() {
    let pool = BufPool::builder().tiers(&[100, 1000]).ceilings(&[100, 5000]).build().unwrap();
    let mut buf = pool.get(50);
    assert_eq!(buf.capacity(), 100);
    buf.reserve(150); // grows past the 100-byte ceiling
    drop(buf);
    assert_eq!(pool.stats().tiers[0].discards.above_ceiling + pool.stats().tiers[0].discards.too_small, 1);
}

#[test]
fn debug_shows_configuration_and_never_contents() {
    let pool = BufPool::new();
    assert!(format!("{pool:?}").contains("tiers: [4096, 65536, 1048576]"));
    let mut buf = pool.get(10);
    buf.extend_from_slice(b"password=hunter2");
    let shown = format!("{buf:?}");
    assert_eq!(shown, "PooledBuf { tier: Some(4096), len: 16, capacity: 4096 }");
}
