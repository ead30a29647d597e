#!/usr/bin/env bash
# What the containment of compile-time C calls costs per call (issue 10): builds sx twice —
# as shipped (fault trap around every C call, buffers C sees against guard pages) and with the
# measurement-only cargo feature sx_vm/ffi-no-containment (neither) — and times 10^6 calls at
# compile time with each (bench/ffi_call_cost.py: CPU time, min of --runs, N - N0).
#   bench/ffi_call_cost.sh [--runs 5] [--calls 1000000]
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
OUT="$HERE/.work/variants"
mkdir -p "$OUT"
cd "$ROOT"
cargo build --release -p sx --features sx_vm/ffi-no-containment
cp target/release/sx "$OUT/sx-ffi-uncontained"
cargo build --release -p sx
cp target/release/sx "$OUT/sx-ffi-contained"
python3 "$HERE/ffi_call_cost.py" --sx "$OUT/sx-ffi-contained" --sx "$OUT/sx-ffi-uncontained" "$@"
