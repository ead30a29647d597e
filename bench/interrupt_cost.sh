#!/usr/bin/env bash
# Measures what the interrupt/step-budget check costs, by building three variants of sx and
# timing the five workloads with each (bench/quick.py: CPU time, min of --runs, N - N0):
#   (a) shipped design: a local step countdown at taken jumps and calls; interrupt flag,
#       deadline and total budget checked only when a chunk (check_every steps) runs out;
#   (b) cargo feature sx_vm/vm-poll-atomic: (a) plus a load of the interrupt AtomicBool at
#       every taken jump and call;
#   (c) cargo feature sx_vm/vm-no-budget: no step budget and no interrupt check at all
#       (measurement only: runaway code would hang the compiler).
#   bench/interrupt_cost.sh [--runs 5] [--scale 1.0]
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
OUT="$HERE/.work/variants"
mkdir -p "$OUT"
cd "$ROOT"
cargo build --release -p sx --features sx_vm/vm-poll-atomic
cp target/release/sx "$OUT/sx-b-poll-atomic"
cargo build --release -p sx --features sx_vm/vm-no-budget
cp target/release/sx "$OUT/sx-c-no-check"
cargo build --release -p sx
cp target/release/sx "$OUT/sx-a-countdown"
python3 "$HERE/quick.py" --sx "$OUT/sx-a-countdown" --sx "$OUT/sx-b-poll-atomic" --sx "$OUT/sx-c-no-check" "$@"
