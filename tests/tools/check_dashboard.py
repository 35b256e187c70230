#!/usr/bin/env python3
"""Checks a Grafana dashboard against the metrics Outpost exports.

usage: check_dashboard.py DASHBOARD_JSON METRICS [--promtool PATH]

METRICS is either
  - a file in the Prometheus text exposition format (e.g. `curl .../metrics > m.txt`): names come
    from `# TYPE name type` lines and sample lines; or
  - a directory of C++ sources (e.g. src/): a name is known when it appears there as a string
    literal ("outpost_..."), which is how Metrics::counter()/gauge() register families.

Checks:
  - every `outpost_*` name in a panel target's `expr` (rows' nested panels included) and in the
    templating queries is known; `_bucket`/`_sum`/`_count` are stripped for histograms/summaries
    (in directory mode: whenever the bare name is not itself known);
  - every panel has a non-empty title, an id unique across the dashboard and a gridPos with
    integer h/w/x/y inside the 24-column grid; non-row, non-text panels have targets with an expr;
  - every `$var` / `${var}` used in an expr is a templating variable or a Grafana built-in;
  - with --promtool: every expr, Grafana variables replaced by sample values, parses as PromQL
    (via `promtool check rules`).

Exit status: 0 when all checks pass, 1 when some fail (each problem printed), 2 on bad usage.
Python 3 standard library only.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

METRIC_RE = re.compile(r"(?<![A-Za-z0-9_:])outpost_[A-Za-z0-9_:]*")
# Double-, single- and back-quoted PromQL strings (label values, regexes): not metric names.
STRING_RE = re.compile(r'"(?:\\.|[^"\\])*"|\'(?:\\.|[^\'\\])*\'|`[^`]*`')
VAR_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::[^}]*)?\}|\$([A-Za-z_][A-Za-z0-9_]*)")
HIST_SUFFIXES = ("_bucket", "_sum", "_count")
GRAFANA_BUILTINS = {"__rate_interval", "__interval", "__interval_ms", "__range", "__range_s",
                    "__range_ms", "__dashboard", "__from", "__to", "__org", "__user", "timeFilter",
                    "__timeFilter"}
# Values used to turn a Grafana expr into plain PromQL for --promtool.
SAMPLE_VALUES = {"__rate_interval": "1m", "__interval": "15s", "__range": "1h",
                 "__range_s": "3600", "__range_ms": "3600000", "__interval_ms": "15000"}
SOURCE_EXTS = (".cpp", ".cc", ".cxx", ".hpp", ".h", ".hh", ".ipp")


def walk_panels(panels, out):
    for p in panels or []:
        out.append(p)
        walk_panels(p.get("panels"), out)  # rows (collapsed) nest their panels
    return out


def template_queries(dash):
    out = []
    for v in (dash.get("templating") or {}).get("list") or []:
        if v.get("type") != "query":
            continue
        for key in ("query", "definition"):
            q = v.get(key)
            if isinstance(q, dict):
                q = q.get("query")
            if isinstance(q, str) and q:
                out.append((f"variable ${v.get('name')}.{key}", q))
    return out


def metric_names(expr):
    return sorted(set(METRIC_RE.findall(STRING_RE.sub('""', expr))))


class TextExposition:
    """Names from a Prometheus text-format scrape."""

    def __init__(self, path):
        self.types = {}
        self.samples = set()
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.strip()
                if line.startswith("# TYPE "):
                    parts = line.split()
                    if len(parts) >= 4:
                        self.types[parts[2]] = parts[3]
                elif line and not line.startswith("#"):
                    m = re.match(r"[A-Za-z_:][A-Za-z0-9_:]*", line)
                    if m:
                        self.samples.add(m.group(0))
        if not self.types and not self.samples:
            raise ValueError(f"{path}: no metrics found (not the text exposition format?)")

    def known(self, name):
        if name in self.types or name in self.samples:
            return True
        for suf in HIST_SUFFIXES:
            base = name[: -len(suf)]
            if name.endswith(suf) and self.types.get(base) in ("histogram", "summary"):
                return True
        return False

    def describe(self):
        return f"{len(self.types)} families in the exposition"


class SourceTree:
    """Names that appear as string literals in C++ sources."""

    def __init__(self, root):
        self.literals = set()
        nfiles = 0
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            for fn in filenames:
                if not fn.endswith(SOURCE_EXTS):
                    continue
                nfiles += 1
                with open(os.path.join(dirpath, fn), encoding="utf-8", errors="replace") as f:
                    self.literals.update(re.findall(r'"(outpost_[A-Za-z0-9_:]*)"', f.read()))
        if nfiles == 0:
            raise ValueError(f"{root}: no C++ sources found")
        self.nfiles = nfiles

    def known(self, name):
        if name in self.literals:
            return True
        return any(name.endswith(s) and name[: -len(s)] in self.literals for s in HIST_SUFFIXES)

    def describe(self):
        return f"{len(self.literals)} outpost_* names in {self.nfiles} source files"


def check_layout(panels, problems):
    seen = {}
    for p in panels:
        label = f"panel {p.get('title')!r} (id {p.get('id')})"
        if not isinstance(p.get("title"), str) or not p["title"].strip():
            problems.append(f"{label}: missing title")
        pid = p.get("id")
        if not isinstance(pid, int):
            problems.append(f"{label}: id is not an integer")
        elif pid in seen:
            problems.append(f"{label}: id {pid} also used by panel {seen[pid]!r}")
        else:
            seen[pid] = p.get("title")
        g = p.get("gridPos")
        if not isinstance(g, dict) or not all(isinstance(g.get(k), int) for k in "hwxy"):
            problems.append(f"{label}: gridPos missing or without integer h/w/x/y")
        elif g["w"] < 1 or g["h"] < 1 or g["x"] < 0 or g["y"] < 0 or g["x"] + g["w"] > 24:
            problems.append(f"{label}: gridPos {g} outside the 24-column grid")
        if p.get("type") not in ("row", "text"):
            exprs = [t.get("expr") for t in p.get("targets") or []]
            if not exprs or not all(isinstance(e, str) and e.strip() for e in exprs):
                problems.append(f"{label}: needs targets, each with a non-empty expr")


def promtool_check(promtool, exprs, variables, problems):
    values = dict(SAMPLE_VALUES)
    for v in variables:
        values.setdefault(v, ".*" if v == "instance" else "1")

    def subst(e):
        return VAR_RE.sub(lambda m: values.get(m.group(1) or m.group(2), "1"), e)

    groups = [{"name": "dashboard", "rules": []}]
    for i, (where, e) in enumerate(exprs):
        groups[0]["rules"].append({"record": f"dashboard:expr_{i}", "expr": subst(e)})
    # JSON is valid YAML, so no YAML library is needed.
    with tempfile.NamedTemporaryFile("w", suffix=".yml", delete=False) as f:
        json.dump({"groups": groups}, f)
        path = f.name
    try:
        r = subprocess.run([promtool, "check", "rules", path], capture_output=True, text=True)
    finally:
        os.unlink(path)
    if r.returncode != 0:
        out = (r.stdout + r.stderr).strip()
        failed = sorted({int(n) for n in re.findall(r"dashboard:expr_(\d+)", out)})
        for i in failed:
            problems.append(f"{exprs[i][0]}: not valid PromQL: {exprs[i][1]}")
        problems.append("promtool check rules failed:\n" + out)
    return r.returncode == 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dashboard")
    ap.add_argument("metrics", help="text exposition file, or a directory of C++ sources")
    ap.add_argument("--promtool", help="also parse every expr with this promtool binary")
    args = ap.parse_args()

    try:
        with open(args.dashboard, encoding="utf-8") as f:
            dash = json.load(f)
        source = (SourceTree(args.metrics) if os.path.isdir(args.metrics)
                  else TextExposition(args.metrics))
    except (OSError, ValueError) as e:
        print(f"check_dashboard: {e}", file=sys.stderr)
        return 2

    problems = []
    panels = walk_panels(dash.get("panels"), [])
    check_layout(panels, problems)

    exprs = []  # (where, expr)
    for p in panels:
        for t in p.get("targets") or []:
            if isinstance(t.get("expr"), str) and t["expr"].strip():
                exprs.append((f"panel {p.get('title')!r} target {t.get('refId')}", t["expr"]))
    variables = {v.get("name") for v in (dash.get("templating") or {}).get("list") or []}
    queries = template_queries(dash)

    used = {}
    for where, e in exprs + queries:
        for name in metric_names(e):
            used.setdefault(name, []).append(where)
    unknown = {n: w for n, w in used.items() if not source.known(n)}
    for name, wheres in sorted(unknown.items()):
        problems.append(f"unknown metric {name} (used by {'; '.join(sorted(set(wheres)))})")

    for where, e in exprs:
        for m in VAR_RE.finditer(e):
            var = m.group(1) or m.group(2)
            if var not in variables and var not in GRAFANA_BUILTINS:
                problems.append(f"{where}: undefined variable ${var}")
        if not metric_names(e):
            problems.append(f"{where}: expr uses no outpost_* metric: {e}")

    if args.promtool:
        promtool_check(args.promtool, exprs, variables, problems)

    if problems:
        for p in problems:
            print(f"FAIL: {p}")
        print(f"{len(problems)} problem(s) in {args.dashboard}")
        return 1
    print(f"OK: {args.dashboard}: {len(panels)} panels, {len(exprs)} exprs, {len(queries)} "
          f"templating queries; {len(used)} metric names, all known ({source.describe()})")
    for name in sorted(used):
        print(f"  {name}")
    if args.promtool:
        print("  every expr parses (promtool check rules)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
