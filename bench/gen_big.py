#!/usr/bin/env python3
"""Writes a large generated sx program for compile-time measurements (bench/compile_time.sh).

    bench/gen_big.py [UNITS] > big.sx     # UNITS (default 1700) units of 28 lines: ~48 k lines

Each unit is a struct, a function with a counted loop, a branch, float conversion and a `for`
loop over the struct's fields, and a function that builds the struct and calls the unit's work
function, which calls the previous unit's: everything is reachable from `main`, so the back end
compiles all of it.
"""
import sys

UNIT = """S{i} :: struct {{ a: i64; b: i64; c: f64; }}

work{i} :: (n: i64, s: S{i}) -> i64 {{
    total := s.a;
    k := 0;
    while k < n {{
        if k % 3 == 0 {{
            total += k * {m};
        }} else {{
            total -= k + s.b;
        }}
        k += 1;
    }}
    x : f64 = xx total;
    y := x * 0.5 + s.c;
    for 0..4 (j) {{
        total += j * s.b;
    }}
    if total > 1000 {{ total = total % 997; }}
    r : i64 = xx y;
    return total + r + {prev};
}}

step{i} :: (n: i64) -> i64 {{
    if n <= 0 {{ return 0; }}
    s : S{i} = .{{ n, 2, 1.5 }};
    return work{i}(n, s);
}}
"""


def main():
    units = int(sys.argv[1]) if len(sys.argv) > 1 else 1700
    out = ['#import "modules/std.sx";', ""]
    for i in range(units):
        prev = f"step{i - 1}(n - 1)" if i > 0 else "0"
        out.append(UNIT.format(i=i, m=i % 97 + 1, prev=prev))
    out.append("main :: () {")
    out.append(f'    print("{{}}\\n", step{units - 1}(3));')
    out.append("}")
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
