"""benchmarks/bench_junit.py stays runnable and its readers keep agreeing (no timing asserted)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from pytest_releasegate.sources.junit import count_outcomes, read_junit

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_junit.py"


def load_bench() -> object:
    spec = importlib.util.spec_from_file_location("bench_junit", BENCH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_junit"] = module
    spec.loader.exec_module(module)
    return module


def test_generated_file_has_the_promised_mix(tmp_path: Path) -> None:
    bench = load_bench()
    path = tmp_path / "g.xml"
    bench.generate(path, 2000)  # type: ignore[attr-defined]
    counts = count_outcomes(read_junit(path).values())
    assert counts["total"] == 2000
    assert counts["failed"] and counts["error"] and counts["skipped"]
    assert counts["passed"] > 0.8 * 2000


def test_small_run_reports_every_reader(capsys: pytest.CaptureFixture[str]) -> None:
    bench = load_bench()
    assert bench.main(["--cases", "300", "--rounds", "1"]) == 0  # type: ignore[attr-defined]
    out = capsys.readouterr().out
    assert "counts (all readers agree): {'total': 300," in out
    for reader in ("lxml", "junitparser", "expat", "parse", "evaluate", "python"):
        assert f"\n{reader} " in out
    assert "target evaluate <= 0.45 s:" in out
