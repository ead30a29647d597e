#!/usr/bin/env python3
"""Run-time speed of `sx build` executables against gcc -O2, side by side in one run.

The five workloads of the peer suite (sieve, collatz, fib, nbody, strings) as run-time programs
(`bench/runtime/W.sx`, N read from the environment variable BENCH_N) and the C reference
(`/work/shared/bench/peers/src/c/ref.c`, compiled with `gcc -O2`). Every executable runs `--runs`
times per workload; the table gives the best CPU time (user + sys of the child, from wait4) and
the ratio to gcc. Checksums must equal the C reference's.

    bench/runtime.py                                  # target/release/sx at --opt 2 vs gcc -O2
    bench/runtime.py --sx main=/path/to/sx --sx target/release/sx   # several compilers
    bench/runtime.py --opt 0 --opt 2                  # several optimisation levels
    bench/runtime.py --scale 0.25 --only fib          # quicker / one workload
"""

import argparse
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PEERS = os.environ.get("PEERS_SRC", "/work/shared/bench/peers")
WORK = os.path.join(HERE, ".work", "runtime")

# N per workload: about half a second of gcc -O2 on the 2-core EPYC reference machine.
SIZES = {"sieve": 100_000_000, "collatz": 3_000_000, "fib": 42, "nbody": 25_000_000, "strings": 50_000_000}


def scaled(w, n, scale):
    """N times `scale` (fib: N + log_phi(scale), as the peer suite scales it)."""
    if w == "fib":
        import math

        return max(2, n + round(math.log(scale) / math.log(1.618033988749895)))
    return max(2, int(n * scale))


def cpu_run(cmd, env):
    """Runs `cmd`; returns (stdout, CPU seconds of the child: user + sys)."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, env=env)
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited with {p.returncode}")
    return out.decode().strip(), ru.ru_utime + ru.ru_stime


def best(cmd, n, runs):
    """The checksum and the best CPU time of `runs` runs of `cmd` with BENCH_N=n."""
    env = dict(os.environ, BENCH_N=str(n))
    times, sums = [], set()
    for _ in range(runs):
        out, t = cpu_run(cmd, env)
        sums.add(out)
        times.append(t)
    if len(sums) != 1:
        raise RuntimeError(f"{cmd}: checksums differ between runs: {sums}")
    return sums.pop(), min(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sx", action="append", help="compiler, NAME=PATH or PATH (repeatable; default target/release/sx)")
    ap.add_argument("--opt", action="append", type=int, help="sx build --opt level (repeatable; default 2)")
    ap.add_argument("--only", action="append", help="workload (repeatable)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--scale", type=float, default=1.0)
    args = ap.parse_args()
    compilers = []
    for spec in args.sx or [os.path.join(ROOT, "target/release/sx")]:
        name, _, path = spec.rpartition("=")
        compilers.append((name or ("sx" if len(args.sx or []) < 2 else path), os.path.abspath(path)))
    opts = args.opt or [2]
    workloads = args.only or list(SIZES)
    os.makedirs(WORK, exist_ok=True)

    ref = os.path.join(WORK, "ref")
    subprocess.run(["gcc", "-O2", "-o", ref, os.path.join(PEERS, "src/c/ref.c")], check=True)
    columns = [(f"{name} -O{o}", path, o) for name, path in compilers for o in opts]
    exes = {}
    for w in workloads:
        for label, path, o in columns:
            exe = os.path.join(WORK, f"{w}-{len(exes)}")
            t0 = time.time()
            subprocess.run([path, "build", "--opt", str(o), os.path.join(HERE, "runtime", f"{w}.sx"), "-o", exe], check=True)
            exes[(w, label)] = exe
            print(f"built {w} with {label} in {time.time() - t0:.2f} s", file=sys.stderr)

    header = ["workload", "N", "gcc -O2 (s)"] + [f"{c[0]} (s)" for c in columns] + [f"{c[0]} / gcc" for c in columns]
    rows = []
    for w in workloads:
        n = scaled(w, SIZES[w], args.scale)
        want, t_gcc = best([ref, w, str(n)], n, args.runs)
        times = []
        for label, _, _ in columns:
            got, t = best([exes[(w, label)]], n, args.runs)
            if got != want:
                raise SystemExit(f"{w} built by {label}: checksum {got}, C says {want}")
            times.append(t)
        rows.append([w, str(n), f"{t_gcc:.3f}"] + [f"{t:.3f}" for t in times] + [f"{t / t_gcc:.2f}×" for t in times])
        print(f"{w}: done", file=sys.stderr)
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|")
    for r in rows:
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    main()
