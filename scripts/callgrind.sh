#!/usr/bin/env bash
# Instructions per get + 64 B write + drop, counted by callgrind: repeatable
# where wall-clock timings are noisy. Each mode runs at two iteration counts;
# the difference divided by the extra iterations cancels start-up and set-up.
#
# Usage: scripts/callgrind.sh [size ...]   (default: 4096 65536 1048576)
#        MODES="tierpool bare" scripts/callgrind.sh 4096
#        FEATURES=tierpool/metrics scripts/callgrind.sh 4096
# Modes are those of benches/src/bin/hit_loop.rs. Serializations of a large
# JSON document instead (benches/src/bin/json_loop.rs, its modes by default):
#        BIN=json_loop scripts/callgrind.sh 3145728
#        BIN=json_loop N1=1000 N2=2000 MODES="guard_write vec_reused" scripts/callgrind.sh 1024
# Needs valgrind. Writes nothing outside target/callgrind/.
set -euo pipefail
cd "$(dirname "$0")/.."

sizes=("$@")
[ ${#sizes[@]} -eq 0 ] && sizes=(4096 65536 1048576)
name=${BIN:-hit_loop}
if [ "$name" = json_loop ]; then
    default_modes="chain_64KiB chain_1MiB chain_64KiB_freeze vec_new bytesmut_new tierpool_get4096 vec_reused"
    n1=${N1:-2}
    n2=${N2:-4}
else
    default_modes="tierpool tierpool_bufmut tierpool_inlined bare bare_exact lockfree_object_pool opool bytesmut"
    n1=100000
    n2=200000
fi
read -r -a modes <<< "${MODES:-$default_modes}"

# FEATURES="tierpool/metrics" builds the crate with a feature on, to show
# what it costs the hit (nothing, if the counts match).
cargo build --release -p tierpool-benches --bin "$name" --quiet ${FEATURES:+--features "$FEATURES"}
bin=target/release/$name
out=target/callgrind
mkdir -p "$out"

# Total instructions ("summary:" line) of one callgrind run.
instructions() {
    local file="$out/$1.$2.$3.out"
    valgrind --tool=callgrind --callgrind-out-file="$file" "$bin" "$1" "$2" "$3" >/dev/null 2>&1
    awk '/^summary:/ { print $2 }' "$file"
}

printf '%-22s %10s %12s\n' mode size instr/iter
for size in "${sizes[@]}"; do
    for mode in "${modes[@]}"; do
        a=$(instructions "$mode" "$size" "$n1")
        b=$(instructions "$mode" "$size" "$n2")
        printf '%-22s %10s %12.1f\n' "$mode" "$size" "$(echo "($b - $a) / ($n2 - $n1)" | bc -l)"
    done
done
