#!/usr/bin/env python3
"""Per-call cost of compile-time calls, in ns/call: 10^6 calls inside `X :: #run work(N)`,
timed as the CPU time (user+sys, min of --runs) of `sx build` at N minus at N0 = 1, over N.

Rows (one generated program each, in a temporary directory):
  sx_call      a plain call of an sx function on the VM (the baseline)
  strlen       libc `strlen`: the VM runs it natively over comptime memory (no C call at all)
  ffi_strnlen  libc `strnlen`: a real C call through libffi, inside the fault trap, on a
               buffer placed against a guard page (the containment of issue 10)
  ffi_source   a `#source` unit's function taking a pointer, likewise a real C call

Give several binaries with --sx (bench/ffi_call_cost.sh builds one without containment) to
see what the containment costs per call.

usage: ffi_call_cost.py [--sx BIN]... [--runs 5] [--calls 1000000]
"""
import argparse
import os
import resource
import subprocess
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PROGRAM = """#import "modules/std.sx";
{decl}
work :: (n: i64) -> u64 {{
    total : u64 = 0;
    s := "hello, world";
    for 0..n (i) {{ total += {call}; }}
    return total;
}}
X :: #run work({n});
main :: () {{ print("{{}}\\n", X); }}
"""

ROWS = {
    "sx_call": ("fake_len :: (s: [*]u8) -> u64 { return 12; }", "fake_len(s.ptr)"),
    "strlen": ("strlen :: (s: [*]u8) -> u64 extern libc;", "strlen(s.ptr)"),
    "ffi_strnlen": ("strnlen :: (s: [*]u8, max: u64) -> u64 extern libc;", "strnlen(s.ptr, 64)"),
    "ffi_source": ('u :: #import c { #source "len.c"; };\nc_len :: (s: [*]u8) -> u64 extern u;', "c_len(s.ptr)"),
}

C_SOURCE = "#include <stddef.h>\nsize_t c_len(const char *s) { size_t n = 0; while (s[n]) n++; return n; }\n"


def cpu_run(cmd, env):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def measure(sx, row, n, runs, tmp, env):
    decl, call = ROWS[row]
    src = os.path.join(tmp, "%s_%d.sx" % (row, n))
    with open(src, "w") as f:
        f.write(PROGRAM.format(decl=decl, call=call, n=n))
    exe = os.path.join(tmp, "out")
    best = min(cpu_run([sx, "build", src, "-o", exe], env) for _ in range(runs))
    out = subprocess.run([exe], check=True, capture_output=True, text=True).stdout.strip()
    if out != str(12 * n):
        raise SystemExit("%s at N=%d printed %s, expected %d" % (row, n, out, 12 * n))
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sx", action="append", default=[])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--calls", type=int, default=1000000)
    args = ap.parse_args()
    binaries = args.sx or [os.path.join(ROOT, "target/release/sx")]
    with tempfile.TemporaryDirectory(prefix="sx-ffi-cost-") as tmp:
        with open(os.path.join(tmp, "len.c"), "w") as f:
            f.write(C_SOURCE)
        env = dict(os.environ, SX_CACHE_DIR=os.path.join(tmp, "cache"))
        env.pop("SX_STDLIB_PATH", None)
        print("ns/call, %d calls at compile time, CPU time min of %d runs, minus N0 = 1" % (args.calls, args.runs))
        print("%-40s" % "binary" + "".join("%13s" % r for r in ROWS))
        for sx in binaries:
            cells = []
            for row in ROWS:
                t0 = measure(sx, row, 1, args.runs, tmp, env)
                t1 = measure(sx, row, args.calls, args.runs, tmp, env)
                cells.append("%13.1f" % ((t1 - t0) * 1e9 / args.calls))
            print("%-40s" % os.path.relpath(sx, ROOT)[-40:] + "".join(cells))


if __name__ == "__main__":
    main()
