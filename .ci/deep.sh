#!/usr/bin/env bash
# Deep checks for tierpool: Miri, ThreadSanitizer, AddressSanitizer, loom
# and the flake check. Installs what it needs through rustup.
#
#   bash .ci/deep.sh            # what .ci/run runs: miri, tsan, asan, flake
#                               # and loom
#   bash .ci/deep.sh miri       # Miri over every unsafe block: the unit tests
#                               # (the BufMut impls), the chain model (the
#                               # chain's in-place copy) and the integration
#                               # tests of threads and traits (the thread
#                               # registry, thread exit, both BufMut impls)
#   bash .ci/deep.sh miri-all   # Miri over every test binary (slow: see
#                               # docs/verification.md)
#   bash .ci/deep.sh tsan       # ThreadSanitizer over the stress test
#   bash .ci/deep.sh asan       # AddressSanitizer, with its leak checker, over
#                               # the integration tests that use real sockets
#                               # and threads (it, stress, zero_alloc)
#   bash .ci/deep.sh loom       # the loom models of the depot, the budget, the stamp and admission
#   bash .ci/deep.sh flake      # scripts/flake.sh, 5 rounds under a CPU hog
#
# Cost on the 2-core machine: docs/verification.md.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }
what="${1:-all}"
target="$(rustc -vV | sed -n 's/^host: //p')"

step "toolchain: nightly with miri and rust-src"
rustup toolchain install nightly --profile minimal >/dev/null 2>&1 || rustup toolchain install nightly --profile minimal
rustup component add miri rust-src --toolchain nightly
cargo +nightly --version

export MIRIFLAGS="-Zmiri-strict-provenance"
# Doctests are left out: they restate the unit and integration tests, and
# each one is a separate Miri run.
if [[ "$what" == all || "$what" == miri ]]; then
    step "Miri: every unsafe block (strict provenance)"
    cargo +nightly miri setup
    cargo +nightly miri test --lib
    cargo +nightly miri test --test chain_model
    cargo +nightly miri test --test it -- threads:: traits::
fi

if [[ "$what" == miri-all ]]; then
    step "Miri: every test binary (strict provenance)"
    cargo +nightly miri setup
    cargo +nightly miri test --lib --tests
fi

if [[ "$what" == all || "$what" == tsan ]]; then
    step "ThreadSanitizer: stress test, std rebuilt with the sanitizer"
    RUSTFLAGS="-Zsanitizer=thread" RUSTDOCFLAGS="-Zsanitizer=thread" TSAN_OPTIONS="halt_on_error=1" \
        cargo +nightly test -Zbuild-std --target "$target" --target-dir target/tsan --test stress
fi

if [[ "$what" == all || "$what" == asan ]]; then
    step "AddressSanitizer and LeakSanitizer: sockets and threads, std rebuilt with the sanitizer"
    # detect_leaks: a buffer or chunk the pool never frees fails the run.
    # allocator_may_return_null: `try_get` must see an allocation of
    # isize::MAX bytes fail, as under the system allocator, not abort.
    RUSTFLAGS="-Zsanitizer=address" RUSTDOCFLAGS="-Zsanitizer=address" \
        ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:allocator_may_return_null=1" \
        cargo +nightly test -Zbuild-std --target "$target" --target-dir target/asan --features tokio \
        --test it --test stress --test zero_alloc
fi

if [[ "$what" == all || "$what" == flake ]]; then
    step "flake check: every test binary, 5 rounds beside a busy loop per core"
    bash scripts/flake.sh 5
fi

if [[ "$what" == all || "$what" == loom ]]; then
    step "loom: the depot's limit, the budget's identity, the stamp's protocol and admission's hand-over under every interleaving"
    RUSTFLAGS="--cfg tierpool_loom" cargo test --release --target-dir target/loom --lib loom
fi

printf '\nDeep checks passed.\n'
