#!/usr/bin/env bash
# Builds target/release/sx and runs the shared peer benchmark (/work/shared/bench/peers/bench.py)
# for the sx row and the reference peers side by side, in ONE run, then prints ns/unit and our
# ratios to the fastest compile-time peer and to gcc -O2 (bench/compare.py).
#
#   bench/run.sh                          # sx + nim + luajit-joff + gcc-O2 at bench.py's N
#   bench/run.sh --scale 0.25             # quicker, noisier
#   PEERS="nim gcc-O2" bench/run.sh       # choose the peers (default: nim luajit-joff gcc-O2)
#   SKIP_BUILD=1 bench/run.sh             # use the existing target/release/sx (or SX=BINARY)
#
# The peers directory is read-only, and bench.py writes build/ and results/ next to itself, so it
# is copied to a scratch directory first (bench/.work/, git-ignored). Extra arguments go to
# bench.py (e.g. --runs 5, --scale 0.5). Results: bench/.work/peers/results/latest.{json,md}.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$HERE")"
PEERS_SRC="${PEERS_SRC:-/work/shared/bench/peers}"
PEERS="${PEERS:-nim luajit-joff gcc-O2}"

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  (cd "$ROOT" && cargo build --release -p sx)
fi
export SX="${SX:-$ROOT/target/release/sx}"
[ -x "$SX" ] || { echo "missing $SX" >&2; exit 1; }

for t in hyperfine /usr/bin/time gcc; do
  command -v "$t" >/dev/null || echo "warning: $t not found (apt-get install -y hyperfine time gcc nim luajit)" >&2
done

WORK="$HERE/.work"
rm -rf "$WORK/peers"
mkdir -p "$WORK"
cp -r "$PEERS_SRC" "$WORK/peers"
chmod -R u+w "$WORK/peers"

# A second sx row with the native comptime tier (`--comptime-jit=on`, now the default; the first
# row passes `--comptime-jit=off` and is the interpreter), in the same run
# (SX_JIT_ROW=0 leaves it out): added to the scratch copy of bench.py.
only=(--only sx)
if [ "${SX_JIT_ROW:-1}" != 0 ]; then
  python3 - "$WORK/peers/bench.py" <<'PY'
import re, sys
path = sys.argv[1]
src = open(path).read()
start = src.index('{"id": "sx",')
end = src.index('\n    {', start)
row = src[start:end].rstrip().rstrip(',')
jit = row.replace('"id": "sx"', '"id": "sx-jit"', 1).replace('"label": "sx comptime VM', '"label": "sx comptime VM --comptime-jit=on', 1)
jit = jit.replace('"-o", "{exe}"]', '"-o", "{exe}", "--comptime-jit=on", "--comptime-steps", "4000000000"]', 1)
# Native code is 5-20x faster than the interpreter: at the interpreter's N its evaluation takes
# 10-50 ms and the N0 baseline's noise dominates, so the row gets N for ~0.3-1 s of evaluation
# (and a step budget that allows them).
jit = re.sub(r'"n": \{[^}]*\}', '"n": {"sieve": 40000000, "collatz": 4000000, "fib": 38, "nbody": 4000000, "strings": 30000000}', jit, count=1)
interp = src[start:end].replace('"-o", "{exe}"]', '"-o", "{exe}", "--comptime-jit=off"]', 1)
open(path, "w").write(src[:start] + interp + "\n    " + jit + "," + src[end:])
PY
  only+=(--only sx-jit)
fi
for p in $PEERS; do only+=(--only "$p"); done
python3 "$WORK/peers/bench.py" "${only[@]}" --out "$WORK/peers/results/latest" "$@"
python3 "$HERE/compare.py" "$WORK/peers/results/latest.json"
