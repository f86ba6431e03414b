"""The run history at its default bound: 500 runs x 10 rules.

    python benchmarks/bench_history.py [--runs 500] [--rules 10] [--repeat 7]

Builds a local history of `--runs` records of `--rules` rules each (with 20
metrics and a CodeBuild-like context, as a real gate writes them), then
measures:

* `releasegate report --html` end to end, in a fresh process (interpreter
  start-up included), next to `releasegate --version` in a fresh process as
  the floor the command cannot go below; and the rendering alone in-process;
* the size of the HTML file;
* appending one run to the 500-run history in-process, with keep = 500: most
  appends write one line; one in `slack + 1` (26) also trims the history back
  to 500 runs, checking every kept line.

Prints medians and best times of `--repeat` rounds. Targets: report ≤ 1 s and
≤ 1 MB; one append ≤ 20 ms.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pytest_releasegate.history import LocalHistory, encode, parse, series_for, slack
from pytest_releasegate.model import VERDICT_SCHEMA
from pytest_releasegate.sinks.html import render

METRICS = [
    *(f"tests.{c}" for c in ("total", "passed", "failed", "errors", "skipped", "xfailed")),
    *(f"tests.{c}" for c in ("xpassed", "pass_rate", "flaky", "quarantined_failed")),
    "tests.duration_s.total",
    "tests.duration_s.max",
    *(f"coverage.{c}" for c in ("percent", "line_percent", "branch_percent", "missing_lines")),
    *(f"smoke.{c}" for c in ("requests", "error_rate", "latency_ms.p95")),
    "alarms.in_alarm",
]


def record(n: int, rules: int, rng: random.Random) -> dict[str, object]:
    failed = rng.choice([0, 0, 0, 0, 1, 2])
    metrics = {m: round(rng.uniform(0, 100), 3) for m in METRICS}
    metrics["tests.failed"] = failed
    rule_entries = []
    for i in range(rules):
        metric = METRICS[i % len(METRICS)]
        actual = metrics[metric]
        rule_entries.append(
            {
                "name": f"rule {i} on {metric}",
                "metric": metric,
                **({"select": {"path": f"app/part{i}/**"}} if i % 3 == 2 else {}),
                "outcome": "pass" if failed == 0 else rng.choice(["pass", "fail"]),
                "level": "fail",
                "actual": actual,
                "threshold": {"min": 10, "warn-below": 20},
                "baseline": None,
                "message": f"{actual} within >= 10, warn < 20",
                "precision": 2 if metric.startswith("coverage") else None,
            }
        )
    return {
        "schema": "releasegate.history/1",
        "id": f"{n:032x}",
        "time": f"2026-{1 + n // 600:02d}-{1 + n // 24 % 28:02d}T{n % 24:02d}:00:00+00:00",
        "started_at": f"2026-{1 + n // 600:02d}-{1 + n // 24 % 28:02d}T{n % 24:02d}:00:00+00:00",
        "verdict": "pass" if failed == 0 else "fail",
        "profile": "ci",
        "policy": "pyproject.toml",
        "tool_version": "0.1.0",
        "rules": rule_entries,
        "metrics": metrics,
        "context": {
            "git_sha": f"{rng.getrandbits(160):040x}",
            "git_branch": "main",
            "codebuild_build_id": f"project:{rng.getrandbits(128):032x}",
            "codepipeline_execution_id": f"{rng.getrandbits(128):032x}",
        },
        "failed_tests": failed,
    }


def timed(fn: object, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        out.append(time.perf_counter() - start)
    return out


def show(label: str, times: list[float], target: float | None = None) -> None:
    median, best = statistics.median(times), min(times)
    verdict = ""
    if target is not None:
        verdict = f"  target <= {target * 1000:.0f} ms: {'met' if median <= target else 'MISSED'}"
    print(f"{label:<58} median {median * 1000:8.1f} ms  best {best * 1000:8.1f} ms{verdict}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=500)
    ap.add_argument("--rules", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    rng = random.Random(1)
    folder = Path(tempfile.mkdtemp(prefix="bench-history-"))
    try:
        records = [record(n, args.rules, rng) for n in range(args.runs)]
        history = folder / "history.jsonl"
        history.write_bytes(b"".join(encode(r) + b"\n" for r in records))
        verdict = {**records[-1], "schema": VERDICT_SCHEMA, "finished_at": records[-1]["time"]}
        (folder / "verdict.json").write_text(json.dumps(verdict))
        print(
            f"history: {args.runs} runs x {args.rules} rules, "
            f"{history.stat().st_size / 1e6:.2f} MB, {args.repeat} rounds each"
        )

        exe = shutil.which("releasegate") or sys.executable
        base = [exe] if exe.endswith("releasegate") else [exe, "-m", "pytest_releasegate"]
        out = folder / "report.html"

        def floor() -> None:
            subprocess.run([*base, "--version"], check=True, capture_output=True)

        def report() -> None:
            subprocess.run(
                [*base, "report", "--html", str(out), "--history", str(history)],
                check=True,
                capture_output=True,
            )

        show("`releasegate --version` (fresh process: the floor)", timed(floor, args.repeat))
        show(
            "`releasegate report --html` (fresh process, end to end)",
            timed(report, args.repeat),
            1.0,
        )
        size = out.stat().st_size
        print(
            f"{'HTML size':<58} {size / 1e3:8.1f} KB ({out.read_text().count('<svg')} charts)"
            f"  target <= 1000 KB: {'met' if size <= 1e6 else 'MISSED'}"
        )
        loaded = parse(history.read_bytes(), "h").records

        def render_only() -> None:
            render(verdict, series_for(verdict, loaded))

        def parse_only() -> None:
            parse(history.read_bytes(), "h")

        show("  of which: parse the history (in-process)", timed(parse_only, args.repeat))
        show("  of which: render the page (in-process)", timed(render_only, args.repeat))

        # At the bound, one append in `slack + 1` also trims (checking every kept line).
        cycle = slack(args.runs) + 1
        extra = [encode(record(args.runs + n, args.rules, rng)) for n in range(cycle * 2)]
        at_bound = LocalHistory(str(history))
        lines = iter(extra)
        appends = timed(lambda: at_bound.append(next(lines), args.runs), cycle * 2)
        show(
            f"append one run to the {args.runs}-run history (keep={args.runs})",
            appends,
            0.020,
        )
        print(
            f"{'  of which the trimming appends (1 in ' + str(cycle) + ')':<58} "
            f"max {max(appends) * 1000:8.1f} ms; mean over all "
            f"{statistics.mean(appends) * 1000:.1f} ms"
        )
        assert history.read_bytes().count(b"\n") <= args.runs + slack(args.runs)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
