#!/usr/bin/env python3
"""Diagnostic-location parity with the reference: for each reference example whose expected stderr
has located diagnostics (`--> FILE:LINE:COL`) for the example's own file, compare the set of lines
we report with the reference's. usage: tools/diag_locations.py SX_BIN [--list core-examples.txt] [-v]   (reference checkout at /tmp/sx-ref)"""
import os, re, subprocess, sys
from concurrent.futures import ThreadPoolExecutor
ref = "/tmp/sx-ref"; sx = sys.argv[1]
lst = None
if "--list" in sys.argv:
    lst = set(l.strip() for l in open(sys.argv[sys.argv.index("--list") + 1]) if l.strip() and not l.startswith("#"))
loc = re.compile(r"-->\s+(\S+?):(\d+):(\d+)")
cases = []
for cat in sorted(os.listdir(os.path.join(ref, "examples"))):
    ed = os.path.join(ref, "examples", cat, "expected")
    if not os.path.isdir(ed): continue
    for f in sorted(os.listdir(ed)):
        if not f.endswith(".stderr"): continue
        rel = "examples/%s/%s.sx" % (cat, f[:-7])
        if lst is not None and rel not in lst: continue
        want = [int(m.group(2)) for m in loc.finditer(open(os.path.join(ed, f)).read()) if m.group(1) == rel]
        if want: cases.append((rel, want))
def run(case):
    rel, want = case
    env = dict(os.environ); env.pop("SX_STDLIB_PATH", None)
    try:
        o = subprocess.run([sx, "run", rel], cwd=ref, capture_output=True, text=True, timeout=30, env=env)
        got = [int(m.group(2)) for m in loc.finditer(o.stderr) if m.group(1) == rel]
    except subprocess.TimeoutExpired:
        got = []
    return rel, want, got
with ThreadPoolExecutor(2) as ex:
    res = list(ex.map(run, cases))
same = sum(1 for _, w, g in res if set(w) == set(g))
first = sum(1 for _, w, g in res if g and w[0] == g[0])
several = sum(1 for _, w, _ in res if len(set(w)) > 1)
several_same = sum(1 for _, w, g in res if len(set(w)) > 1 and set(w) == set(g))
print(f"examples with located reference diagnostics: {len(res)} ({several} with several lines)")
print(f"same set of lines: {same}   first line equal: {first}   several-line examples matched: {several_same}")
if "-v" in sys.argv:
    for r, w, g in res:
        if set(w) != set(g): print(r, "want", sorted(set(w)), "got", sorted(set(g)))
