#!/usr/bin/env python3
"""Compile-time cost of the optimiser: `sx build --opt N` of a generated ~48 k-line program
(bench/gen_big.py), best of --runs, CPU time (user + sys of the compiler and the linker it runs)
and wall time, for one or more compilers side by side.

    bench/compile_time.py                                     # target/release/sx, --opt 0 1 2 3
    bench/compile_time.py --sx main=/path/to/sx --sx new=target/release/sx --opt 0 --opt 2
"""

import argparse
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
WORK = os.path.join(HERE, ".work", "compile_time")


def measure(cmd):
    """(CPU seconds of the child and its children, wall seconds) of one run of `cmd`."""
    t0 = time.time()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.time() - t0
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd)} failed")
    return ru.ru_utime + ru.ru_stime, wall


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sx", action="append", help="compiler, NAME=PATH or PATH (repeatable)")
    ap.add_argument("--opt", action="append", type=int, help="--opt level (repeatable; default 0 1 2 3)")
    ap.add_argument("--units", type=int, default=1700, help="units of bench/gen_big.py (default 1700: ~48 k lines)")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    os.makedirs(WORK, exist_ok=True)
    src = os.path.join(WORK, "big.sx")
    with open(src, "w") as out:
        subprocess.run([sys.executable, os.path.join(HERE, "gen_big.py"), str(args.units)], stdout=out, check=True)
    with open(src) as f:
        lines = sum(1 for _ in f)
    compilers = []
    for spec in args.sx or [os.path.join(ROOT, "target/release/sx")]:
        name, _, path = spec.rpartition("=")
        compilers.append((name or path, os.path.abspath(path)))
    print(f"{lines} lines, best of {args.runs}")
    print("| compiler | --opt | CPU (s) | wall (s) |")
    print("|---|---:|---:|---:|")
    for name, path in compilers:
        for o in args.opt or [0, 1, 2, 3]:
            exe = os.path.join(WORK, "big")
            runs = [measure([path, "build", "--opt", str(o), src, "-o", exe]) for _ in range(args.runs)]
            cpu, wall = min(r[0] for r in runs), min(r[1] for r in runs)
            print(f"| {name} | {o} | {cpu:.2f} | {wall:.2f} |", flush=True)


if __name__ == "__main__":
    main()
