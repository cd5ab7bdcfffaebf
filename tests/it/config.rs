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

/// Each absurd setting, and the error it must give.
fn absurd() -> Vec<(tierpool::Builder, ConfigError)> {
    use tierpool::{MAX_CEILING, MAX_GLOBAL_QUEUE, MAX_THREAD_CACHE};
    let b = BufPool::builder;
    let above = |setting, value, max| ConfigError::AboveMaximum { setting, value, max };
    vec![
        (b().global_queue(&[usize::MAX, 8, 8]), above("global_queue", usize::MAX, MAX_GLOBAL_QUEUE)),
        (b().global_queue(&[1 << 44, 8, 8]), above("global_queue", 1 << 44, MAX_GLOBAL_QUEUE)),
        (b().global_queue(&[100_000_000, 8, 8]), above("global_queue", 100_000_000, MAX_GLOBAL_QUEUE)),
        (b().thread_cache(&[usize::MAX, 8, 8]), above("thread_cache", usize::MAX, MAX_THREAD_CACHE)),
        (b().thread_cache(&[8, 1 << 44, 8]), above("thread_cache", 1 << 44, MAX_THREAD_CACHE)),
        (b().ceiling_factor(usize::MAX), above("ceiling", usize::MAX, MAX_CEILING)),
        (b().ceilings(&[4096, 65536, usize::MAX]), above("ceiling", usize::MAX, MAX_CEILING)),
    ]
}

#[test]
fn absurd_settings_are_config_errors_that_name_setting_value_and_limit() {
    for (builder, expected) in absurd() {
        let error = err(builder);
        assert_eq!(error, expected);
        let ConfigError::AboveMaximum { setting, value, max } = error else { unreachable!() };
        let shown = error.to_string();
        for part in [setting.to_owned(), value.to_string(), max.to_string()] {
            assert!(shown.contains(&part), "{shown:?} does not name {part}");
        }
    }
}

#[test]
fn the_maxima_themselves_build() {
    use tierpool::{MAX_GLOBAL_QUEUE, MAX_THREAD_CACHE};
    let pool = BufPool::builder()
        .tiers(&[4096])
        .thread_cache(&[MAX_THREAD_CACHE])
        .global_queue(&[MAX_GLOBAL_QUEUE])
        .ceiling_factor(4)
        .build()
        .unwrap();
    drop(pool.get(1)); // registers this thread's cache at its largest
}

/// The aborts were process-wide (`capacity overflow` inside an allocation),
/// so this runs the absurd builds in a child process and checks that it
/// exits normally.
#[test]
#[cfg_attr(miri, ignore = "Miri cannot spawn processes")]
fn building_with_absurd_settings_never_aborts_the_process() {
    const CHILD: &str = "TIERPOOL_ABSURD_CHILD";
    if std::env::var_os(CHILD).is_some() {
        for (builder, expected) in absurd() {
            assert_eq!(builder.build().unwrap_err(), expected);
        }
        return;
    }
    let me = std::env::current_exe().unwrap();
    let out = std::process::Command::new(me)
        .args(["--exact", "config::building_with_absurd_settings_never_aborts_the_process", "--test-threads=1"])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "the child failed ({:?}):\n{stdout}", out.status);
    assert!(stdout.contains("1 passed"), "the child ran the builds:\n{stdout}");
}
