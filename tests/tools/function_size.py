#!/usr/bin/env python3
"""The 80-line rule: every function in src/ is at most LIMIT lines from its first line to its
closing brace, as Universal Ctags (Debian's universal-ctags) measures them. Lists the functions
over the limit, longest first, and exits 1 when there is any.

  function_size.py SRC_DIR [--limit 80]
"""
import argparse
import json
import shutil
import subprocess
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("src")
    ap.add_argument("--limit", type=int, default=80)
    a = ap.parse_args()
    out = subprocess.run(
        [shutil.which("ctags-universal") or "ctags", "--output-format=json", "--fields=+ne", "--kinds-C++=f", "--languages=C++",
         "-R", "-f", "-", a.src],
        check=True, capture_output=True, text=True).stdout
    over = []
    count = 0
    for line in out.splitlines():
        t = json.loads(line)
        if t.get("_type") != "tag" or "end" not in t:
            continue
        count += 1
        n = t["end"] - t["line"] + 1
        if n > a.limit:
            scope = t.get("scope", "")
            name = f"{scope}::{t['name']}" if scope else t["name"]
            over.append((n, f"{t['path']}:{t['line']}", name))
    if count == 0:
        sys.exit("function_size: ctags found no functions (is universal-ctags installed?)")
    for n, where, name in sorted(over, reverse=True):
        print(f"{where}: {name} is {n} lines (limit {a.limit})")
    if over:
        print(f"function_size: {len(over)} of {count} functions are over {a.limit} lines",
              file=sys.stderr)
        return 1
    print(f"function_size: all {count} functions are at most {a.limit} lines")
    return 0


if __name__ == "__main__":
    sys.exit(main())
