"""Diff coverage over other tools' reports, against diff-cover on the same diff.

A real git repository in tmp_path holds the sample projects: `main` has older
versions of some source files (functions missing, lines different), the
feature branch has the versions the committed reports measured. diff-cover
(installed with the `test` extra) reads the same reports on the same diff.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pytest_releasegate.model import Rule, Selection
from pytest_releasegate.sources import polycov
from pytest_releasegate.sources.coverage import CoverageProblem

from ._coverage_support import GitRepo
from ._polycov_support import BUILD, DATA, gate

pytest.importorskip("diff_cover")

#: project → file → (lines dropped on main, lines that differ on main), 1-based, new version.
CHANGES = {
    "js": {"math.js": (range(20, 32), {33}), "cart.js": ((), {19, 25})},
    "c": {"calc.c": (range(20, 26), {16})},
    "java": {"src/main/java/com/example/calc/Calc.java": (range(30, 39), {22})},
    "go": {"calc.go": (range(32, 38), {7, 27})},
}
DIFF_RULE = Rule(name="d", metric="coverage.diff_percent", base="main", min=0)


@pytest.fixture(name="repos", scope="module")
def repos_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One git repository per sample project (its folder is the project root)."""
    top = tmp_path_factory.mktemp("diff")
    for project, changes in CHANGES.items():
        root = top / project
        shutil.copytree(DATA / project, root)
        # Reports as if built in this checkout (diff-cover has no path remapping).
        for report in root.glob("reports/**/*"):
            if report.is_file() and report.suffix in (".xml", ".info", ".out"):
                report.write_text(report.read_text().replace(f"{BUILD}{project}/", f"{root}/"))
        new = {name: (root / name).read_text() for name in changes}
        for name, (dropped, altered) in changes.items():
            lines = new[name].splitlines(keepends=True)
            old = [
                line.rstrip("\n") + " /* old */\n" if n in altered else line
                for n, line in enumerate(lines, start=1)
                if n not in dropped
            ]
            (root / name).write_text("".join(old))
        git = GitRepo(root)
        git.commit(message="main")
        git.git("checkout", "-q", "-b", "feature")
        for name, text in new.items():
            (root / name).write_text(text)
        git.commit(message="feature")
    return top


def ours(
    repo: Path, report: str, path: str | None = None, **coverage: Any
) -> tuple[int, int, dict[str, Any]]:
    """(executable changed lines, uncovered, per file) from the gate over one report."""
    g = gate(repo, DIFF_RULE, coverage=coverage, inputs=[f"x={report}"])
    scope = polycov._scope(g, Selection(source="coverage:x"))
    assert scope.problem is None
    diff = polycov._report_diff(g, "main", path, scope)
    executable = sum(len(e) for e, _ in diff.files.values())
    uncovered = sum(len(u) for _, u in diff.files.values())
    per_file = {
        name.rsplit("/", 1)[-1]: (sorted(e), sorted(u)) for name, (e, u) in diff.files.items()
    }
    return executable, uncovered, per_file


def diff_cover(repo: Path, report: str, *extra: str) -> dict[str, Any]:
    out = repo / "diff-cover.json"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "diff_cover.diff_cover_tool",
            str(repo / report),
            "--compare-branch=main",
            f"--format=json:{out}",
            *extra,
        ],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    data: dict[str, Any] = json.loads(out.read_text())
    out.unlink()
    return data


def theirs(data: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, stats in data["src_stats"].items():
        measured = sorted(set(stats["covered_lines"]) | set(stats["violation_lines"]))
        if measured:
            out[name.rsplit("/", 1)[-1]] = (measured, sorted(stats["violation_lines"]))
    return out


AGREE = [
    ("js", "reports/c8/lcov.info"),
    ("js", "reports/c8/cobertura-coverage.xml"),
    ("js", "reports/c8/clover.xml"),
    ("js", "reports/nyc/cobertura-coverage.xml"),
    ("js", "reports/nyc/clover.xml"),
    ("c", "reports/gcovr/cobertura.xml"),
    ("c", "reports/gcovr/lcov.info"),
    ("c", "reports/gcovr/clover.xml"),
    ("c", "reports/lcov/lcov.info"),
    ("java", "reports/jacoco.xml"),
]


@pytest.mark.parametrize(("project", "report"), AGREE)
def test_diff_coverage_agrees_with_diff_cover(repos: Path, project: str, report: str) -> None:
    repo = repos / project
    expected = diff_cover(repo, report)
    executable, uncovered, per_file = ours(repo, report)
    assert executable == expected["total_num_lines"] > 0
    assert uncovered == expected["total_num_violations"]
    assert per_file == theirs(expected)


def test_nyc_lcov_diff_cover_also_counts_function_and_branch_only_lines(repos: Path) -> None:
    repo = repos / "js"
    # diff-cover's LCOV reader makes a line of every FN record and of every
    # BRDA line without a DA record; SPEC §9 counts DA lines only. nyc writes
    # no DA for a function's declaration line (`function describe(items) {`,
    # line 21; `function unused(x) {`, line 28).
    expected = diff_cover(repo, "reports/nyc/lcov.info")
    executable, uncovered, per_file = ours(repo, "reports/nyc/lcov.info")
    theirs_files = theirs(expected)
    extra = set(theirs_files["math.js"][0]) - set(per_file["math.js"][0])
    assert extra == {21, 28}
    assert set(per_file["math.js"][0]) <= set(theirs_files["math.js"][0])
    assert executable == expected["total_num_lines"] - len(extra)
    # Line 28 (unused, never called) is a violation for diff-cover; 21 was run.
    assert uncovered == expected["total_num_violations"] - 1


def test_gcovr_jacoco_is_an_error_where_diff_cover_says_zero(repos: Path) -> None:
    repo = repos / "c"
    # Its default --src-roots (src/main/java src/test/java) finds no calc.c:
    # "no lines with coverage information", 100 %.
    assert diff_cover(repo, "reports/gcovr/jacoco.xml")["total_percent_covered"] == 100
    # Told where the file is, it reads lines without `ci` as missed: 0 %, although
    # line 16 ran (gcovr's own Cobertura says so).
    expected = diff_cover(repo, "reports/gcovr/jacoco.xml", "--src-roots", ".")
    assert expected["total_percent_covered"] == 0
    assert 16 in expected["src_stats"]["calc.c"]["violation_lines"]
    assert (
        16
        not in diff_cover(repo, "reports/gcovr/cobertura.xml")["src_stats"]["calc.c"][
            "violation_lines"
        ]
    )
    g = gate(repo, DIFF_RULE, inputs=["x=reports/gcovr/jacoco.xml"])
    scope = polycov._scope(g, Selection(source="coverage:x"))
    with pytest.raises(CoverageProblem, match=r"no per-line data for calc\.c"):
        polycov._report_diff(g, "main", None, scope)
    rule = Rule(name="d", metric="coverage.diff_percent", base="main", min=0)
    m = gate(repo, rule, inputs=["reports/gcovr/jacoco.xml"]).measure(rule)
    assert m.value is None
    assert "reports/gcovr/jacoco.xml has no per-line data" in (m.missing or "")


def test_go_diff_follows_the_block_rule(repos: Path) -> None:
    repo = repos / "go"
    # Line 7 is spanned by a block that ran (6.36-7.12) and one that did not
    # (7.12-9.3): executable, not covered. Line 27: both spanning blocks ran.
    # Never() (34-37) did not run; 32 (blank) and 33 (comment) are no block's.
    _, _, per_file = ours(repo, "reports/count.out")
    assert per_file == {"calc.go": ([7, 27, 34, 35, 36, 37], [7, 34, 35, 36, 37])}
    rule = Rule(name="d", metric="coverage.diff_percent", base="main", min=0)
    m = gate(repo, rule, inputs=["reports/count.out"]).measure(rule)
    assert m.value == pytest.approx(100 / 6)
    assert "1 of 6 changed executable lines covered" in m.message
    assert "calc.go:7, 34-37" in m.message
