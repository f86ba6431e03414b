"""Helpers for the tests of other tools' coverage reports (tests/data/polycov)."""

from __future__ import annotations

import math
import re
import shutil
from pathlib import Path
from typing import Any

from pytest_releasegate.engine import Gate, GateOptions
from pytest_releasegate.manager import get_plugin_manager
from pytest_releasegate.model import Measurement, Rule, Selection
from pytest_releasegate.policy import Policy
from pytest_releasegate.sections import CoverageConfig

DATA = Path(__file__).resolve().parents[1] / "data" / "polycov"
REPORTS = DATA / "reports"
#: Where regenerate.sh built the projects: the "build machine" prefix in the reports.
BUILD = "/tmp/polycov-build/"
#: Maps the build prefix back onto the project copy (as a CI user would).
REMAPS = {
    "js/": [BUILD + "js/"],
    "c/": [BUILD + "c/"],
    "go/": [BUILD + "go/"],
    "python/": [BUILD + "python/"],
}
SOURCE_ROOTS = ["java/src/main/java"]


def copy_project(root: Path) -> Path:
    """The sample projects and their reports under ``root`` (the project root)."""
    shutil.copytree(DATA, root, ignore=shutil.ignore_patterns("regenerate.sh"))
    return root


def gate(
    root: Path,
    *rules: Rule,
    coverage: dict[str, Any] | None = None,
    inputs: list[str] | None = None,
    **options: Any,
) -> Gate:
    raw = coverage if coverage is not None else {"paths": REMAPS}
    config = CoverageConfig(
        paths={k: tuple(v) for k, v in raw.get("paths", {}).items()},
        **({"source_roots": tuple(raw["source-roots"])} if "source-roots" in raw else {}),
    )
    policy = Policy(rules=rules, coverage=config)
    return Gate(
        policy,
        GateOptions(input_coverage=list(inputs or []), **options),
        rootdir=root,
        pm=get_plugin_manager(entry_points=False),
    )


def measure_one(
    root: Path,
    metric: str,
    inputs: list[str],
    *,
    path: str | None = None,
    source: str | None = None,
    coverage: dict[str, Any] | None = None,
    **rule: Any,
) -> Measurement:
    r = Rule(name="r", metric=metric, select=Selection(path=path, source=source), **rule)
    return gate(root, r, coverage=coverage, inputs=inputs).measure(r)


def truncate2(value: float) -> float:
    """Istanbul's percent: truncated (not rounded) to two decimals."""
    return math.floor(value * 100 + 1e-9) / 100


def istanbul_totals(summary: str) -> dict[str, tuple[int, int]]:
    """{"Lines": (covered, total), ...} from Istanbul's text-summary."""
    out = {}
    for kind, covered, total in re.findall(r"^(\w+)\s*: [\d.]+% \( (\d+)/(\d+) \)", summary, re.M):
        out[kind] = (int(covered), int(total))
    return out


def istanbul_table(summary: str) -> dict[str, dict[str, float]]:
    """Per-file percents from Istanbul's text table: {"cart.js": {"lines": 93.1, ...}}."""
    out = {}
    for line in summary.splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) >= 5 and cells[0].endswith(".js"):
            out[cells[0]] = {
                "statements": float(cells[1]),
                "branches": float(cells[2]),
                "lines": float(cells[4]),
            }
    return out
