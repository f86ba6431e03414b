"""The gate's cost per test, against bare pytest and pytest's own --junitxml.

Generates synthetic suites of trivial tests (passes, a few failures, skips,
xfails, parametrized tests) and runs each comparison alternately (A B A B …)
in fresh pytest processes, printing the median wall time of each side, the
median and spread of the per-pair ratios B/A, and peak memory (ru_maxrss of
each child).

    python benchmarks/bench_overhead.py                     # 1k and 10k, 5 pairs
    python benchmarks/bench_overhead.py --sizes 50000 --pairs 3
    python benchmarks/bench_overhead.py --only startup

Comparisons (B vs A):
  gate       pytest --gate (8 rules, JSON + JUnit verdicts)  vs  pytest -p no:releasegate
  installed  pytest (plugin installed, not enabled)          vs  pytest -p no:releasegate
  junit      pytest --gate --gate-junit                      vs  pytest --junitxml (gate off)
  gate-n2    the `gate` comparison under -n 2
  startup    pytest --collect-only on a 1-test project, --gate vs off (absolute ms)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

POLICY = """
[tool.pytest.ini_options]
markers = ["critical"]

[tool.releasegate]
[[tool.releasegate.rule]]
name = "failures"
metric = "tests.failed"
max = 1000000
[[tool.releasegate.rule]]
name = "critical"
metric = "tests.failed"
select = { marker = "critical" }
max = 0
[[tool.releasegate.rule]]
name = "ran"
metric = "tests.total"
min = 1
[[tool.releasegate.rule]]
name = "pass rate"
metric = "tests.pass_rate"
min = 90
[[tool.releasegate.rule]]
name = "skips"
metric = "tests.skipped"
max = 1000000
level = "warn"
[[tool.releasegate.rule]]
name = "xfails"
metric = "tests.xfailed"
max = 1000000
level = "info"
[[tool.releasegate.rule]]
name = "flaky"
metric = "tests.flaky"
max = 10
level = "warn"
[[tool.releasegate.rule]]
name = "time"
metric = "tests.duration_s.total"
max = 100000
level = "info"
"""

PER_FILE = 500


def make_suite(root: Path, n: int) -> None:
    """`n` trivial tests in files of 500: 1% fail, 1% skip, 1% xfail, 1 in 50 critical, 20% parametrized."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(POLICY)
    made = 0
    index = 0
    while made < n:
        count = min(PER_FILE, n - made)
        lines = ["import pytest", ""]
        i = 0
        while i < count:
            k = made + i
            if k % 100 == 7:
                lines += [f"def test_{i}():", "    assert 0", ""]
            elif k % 100 == 13:
                lines += ["@pytest.mark.skip(reason='x')", f"def test_{i}():", "    pass", ""]
            elif k % 100 == 21:
                lines += ["@pytest.mark.xfail", f"def test_{i}():", "    assert 0", ""]
            elif k % 50 == 3:
                lines += ["@pytest.mark.critical", f"def test_{i}():", "    pass", ""]
            elif k % 10 == 5 and i + 5 <= count:
                lines += [
                    "@pytest.mark.parametrize('n', range(5))",
                    f"def test_{i}(n):",
                    "    pass",
                    "",
                ]
                i += 5
                continue
            else:
                lines += [f"def test_{i}():", "    pass", ""]
            i += 1
        (root / f"test_gen_{index:04d}.py").write_text("\n".join(lines))
        made += count
        index += 1


# Children run as after a normal install: with bytecode caches (some CI images
# set PYTHONDONTWRITEBYTECODE, which would charge every import a compile).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def precompile() -> None:
    import pytest_releasegate

    package = Path(pytest_releasegate.__file__).parent
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(package)], env=ENV, check=False)


def run(cmd: list[str], cwd: Path) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=cwd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"benchmark run failed ({proc.returncode}): {' '.join(cmd)}")
    return elapsed, usage.ru_maxrss


def compare(name: str, a: list[str], b: list[str], cwd: Path, pairs: int, n: int) -> float:
    """Run the pairs, print one line; returns the median peak-memory difference in bytes."""
    base = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"]
    run(base + a, cwd)  # warm the file cache and bytecode
    ta, tb, ma, mb, ratios = [], [], [], [], []
    for _ in range(pairs):
        t1, m1 = run(base + a, cwd)
        t2, m2 = run(base + b, cwd)
        ta.append(t1)
        tb.append(t2)
        ma.append(m1)
        mb.append(m2)
        ratios.append(t2 / t1)
    med_a, med_b = statistics.median(ta), statistics.median(tb)
    per_test_us = (med_b - med_a) / n * 1e6 if n else 0.0
    mem_delta = (statistics.median(mb) - statistics.median(ma)) * 1024 / n if n else 0.0
    print(
        f"{name:<10} n={n:<6} A {med_a:7.3f}s  B {med_b:7.3f}s  "
        f"ratio {statistics.median(ratios):.3f} (spread {min(ratios):.3f}-{max(ratios):.3f})  "
        f"{per_test_us:+7.1f} us/test  mem A {statistics.median(ma) / 1024:6.1f} MiB "
        f"B {statistics.median(mb) / 1024:6.1f} MiB ({mem_delta:+.0f} B/test)",
        flush=True,
    )
    return (statistics.median(mb) - statistics.median(ma)) * 1024


def startup(work: Path, pairs: int) -> None:
    root = work / "startup"
    root.mkdir()
    (root / "pyproject.toml").write_text(POLICY)
    (root / "test_one.py").write_text("def test_one():\n    pass\n")
    base = [sys.executable, "-m", "pytest", "-q", "--collect-only", "-p", "no:cacheprovider"]
    run(base, root)
    off, on = [], []
    for _ in range(max(pairs, 9)):
        off.append(run(base, root)[0])
        on.append(run([*base, "--gate"], root)[0])
    delta = (statistics.median(on) - statistics.median(off)) * 1000
    print(
        f"startup    collect-only, 1 test: off {statistics.median(off) * 1000:.0f} ms, "
        f"--gate {statistics.median(on) * 1000:.0f} ms, delta {delta:+.1f} ms (target <= 30 ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,10000", help="comma-separated suite sizes")
    parser.add_argument("--pairs", type=int, default=5, help="A/B pairs per comparison")
    parser.add_argument(
        "--only", default="gate,installed,junit,gate-n2,startup", help="comparisons to run"
    )
    args = parser.parse_args()
    wanted = set(args.only.split(","))
    mem_deltas: dict[int, float] = {}
    precompile()
    with tempfile.TemporaryDirectory(prefix="rg-bench-") as tmp:
        work = Path(tmp)
        if "startup" in wanted:
            startup(work, args.pairs)
        for n in (int(s) for s in args.sizes.split(",") if s):
            suite = work / f"suite{n}"
            make_suite(suite, n)
            # `--opt=value`: a separate existing path outside the suite would move pytest's rootdir.
            out = [f"--gate-json={work / 'v.json'}", f"--gate-junit={work / 'v.xml'}"]
            if "gate" in wanted:
                mem_deltas[n] = compare(
                    "gate", ["-p", "no:releasegate"], ["--gate", *out], suite, args.pairs, n
                )
            if "installed" in wanted:
                compare("installed", ["-p", "no:releasegate"], [], suite, args.pairs, n)
            if "junit" in wanted:
                compare(
                    "junit",
                    ["--junitxml", str(work / "p.xml")],
                    ["--gate", f"--gate-junit={work / 'v.xml'}"],
                    suite,
                    args.pairs,
                    n,
                )
            if "gate-n2" in wanted:
                compare(
                    "gate-n2",
                    ["-n", "2", "-p", "no:releasegate"],
                    ["-n", "2", "--gate", *out],
                    suite,
                    args.pairs,
                    n,
                )

    if len(mem_deltas) >= 2:
        # Fixed costs (imports, the verdict files) cancel out in the slope.
        lo, hi = min(mem_deltas), max(mem_deltas)
        slope = (mem_deltas[hi] - mem_deltas[lo]) / (hi - lo)
        print(f"gate memory per test (slope {lo}..{hi}): {slope:+.0f} B (target <= 512 B)")


if __name__ == "__main__":
    main()
