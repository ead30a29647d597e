#!/usr/bin/env python3
"""Summarises a bench.py result file: sx ns/unit next to every peer measured in the same run,
plus ratios to the fastest compile-time peer and to native gcc -O2.

usage: compare.py RESULTS.json
If no compile-time peer was measured in the run, the Nim VM numbers of the shared RESULTS.md
(2026-11-21) are used and marked with "(ref)".
"""
import json
import sys

WORKLOADS = ["sieve", "collatz", "fib", "nbody", "strings"]
NIM_REF = {"sieve": 104, "collatz": 65.7, "fib": 244, "nbody": 2201, "strings": 482}


def fmt(v):
    if v is None:
        return "-"
    return ("%.0f" % v) if v >= 100 else ("%.1f" % v) if v >= 1 else ("%.2f" % v)


def main():
    info = json.load(open(sys.argv[1]))
    cells = info["cells"]
    ns = {}
    kind = {}
    for c in cells:
        if "ns_per_unit" in c:
            ns[(c["peer"], c["workload"])] = c["ns_per_unit"]
            kind[c["peer"]] = c.get("kind")
    peers = []
    for c in cells:
        if c["peer"] not in peers:
            peers.append(c["peer"])
    jit = "sx-jit" in peers
    hdr = ["workload"] + ["%s ns" % p for p in peers] + ["fastest CT peer", "CT peer / sx"]
    hdr += ["CT peer / sx-jit", "nim / sx-jit", "luajit-joff / sx-jit"] if jit else []
    hdr += ["sx / gcc-O2"]
    print("| " + " | ".join(hdr) + " |")
    print("|---|" + "---:|" * (len(hdr) - 1))
    for w in WORKLOADS:
        row = [w] + [fmt(ns.get((p, w))) for p in peers]
        sx = ns.get(("sx", w))
        ct = [(v, p) for (p, ww), v in ns.items() if ww == w and not p.startswith("sx") and kind.get(p) == "compile"
              and not p.startswith(("gxx", "zig"))]  # memoised peers are not comparable
        if ct:
            best, who = min(ct)
        else:
            best, who = NIM_REF[w], "nim (ref)"
        gcc = ns.get(("gcc-O2", w))
        row.append("%s %s" % (who, fmt(best)))
        row.append(("%.1fx" % (best / sx)) if sx else "-")
        if jit:
            sj = ns.get(("sx-jit", w))
            for ref in [best, ns.get(("nim", w)), ns.get(("luajit-joff", w))]:
                row.append(("%.1fx" % (ref / sj)) if (sj and ref) else "-")
        row.append(("%.1fx" % (sx / gcc)) if (sx and gcc) else "-")
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
