#!/usr/bin/env python3
"""Instructions executed by the comptime VM on the five peer workloads (callgrind; deterministic
even on a busy machine): for each binary, Ir(sx build at N) - Ir(sx build at N0), and the ratio of
the second binary to the first.

usage: bench/instructions.py BIN_BEFORE BIN_AFTER"""
import os, re, subprocess, sys, tempfile
PEERS = "/work/shared/bench/peers/src/sx"
N = {"sieve": 200000, "collatz": 10000, "fib": 22, "nbody": 5000, "strings": 100000}
N0 = {"sieve": 10, "collatz": 10, "fib": 5, "nbody": 1, "strings": 1}
def ir(bin_, src, exe):
    out = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", bin_, "build", src, "-o", exe],
                         capture_output=True, text=True)
    m = re.search(r"Collected : (\d+)", out.stderr)
    return int(m.group(1))
bins = sys.argv[1:]
tmp = tempfile.mkdtemp()
print("%-8s " % "workload" + " ".join("%22s" % ("binary %d" % (k + 1)) for k in range(len(bins))))
for w in N:
    text = open(os.path.join(PEERS, w + ".sx")).read()
    row = []
    for b in bins:
        vals = []
        for size in (N[w], N0[w]):
            src = os.path.join(tmp, "%s_%d.sx" % (w, size))
            open(src, "w").write(re.sub(r"(=\s*)\d+(?=[^\n]*BENCH_N)", r"\g<1>%d" % size, text, count=1))
            vals.append(ir(b, src, src[:-3]))
        row.append(vals[0] - vals[1])
    print("%-8s " % w + " ".join("%22d" % r for r in row) + ("   ratio %.4f" % (row[1] / row[0]) if len(row) > 1 else ""))
