#!/usr/bin/env bash
# Deep checks for tierpool: Miri over the unit, integration, model and
# stress suites (scaled down under cfg(miri)), ThreadSanitizer over the
# stress test, and the loom models of the depot and the budget. Installs
# what it needs through rustup. Run as `bash .ci/deep.sh`; `bash .ci/deep.sh
# miri`, `... tsan` or `... loom` runs one part.
#
# Cost on the 2-core machine: docs/verification.md. `.ci/run` calls it.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }
what="${1:-all}"
target="$(rustc -vV | sed -n 's/^host: //p')"

step "toolchain: nightly with miri and rust-src"
rustup toolchain install nightly --profile minimal >/dev/null 2>&1 || rustup toolchain install nightly --profile minimal
rustup component add miri rust-src --toolchain nightly
cargo +nightly --version

if [[ "$what" == all || "$what" == miri ]]; then
    step "Miri: unit, integration, zero-allocation, stress and model tests (strict provenance)"
    cargo +nightly miri setup
    # Doctests are left out: they only restate the unit and integration
    # tests, and each one is a separate Miri run.
    MIRIFLAGS="-Zmiri-strict-provenance" cargo +nightly miri test --lib --tests
fi

if [[ "$what" == all || "$what" == tsan ]]; then
    step "ThreadSanitizer: stress test, std rebuilt with the sanitizer"
    RUSTFLAGS="-Zsanitizer=thread" RUSTDOCFLAGS="-Zsanitizer=thread" TSAN_OPTIONS="halt_on_error=1" \
        cargo +nightly test -Zbuild-std --target "$target" --target-dir target/tsan --test stress
fi

if [[ "$what" == all || "$what" == loom ]]; then
    step "loom: the depot's limit and the budget's identity under every interleaving"
    RUSTFLAGS="--cfg tierpool_loom" cargo test --release --target-dir target/loom --lib loom
fi

printf '\nDeep checks passed.\n'
