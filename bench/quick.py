#!/usr/bin/env python3
"""Quick sx-only measurement, same method as bench.py ((t(N) - t(N0)) / units), but timing the
*CPU time* (user+sys) of `sx build` and keeping the minimum of --runs runs, which is far less
sensitive to other load on a shared machine than wall-clock medians. Used for the development
loop and for the interrupt-cost comparison of several binaries.

usage: quick.py [--sx BIN]... [--runs 5] [--scale 1.0] [--only WORKLOAD]...
"""
import argparse
import math
import os
import re
import resource
import subprocess
import tempfile

PEERS = os.environ.get("PEERS_SRC", "/work/shared/bench/peers")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
N = {"sieve": 4000000, "collatz": 200000, "fib": 30, "nbody": 150000, "strings": 3000000}
# Checksums of the native C oracle (src/c/ref.c) at the default N.
REF = {"sieve": {4000000: 283146}, "collatz": {200000: 22938473}, "fib": {30: 832040},
       "nbody": {150000: 177891832}, "strings": {3000000: 3962997243}}
N0 = {"sieve": 10, "collatz": 10, "fib": 5, "nbody": 1, "strings": 1}


def units(w, n, checksum):
    if w == "sieve":
        r = math.isqrt(n)
        small = bytearray(r + 2)
        inner = 0
        for p in range(2, r + 1):
            if not small[p]:
                for q in range(p * p, r + 1, p):
                    small[q] = 1
                if p * p < n:
                    inner += (n - p * p + p - 1) // p
        return n - 2 + inner
    if w == "collatz":
        return checksum
    if w == "fib":
        a, b = 0, 1
        for _ in range(n + 1):
            a, b = b, a + b
        return 2 * a - 1
    return 5 * n if w == "nbody" else n


def cpu_run(cmd):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sx", action="append", default=[])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--only", action="append", default=[])
    a = ap.parse_args()
    sxs = a.sx or [os.path.join(ROOT, "target/release/sx")]
    tmp = tempfile.mkdtemp(prefix="sxquick")
    ws = a.only or list(N)
    print("ns/unit; columns: " + ", ".join(sxs))
    print("%-8s" % "workload" + "".join("%16s" % ("sx#%d" % (k + 1)) for k in range(len(sxs))))
    for w in ws:
        n = N[w] if a.scale == 1.0 else (N[w] + int(round(math.log(a.scale) / math.log(1.618))) if w == "fib"
                                         else int(N[w] * a.scale))
        text = open(os.path.join(PEERS, "src/sx", w + ".sx")).read()
        row = "%-8s" % w
        for sx in sxs:
            res = {}
            for size in (n, N0[w]):
                src = os.path.join(tmp, "%s_%d.sx" % (w, size))
                open(src, "w").write(re.sub(r"(=\s*)\d+(?=[^\n]*BENCH_N)", r"\g<1>%d" % size, text, count=1))
                exe = src[:-3]
                cmd = [sx, "build", src, "-o", exe]
                cpu_run(cmd)
                out = subprocess.run([exe], capture_output=True, text=True).stdout
                got = int(re.findall(r"-?\d+", out)[-1])
                if size in REF.get(w, {}) and REF[w][size] != got:
                    raise SystemExit("%s N=%d: checksum %d != %d" % (w, size, got, REF[w][size]))
                res[size] = (min(cpu_run(cmd) for _ in range(a.runs)), got)
            du = units(w, n, res[n][1]) - units(w, N0[w], res[N0[w]][1])
            row += "%16.2f" % ((res[n][0] - res[N0[w]][0]) * 1e9 / du)
        print(row, flush=True)


if __name__ == "__main__":
    main()
