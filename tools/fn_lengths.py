#!/usr/bin/env python3
"""Lists Rust functions longer than LIMIT lines (rough brace matching that skips strings and comments).

usage: tools/fn_lengths.py LIMIT PATH...   e.g. tools/fn_lengths.py 250 crates
"""
import re, sys, os
limit = int(sys.argv[1]); paths = sys.argv[2:]
fnre = re.compile(r'^\s*(pub(\([^)]*\))?\s+)?(const\s+)?(unsafe\s+)?(extern\s+"C"\s+)?fn\s+(\w+)')
def strip(line):
    line = re.sub(r'"(\\.|[^"\\])*"', '""', line)
    line = re.sub(r"'(\\.|[^'\\])'", "''", line)
    return line.split('//')[0]
for root in paths:
    files = [root] if root.endswith('.rs') else [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs if f.endswith('.rs')]
    for path in files:
        lines = open(path).read().split('\n')
        i = 0
        while i < len(lines):
            m = fnre.match(lines[i])
            if m:
                depth = 0; started = False; j = i
                while j < len(lines):
                    s = strip(lines[j])
                    if not started and ';' in s and '{' not in s: break
                    depth += s.count('{') - s.count('}')
                    if '{' in s: started = True
                    if started and depth <= 0: break
                    j += 1
                n = j - i + 1
                if started and n > limit: print(f"{n:5} {path}:{i+1} {m.group(6)}")
            i += 1
