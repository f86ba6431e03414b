"""Benchmark the coverage source against coverage.py and diff-cover, in one run.

    python benchmarks/bench_coverage.py [--modules 500] [--repeat 5]

1. Whole-run metrics: the gate's coverage evaluation of a policy with five
   coverage rules vs one `coverage report` (both in this process, alternated,
   best of --repeat) on a generated package of --modules modules.
   Target: ratio <= 1.05.
2. Diff coverage on ~2,000 changed lines of that package in a git repository:
   `releasegate evaluate` with one diff rule, end to end in a fresh process,
   vs `coverage xml` + `diff-cover` (when diff-cover is importable, on PATH,
   or installed with `pip install --target DIR diff-cover` and given as
   --diff-cover-path DIR). Target: <= 0.5 s end to end.

Everything is generated under a temporary directory and removed afterwards.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

MODULE = '''\
"""Generated module {i}."""


def classify_{i}(n):
    if n < 0:
        return "negative"
    if n == 0:
        return "zero"
    return "positive"


def total_{i}(values):
    acc = 0
    for v in values:
        if v % 2:
            acc += v
        else:
            acc -= v
    return acc


def scale_{i}(values, factor=2):
    out = []
    for v in values:
        out.append(v * factor)
    return out


def describe_{i}(n):
    parts = []
    while n:
        n, digit = divmod(n, 10)
        parts.append(str(digit))
    return "-".join(reversed(parts)) or "0"


class Box{i}:
    def __init__(self, value):
        self.value = value

    def bigger(self, other):
        if self.value > other.value:
            return self
        return other
'''

# 40 executable lines appended to a changed module; about half of them run.
ADDED = """

def added_{i}(flag):
    a = 1
    b = 2
    c = a + b
    d = c * 2
    e = d - a
    f = e + b
    g = f * c
    h = g - d
    k = h + e
    m = k * 2
    n = m - 1
    p = n + a
    q = p * b
    r = q - c
    s = r + d
    t = s * e
    u = t - f
    if flag:
        v = u + g
        w = v * h
        x = w - k
        y = x + m
        z = y * n
        aa = z - p
        bb = aa + q
        cc = bb * r
        dd = cc - s
        ee = dd + t
        ff = ee * u
        gg = ff - v
        hh = gg + w
        ii = hh * x
        jj = ii - y
        kk = jj + z
        mm = kk * aa
        nn = mm - bb
        return nn
    return u
"""

POLICY_WHOLE = """
[[rule]]
name = "total"
metric = "coverage.percent"
min = 50

[[rule]]
name = "lines"
metric = "coverage.line_percent"
min = 50

[[rule]]
name = "branches"
metric = "coverage.branch_percent"
min = 40

[[rule]]
name = "every file"
metric = "coverage.min_file_line_percent"
min = 10

[[rule]]
name = "core package"
metric = "coverage.percent"
select = { path = "gen/sub0/**" }
min = 50
"""

POLICY_DIFF = """
[[rule]]
name = "changed lines"
metric = "coverage.diff_percent"
base = "main"
min = 40
"""


class Timing:
    """Wall-clock and CPU seconds of repeated runs (CPU time is steadier on a busy machine)."""

    def __init__(self) -> None:
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def add(self, wall: float, cpu: float) -> None:
        self.wall.append(wall)
        self.cpu.append(cpu)

    def __str__(self) -> str:
        return (
            f"wall {min(self.wall):.3f} s (median {statistics.median(self.wall):.3f}), "
            f"cpu {min(self.cpu):.3f} s"
        )


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# What `releasegate evaluate` imports before it measures anything (pytest among them).
IMPORTS = (
    "import pytest_releasegate.cli, pytest_releasegate.engine, coverage;"
    "from pytest_releasegate.manager import get_plugin_manager; get_plugin_manager()"
)


def run(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[float, float]:
    """(wall, cpu) seconds of one command, its own children included."""
    cpu = _children_cpu()
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, check=False, capture_output=True)
    return time.perf_counter() - start, _children_cpu() - cpu


def timed(fn: Callable[[], object], into: Timing) -> None:
    """Time one in-process call, counting the CPU of the subprocesses it runs too."""
    cpu, children = time.process_time(), _children_cpu()
    start = time.perf_counter()
    fn()
    wall = time.perf_counter() - start
    into.add(wall, time.process_time() - cpu + _children_cpu() - children)


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def generate(root: Path, modules: int) -> None:
    (root / "pyproject.toml").write_text('[tool.coverage.run]\nsource = ["gen"]\nbranch = true\n')
    per_dir = 50
    for i in range(modules):
        sub = root / "gen" / f"sub{i // per_dir}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / "__init__.py").touch()
        (sub / f"m{i}.py").write_text(MODULE.format(i=i))
    (root / "gen" / "__init__.py").touch()
    write_driver(root, modules, changed=0)


def write_driver(root: Path, modules: int, changed: int) -> None:
    lines = ["import importlib", f"for i in range({modules}):"]
    lines += [
        "    m = importlib.import_module(f'gen.sub{i // 50}.m{i}')",
        "    if i % 3:",
        "        getattr(m, f'classify_{i}')(i - 100)",
        "        getattr(m, f'total_{i}')(range(i % 7))",
        "    if i % 5 == 0:",
        "        getattr(m, f'describe_{i}')(i)",
        f"    if i < {changed}:",
        "        getattr(m, f'added_{i}')(i % 2)",
    ]
    (root / "drive.py").write_text("\n".join(lines) + "\n")


def measure_coverage(root: Path) -> None:
    for name in (".coverage", "coverage.xml"):
        (root / name).unlink(missing_ok=True)
    subprocess.run([sys.executable, "-m", "coverage", "run", "drive.py"], cwd=root, check=True)


def whole_run(root: Path, repeat: int) -> None:
    import coverage

    from pytest_releasegate.engine import Gate, GateOptions
    from pytest_releasegate.manager import get_plugin_manager
    from pytest_releasegate.policy import load_policy
    from pytest_releasegate.sources import coverage as source

    (root / "whole.toml").write_text(POLICY_WHOLE)
    policy = load_policy(root / "whole.toml", rootdir=root)
    data = str(root / ".coverage")
    pm = get_plugin_manager(entry_points=False)

    def report() -> float:
        cov = coverage.Coverage(data_file=data)
        cov.load()
        return cov.report(file=io.StringIO())

    def gate_coverage() -> None:
        # What the gate does for coverage: measure every rule, then the metrics hook.
        gate = Gate(policy, GateOptions(coverage=data), rootdir=root, pm=pm)
        for rule in gate.rules:
            measured = source.releasegate_measure(gate=gate, rule=rule)
            assert measured is not None
            assert measured.value is not None
        source.releasegate_metrics(gate=gate)

    def gate_run() -> None:
        Gate(policy, GateOptions(coverage=data), rootdir=root, pm=pm).run()

    os.chdir(root)
    report()  # warm the file cache for both sides
    t_report, t_gate, t_run = Timing(), Timing(), Timing()
    for _ in range(repeat):
        timed(report, t_report)
        timed(gate_coverage, t_gate)
        timed(gate_run, t_run)
    ratio_wall = min(t_gate.wall) / min(t_report.wall)
    ratio_cpu = min(t_gate.cpu) / min(t_report.cpu)
    print(f"1. whole-run coverage, 5 rules, best of {repeat} (alternated, in this process):")
    print(f"   coverage report            {t_report}")
    print(f"   gate coverage evaluation   {t_gate}")
    print(f"   whole Gate.run()           {t_run}")
    verdict = "met" if min(ratio_wall, ratio_cpu) <= 1.05 else "MISSED"
    print(f"   ratio gate / report        wall {ratio_wall:.3f}, cpu {ratio_cpu:.3f}")
    print(f"   target <= 1.05: {verdict}")


def diff_run(root: Path, modules: int, repeat: int, diff_cover_path: str | None) -> None:
    changed = 50
    git(root, "init", "-q", "-b", "main")
    git(root, "-c", "user.email=b@e", "-c", "user.name=b", "add", "-A")
    git(root, "-c", "user.email=b@e", "-c", "user.name=b", "commit", "-q", "-m", "base")
    git(root, "checkout", "-q", "-b", "feature")
    for i in range(changed):
        path = root / "gen" / f"sub{i // 50}" / f"m{i}.py"
        path.write_text(path.read_text() + ADDED.format(i=i))
    write_driver(root, modules, changed=changed)
    git(root, "-c", "user.email=b@e", "-c", "user.name=b", "commit", "-qam", "change")
    measure_coverage(root)
    added = sum(ADDED.count("\n") for _ in range(changed))
    (root / "diff.toml").write_text(POLICY_DIFF)

    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    gate_cmd = [
        sys.executable, "-m", "pytest_releasegate", "evaluate",
        "--policy", "diff.toml", "--coverage", ".coverage", "-q", "--json", "verdict.json",
    ]  # fmt: skip
    subprocess.run(gate_cmd, cwd=root, env=env, capture_output=True, check=False)
    (rule,) = json.loads((root / "verdict.json").read_text())["rules"]
    print(f"2. diff coverage, {changed} changed files, {added} added lines:")
    print(f"   gate says: {rule['actual']:.2f}% ({rule['message'][:120]}...)")
    t_gate, t_import = Timing(), Timing()
    for _ in range(repeat):
        t_gate.add(*run(gate_cmd, root, env))
        t_import.add(*run([sys.executable, "-c", IMPORTS], root, env))
    print(f"   releasegate evaluate, end to end    {t_gate}")
    print(f"     python start + its imports alone  {t_import}")
    print(f"   target <= 0.5 s: {'met' if min(t_gate.wall) <= 0.5 else 'MISSED'} (wall)")

    dc_env = dict(os.environ)
    if diff_cover_path:
        dc_env["PYTHONPATH"] = diff_cover_path
        diff_cover: list[str] | None = [sys.executable, "-m", "diff_cover.diff_cover_tool"]
    else:
        diff_cover = find_diff_cover()
    if diff_cover is None:
        print("   diff-cover not installed: comparison skipped (pip install diff-cover)")
        return
    xml_cmd = [sys.executable, "-m", "coverage", "xml", "-o", "coverage.xml"]
    dc_cmd = [*diff_cover, "coverage.xml", "--compare-branch=main"]
    run(xml_cmd, root)
    out = subprocess.run(dc_cmd, cwd=root, env=dc_env, capture_output=True, text=True)
    summary = [
        line
        for line in out.stdout.splitlines()
        if line.startswith(("Total", "Missing", "Coverage"))
    ]
    print("   diff-cover says: " + " | ".join(summary))
    t_dc = Timing()
    for _ in range(repeat):
        xml_wall, xml_cpu = run(xml_cmd, root)
        dc_wall, dc_cpu = run(dc_cmd, root, dc_env)
        t_dc.add(xml_wall + dc_wall, xml_cpu + dc_cpu)
    print(f"   coverage xml + diff-cover           {t_dc}")
    print(
        f"   ratio gate / (xml + diff-cover)     wall {min(t_gate.wall) / min(t_dc.wall):.3f}, "
        f"cpu {min(t_gate.cpu) / min(t_dc.cpu):.3f}"
    )


def find_diff_cover() -> list[str] | None:
    exe = shutil.which("diff-cover")
    if exe:
        return [exe]
    if importlib.util.find_spec("diff_cover") is None:
        return None
    return [sys.executable, "-m", "diff_cover.diff_cover_tool"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--diff-cover-path", metavar="DIR", help="where diff-cover is installed")
    args = parser.parse_args()
    here = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="bench-coverage-") as tmp:
        root = Path(tmp) / "project"
        root.mkdir()
        generate(root, args.modules)
        measure_coverage(root)
        print(f"generated {args.modules} modules in {root}")
        try:
            whole_run(root, args.repeat)
            diff_run(root, args.modules, args.repeat, args.diff_cover_path)
        finally:
            os.chdir(here)


if __name__ == "__main__":
    main()
