#!/usr/bin/env bash
# Flake check: runs every test binary (`cargo test --release
# --all-features`) ROUNDS times in a row while a busy loop keeps every core busy,
# and stops at the first failure.
#
#   bash scripts/flake.sh          # 20 rounds
#   bash scripts/flake.sh 5        # what .ci/deep.sh runs
#   FLAKE_KEEP_GOING=1 bash scripts/flake.sh   # run every round, then list
#                                              # each failing test
#
# A test whose outcome depends on thread scheduling fails here sooner or
# later: with every core taken by the hog, threads are preempted at
# arbitrary points, which is what a busy CI machine does to them.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds="${1:-20}"
cores="$(nproc)"
log="target/flake"
mkdir -p "$log"

# Build first, unloaded: the rounds then time only the tests.
cargo test --release --all-features --no-run --quiet

hogs=()
stop_hogs() { for pid in "${hogs[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap stop_hogs EXIT
for _ in $(seq "$cores"); do
    ( while :; do :; done ) &
    hogs+=("$!")
done
echo "flake check: $rounds rounds of cargo test --release --all-features, $cores busy loops beside them"

start=$(date +%s)
failed=0
for round in $(seq "$rounds"); do
    t0=$(date +%s)
    # --no-fail-fast: a failing binary does not hide the others' failures.
    if ! cargo test --release --all-features --quiet --no-fail-fast >"$log/round-$round.log" 2>&1; then
        echo "round $round of $rounds FAILED; the failures:"
        grep -E '^(---- |thread .* panicked)' "$log/round-$round.log" | head -40 || true
        echo "full log: $log/round-$round.log"
        failed=$((failed + 1))
        [[ "${FLAKE_KEEP_GOING:-0}" == 1 ]] && continue
        exit 1
    fi
    passed=$(grep -Eo '[0-9]+ passed' "$log/round-$round.log" | awk '{s += $1} END {print s}')
    echo "round $round of $rounds: ok, $passed tests passed, $(( $(date +%s) - t0 )) s"
done
if ((failed > 0)); then
    echo "flake check FAILED: $failed of $rounds rounds under load"
    exit 1
fi
echo "flake check passed: $rounds of $rounds rounds under load, $(( $(date +%s) - start )) s"
