//! The property-test recipes of docs/guide.md, as tests: a property over code
//! that uses a pool, with `track_callers` and `assert_quiescent` at the end
//! of each case; the same property under `chaos(seed)`, which catches bugs
//! that a plain pool hides; and how a failure replays from its seed.

#[path = "../proptests/support.rs"]
mod support;

use bytes::{Buf, BufMut, Bytes};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use tierpool::BufPool;

/// The largest fragment a peer accepts: 4 KiB buffers, less a 16-byte header.
const MAX_FRAGMENT: usize = 4096 - 16;
const MAGIC: &[u8; 8] = b"FRAG0001";

/// The code under test: splits a payload into fragments of at most
/// `MAX_FRAGMENT` bytes, each `[magic][offset: u32][len: u32][bytes]` in a
/// pooled buffer, frozen for the wire.
fn fragment(pool: &BufPool, payload: &[u8]) -> Vec<Bytes> {
    payload
        .chunks(MAX_FRAGMENT)
        .enumerate()
        .map(|(i, chunk)| {
            let mut buf = pool.get(4096);
            buf.put_slice(MAGIC);
            buf.put_u32((i * MAX_FRAGMENT) as u32);
            buf.put_u32(chunk.len() as u32);
            buf.put_slice(chunk);
            buf.freeze()
        })
        .collect()
}

/// The same, with two bugs planted that a plain pool hides: it sizes
/// fragments by the buffer's capacity, assuming that is 4096 (the peer then
/// rejects them), and it writes the magic only into the first buffer it
/// gets, assuming the pool hands the same buffer back with the magic still
/// in it.
fn fragment_buggy(pool: &BufPool, payload: &[u8]) -> Vec<Bytes> {
    let mut out = Vec::new();
    let mut rest = payload;
    let mut wrote_magic = false;
    while !rest.is_empty() {
        let mut buf = pool.get(4096);
        let room = buf.capacity() - 16; // bug 1: capacity() is at least 4096
        let (chunk, tail) = rest.split_at(room.min(rest.len()));
        if wrote_magic {
            // Bug 2: "it is still there from last time".
            // SAFETY (of the test, not of the bug): the first 8 bytes of any
            // buffer this pool hands out here were written before, by this
            // function or by chaos's fill, so they are initialised.
            unsafe { buf.set_len(MAGIC.len()) };
        } else {
            buf.put_slice(MAGIC);
            wrote_magic = true;
        }
        buf.put_u32((payload.len() - rest.len()) as u32);
        buf.put_u32(chunk.len() as u32);
        buf.put_slice(chunk);
        out.push(buf.freeze());
        rest = tail;
    }
    out
}

/// The peer: checks each fragment's magic and size, and reassembles.
fn reassemble(fragments: &[Bytes]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    for f in fragments {
        let mut f = f.clone();
        if f.len() < 16 || f[..8] != *MAGIC {
            return Err("a fragment without its magic".to_owned());
        }
        f.advance(8);
        let (offset, len) = (f.get_u32() as usize, f.get_u32() as usize);
        if len > MAX_FRAGMENT {
            return Err(format!("a fragment of {len} bytes, above the peer's {MAX_FRAGMENT}"));
        }
        if offset != out.len() || f.len() != len {
            return Err(format!("a fragment at {offset}, where {} was expected", out.len()));
        }
        out.extend_from_slice(&f);
    }
    Ok(out)
}

/// One case of the property: a fresh pool per case, so that a case's chaos
/// depends on its seed alone and replays exactly.
fn case(code: fn(&BufPool, &[u8]) -> Vec<Bytes>, pool: BufPool, payload: &[u8]) -> Result<(), TestCaseError> {
    let fragments = code(&pool, payload);
    let back = reassemble(&fragments).map_err(TestCaseError::fail)?;
    prop_assert_eq!(&back[..], payload);
    drop(fragments);
    pool.assert_quiescent(); // every buffer came back: no leak
    Ok(())
}

fn payloads() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(any::<u8>(), 0..20_000)
}

/// The reason of a failed run, without the (long) failing input.
fn reason<T: std::fmt::Debug>(err: &proptest::test_runner::TestError<T>) -> String {
    match err {
        proptest::test_runner::TestError::Fail(reason, _) => reason.to_string(),
        proptest::test_runner::TestError::Abort(reason) => format!("aborted: {reason}"),
    }
}

/// A runner for a property that is expected to fail: it must not write a
/// regression file.
fn runner_without_persistence() -> TestRunner {
    TestRunner::new(Config { cases: 64, failure_persistence: None, ..Config::default() })
}

#[test]
fn recipe_track_callers_and_assert_quiescent_in_every_case() {
    let mut runner = TestRunner::new(support::config(64, "proptests/regressions/recipes.txt"));
    runner
        .run(&payloads(), |payload| case(fragment, BufPool::builder().track_callers(true).build().unwrap(), &payload))
        .unwrap();
}

#[test]
fn recipe_a_leak_is_reported_with_its_call_site() {
    let pool = BufPool::builder().track_callers(true).build().unwrap();
    let leaked: Vec<_> = (0..3).map(|_| pool.get(100)).collect(); // the planted leak
    let line = line!() - 1;
    let err = std::panic::catch_unwind(|| pool.assert_quiescent()).unwrap_err();
    let msg = err.downcast_ref::<String>().unwrap();
    assert!(msg.contains(&format!("{}:{line}:", file!())) && msg.contains("3 buffers"), "{msg}");
    drop(leaked);
}

#[test]
#[cfg_attr(miri, ignore = "shrinking a failing 20 KB input takes hours under Miri; the recipe is safe code")]
fn recipe_chaos_catches_what_a_plain_pool_hides() {
    // With a plain pool, the buggy code passes: every buffer has exactly
    // 4096 bytes of capacity, and on one thread the same buffer comes back
    // each time, the magic still in it.
    let plain = runner_without_persistence().run(&payloads(), |payload| {
        case(fragment_buggy, BufPool::builder().ceiling_factor(1).build().unwrap(), &payload)
    });
    assert!(plain.is_ok(), "the bugs hide from a plain pool: {:?}", plain.err().map(|e| reason(&e)));
    // The correct code passes under chaos, whatever the seed.
    for seed in 0..4 {
        runner_without_persistence()
            .run(&payloads(), |payload| case(fragment, BufPool::builder().chaos(seed).build().unwrap(), &payload))
            .unwrap();
    }
    // The buggy code fails under chaos.
    let seed = 7;
    let chaotic = runner_without_persistence()
        .run(&payloads(), |payload| case(fragment_buggy, BufPool::builder().chaos(seed).build().unwrap(), &payload));
    let failure = chaotic.expect_err("chaos finds the planted bugs");
    println!("chaos({seed}) found: {}", reason(&failure));
}

#[test]
fn recipe_a_chaos_failure_replays_from_its_seed() {
    // The failing input and the chaos seed together replay the failure: a
    // fresh pool per case makes the case's effects depend on them alone.
    let payload = vec![0xAB; 9000];
    let failures: Vec<String> = (0..3)
        .map(|_| {
            let pool = BufPool::builder().chaos(7).build().unwrap();
            let fragments = fragment_buggy(&pool, &payload);
            format!("{:?}", reassemble(&fragments).err())
        })
        .collect();
    assert!(failures[0] != "None", "seed 7 breaks the buggy code on this input");
    assert!(failures.iter().all(|f| *f == failures[0]), "and does so the same way every time: {failures:?}");
}
