"""Hostile inputs in bounded time and memory (issue 12, SPEC §13).

Each case runs in a fresh child process and prints its wall time and peak
RSS (ru_maxrss); nothing asserts a time. Targets:

  rules     `Gate.run()` over N rules (half selected by nodeid) and 1,000
            JUnit tests: linear in N (the 10k/1k ratio near 10), 10k rules
            evaluated in under 1 s (policy parsing is timed apart).
  bigname   `releasegate evaluate` over a JUnit file whose one failing test
            has a 100 MB name, writing JSON, JUnit and Markdown: seconds,
            not minutes; every output under 64 KB.
  symlinks  `releasegate evaluate --input-junit 'reports/**/*.xml'` over a
            tree with three symlinks back up: each real file read once.

    python benchmarks/bench_hostile.py                   # all cases
    python benchmarks/bench_hostile.py --only rules --rules 1000,10000
    python benchmarks/bench_hostile.py --only bigname --mb 20
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

_RULES_CHILD = r"""
import json, resource, sys, time
from pathlib import Path
from pytest_releasegate.engine import Gate, GateOptions
from pytest_releasegate.manager import get_plugin_manager, known_metrics
from pytest_releasegate.policy import parse_policy, tomllib

root = Path(sys.argv[1])
text = (root / "releasegate.toml").read_text()
# Warm up: import the sources once, so the timing below is the per-rule work.
warm = parse_policy({"rule": [{"name": "w", "metric": "tests.failed", "max": 0}]})
Gate(warm, GateOptions(input_junit=["r.xml"]), rootdir=root).run()
t0 = time.perf_counter()
pm = get_plugin_manager()
policy = parse_policy(tomllib.loads(text), source="releasegate.toml", metrics=known_metrics(pm))
t1 = time.perf_counter()
gate = Gate(policy, GateOptions(input_junit=["r.xml"]), rootdir=root, pm=pm)
verdict = gate.run()
t2 = time.perf_counter()
assert len(verdict.rules) == len(policy.rules)
print(json.dumps({"parse": t1 - t0, "evaluate": t2 - t1, "verdict": verdict.verdict.value,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _child_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def bench_rules(sizes: list[int]) -> None:
    print("rules: Gate.run() over N rules and 1,000 JUnit tests (target: linear, 10k < 1 s)")
    per_rule = {}
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            rules = []
            for i in range(n):
                sel = ""  # one rule in two selects one test by its node id, some by glob
                if i % 2:
                    glob = "*" if i % 10 == 1 else ""
                    sel = f'select = {{ nodeid = "c::t{i % 1000}{glob}" }}\n'
                rules.append(
                    f'[[rule]]\nname = "rule {i}"\nmetric = "tests.failed"\n{sel}max = 0\n'
                )
            (root / "releasegate.toml").write_text("".join(rules))
            cases = "".join(f'<testcase classname="c" name="t{i}"/>' for i in range(1000))
            (root / "r.xml").write_text(f'<testsuite name="s">{cases}</testsuite>')
            out = subprocess.run(
                [sys.executable, "-c", _RULES_CHILD, str(root)],
                capture_output=True, text=True, check=True, cwd=REPO,
            )  # fmt: skip
            data = json.loads(out.stdout)
        per_rule[n] = data["evaluate"] / n
        print(
            f"  {n:>6} rules: parse {data['parse']:.3f} s, evaluate {data['evaluate']:.3f} s "
            f"({1e6 * per_rule[n]:.1f} us/rule), peak {data['rss_mb']:.0f} MiB, {data['verdict']}"
        )
    if len(sizes) > 1:
        lo, hi = min(sizes), max(sizes)
        print(f"  per-rule cost ratio {hi}/{lo}: {per_rule[hi] / per_rule[lo]:.2f} (1.0 = linear)")


def _run_cli(root: Path, *args: str, timeout: float = 600) -> tuple[float, int]:
    before = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest_releasegate", *args],
        cwd=root, capture_output=True, text=True, check=False, timeout=timeout,
    )  # fmt: skip
    return time.perf_counter() - before, proc.returncode


def bench_bigname(mb: int) -> None:
    print(f"bigname: one failing test named with {mb} MB, JSON + JUnit + Markdown written")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "releasegate.toml").write_text(
            '[[rule]]\nname = "no failures"\nmetric = "tests.failed"\nmax = 0\n'
        )
        with open(root / "big.xml", "w") as fh:
            fh.write('<testsuite name="s"><testcase classname="c" name="')
            block = "t" * (1024 * 1024)
            for _ in range(mb):
                fh.write(block)
            fh.write('"><failure message="x"/></testcase><testcase classname="c" name="ok"/>')
            fh.write("</testsuite>")
        seconds, code = _run_cli(
            root, "evaluate", "--input-junit", "big.xml", "--json", "v.json",
            "--junit", "v.xml", "--markdown", "v.md",
        )  # fmt: skip
        sizes = {n: (root / n).stat().st_size for n in ("v.json", "v.xml", "v.md")}
    print(
        f"  {seconds:.2f} s, exit {code}, peak {_child_rss_mb():.0f} MiB (largest child so far), "
        f"outputs {sizes} bytes"
    )


def bench_symlinks() -> None:
    print("symlinks: reports/**/*.xml over a tree with three symlinks back up")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        sub = root / "reports" / "sub"
        sub.mkdir(parents=True)
        (sub / "a.xml").write_text('<testsuite name="s"><testcase name="t"/></testsuite>')
        (sub / "up").symlink_to("..")
        (sub / "self").symlink_to(".")
        (sub / "again").symlink_to("../sub")
        (root / "releasegate.toml").write_text(
            '[[rule]]\nname = "one test"\nmetric = "tests.total"\nmin = 1\nmax = 1\n'
        )
        seconds, code = _run_cli(root, "evaluate", "--input-junit", "reports/**/*.xml")
    print(f"  {seconds:.2f} s, exit {code} (0: exactly one test counted)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="rules,bigname,symlinks")
    parser.add_argument("--rules", default="1000,10000", help="rule counts, comma-separated")
    parser.add_argument("--mb", type=int, default=100, help="size of the long test name")
    args = parser.parse_args()
    only = set(args.only.split(","))
    os.environ.setdefault("PYTHONUTF8", "1")
    if "rules" in only:
        bench_rules([int(n) for n in args.rules.split(",")])
    if "symlinks" in only:
        bench_symlinks()
    if "bigname" in only:
        bench_bigname(args.mb)


if __name__ == "__main__":
    main()
