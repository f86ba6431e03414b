"""Real producers' reports (tests/data/polycov): every total and per-file figure equals
the producer's own summary, read through the gate after path mapping.

Where a producer's summary and its own per-line data disagree, the test pins
which one the gate follows (docs/coverage.md says why).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pytest_releasegate.sources.covreport import read_report

from ._polycov_support import (
    DATA,
    SOURCE_ROOTS,
    copy_project,
    istanbul_table,
    istanbul_totals,
    measure_one,
    truncate2,
)

LINE = "coverage.line_percent"
BRANCH = "coverage.branch_percent"
PERCENT = "coverage.percent"
MISSING = "coverage.missing_lines"
WORST = "coverage.min_file_line_percent"


@pytest.fixture(name="project", scope="module")
def project_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_project(tmp_path_factory.mktemp("polycov") / "project")


def totals(path: Path) -> tuple[int, int, int, int]:
    """(covered lines, lines, taken branches, branches) over a report's files."""
    lc = lt = bc = bt = 0
    for f in read_report(path).files.values():
        lines, covered = f.line_totals()
        branches, taken = f.branch_totals()
        lc, lt, bc, bt = lc + covered, lt + lines, bc + taken, bt + branches
    return lc, lt, bc, bt


def per_file(path: Path) -> dict[str, tuple[int, int, int, int]]:
    out = {}
    for name, f in read_report(path).files.items():
        lines, covered = f.line_totals()
        branches, taken = f.branch_totals()
        out[name.rsplit("/", 1)[-1]] = (covered, lines, taken, branches)
    return out


# -- Istanbul: c8 and nyc -----------------------------------------------------

ISTANBUL_REPORTS = ("lcov.info", "cobertura-coverage.xml", "clover.xml")


@pytest.mark.parametrize("report", ISTANBUL_REPORTS)
@pytest.mark.parametrize("tool", ["c8", "nyc"])
def test_istanbul_lines_equal_its_summary(tool: str, report: str) -> None:
    folder = DATA / "js" / "reports" / tool
    summary = json.loads((folder / "coverage-summary.json").read_text())
    lc, lt, _, _ = totals(folder / report)
    assert (lc, lt) == (summary["total"]["lines"]["covered"], summary["total"]["lines"]["total"])
    text = (folder / "summary.txt").read_text()
    assert istanbul_totals(text)["Lines"] == (lc, lt)
    table = istanbul_table(text)
    for name, (covered, lines, _, _) in per_file(folder / report).items():
        exact = next(v for k, v in summary.items() if k.endswith("/" + name))["lines"]
        assert (covered, lines) == (exact["covered"], exact["total"])
        # Istanbul's printed percent is truncated, not rounded.
        assert truncate2(100 * covered / lines) == table[name]["lines"]


def test_c8_counts_every_physical_line() -> None:
    # c8 (V8 byte ranges) reports comment and blank lines as lines: math.js has 33.
    source = (DATA / "js" / "math.js").read_text().splitlines()
    files = per_file(DATA / "js" / "reports" / "c8" / "lcov.info")
    assert files["math.js"][1] == len(source) == 33
    nyc = per_file(DATA / "js" / "reports" / "nyc" / "lcov.info")
    assert nyc["math.js"][1] == 15  # Istanbul instrumentation: lines holding statements


@pytest.mark.parametrize("tool", ["c8", "nyc"])
def test_istanbul_branches_from_lcov_equal_its_summary(tool: str) -> None:
    folder = DATA / "js" / "reports" / tool
    summary = json.loads((folder / "coverage-summary.json").read_text())
    _, _, bc, bt = totals(folder / "lcov.info")
    assert (bc, bt) == (
        summary["total"]["branches"]["covered"],
        summary["total"]["branches"]["total"],
    )
    assert istanbul_totals((folder / "summary.txt").read_text())["Branches"] == (bc, bt)


def test_c8_branches_agree_in_every_format() -> None:
    folder = DATA / "js" / "reports" / "c8"
    assert {totals(folder / r)[2:] for r in ISTANBUL_REPORTS} == {(19, 21)}
    # 19/21 = 90.476...: Istanbul prints 90.47 (truncated); the gate keeps the value.
    assert "Branches     : 90.47% ( 19/21 )" in (folder / "summary.txt").read_text()


def test_nyc_cobertura_and_clover_drop_a_branch_on_a_line_without_statements() -> None:
    # `add(name, qty = 1)`: Istanbul's default-argument branch sits on the
    # declaration line, which holds no statement; its Cobertura and Clover
    # writers emit branches only on statement lines, so their per-line data has
    # 14 branches where the summary (and the LCOV of the same run) has 15. The
    # gate follows each report's per-line data (SPEC §9).
    folder = DATA / "js" / "reports" / "nyc"
    assert totals(folder / "lcov.info")[2:] == (12, 15)
    assert totals(folder / "cobertura-coverage.xml")[2:] == (12, 14)
    assert totals(folder / "clover.xml")[2:] == (12, 14)
    lcov = read_report(folder / "lcov.info").files["cart.js"]
    assert lcov.branch_ids[10] == {"0,0": False}
    assert 10 not in lcov.measured


# -- Go -------------------------------------------------------------------------


def func_total(text: str) -> float:
    return float(re.search(r"^total:\s+\(statements\)\s+([\d.]+)%", text, re.M).group(1))  # type: ignore[union-attr]


@pytest.mark.parametrize("profile", ["count", "set", "appended", "coverpkg"])
def test_go_statements_equal_go_tool_cover_func(project: Path, profile: str) -> None:
    reports = DATA / "go" / "reports"
    expected = func_total((reports / f"{profile}.func.txt").read_text())
    m = measure_one(project, LINE, [f"go/reports/{profile}.out"])
    assert m.value is not None
    assert round(m.value, 1) == expected == 68.4
    assert m.message.startswith("13 of 19 statements covered in 2 files")


def test_go_packages_equal_go_test_cover(project: Path) -> None:
    # `go test -cover` prints each package's statement percent; import paths map
    # to project folders through go/go.mod.
    text = (DATA / "go" / "reports" / "test.txt").read_text()
    printed = dict(re.findall(r"(example\.com/\S+)\s.*coverage: ([\d.]+)% of statements", text))
    calc = measure_one(project, LINE, ["go/reports/count.out"], path="go/calc.go")
    shapes = measure_one(project, LINE, ["go/reports/count.out"], path="go/shapes/**")
    assert round(calc.value or 0, 1) == float(printed["example.com/polycov/calc"]) == 69.2
    assert round(shapes.value or 0, 1) == float(printed["example.com/polycov/calc/shapes"])


def test_go_files_equal_go_tool_cover_html(project: Path) -> None:
    text = (DATA / "go" / "reports" / "count.files.txt").read_text()
    printed = dict(re.findall(r">(\S+\.go) \(([\d.]+)%\)<", text))
    assert len(printed) == 2
    for name, percent in printed.items():
        path = "go/" + name.removeprefix("example.com/polycov/calc/")
        m = measure_one(project, LINE, ["go/reports/count.out"], path=path)
        assert f"{m.value:.1f}" == percent


def test_go_repeated_blocks_merge_as_go_tool_cover_does() -> None:
    reports = DATA / "go" / "reports"
    count = read_report(reports / "count.out").files
    appended = read_report(reports / "appended.out").files
    coverpkg = read_report(reports / "coverpkg.out").files
    name = "example.com/polycov/calc/calc.go"
    assert appended[name].line_totals() == count[name].line_totals() == (13, 9)
    # -coverpkg=./...: both test binaries report every block; atomic counts add up.
    assert coverpkg[name].line_totals() == (13, 9)
    lines = (reports / "coverpkg.out").read_text().splitlines()
    assert sum(1 for line in lines if line.startswith(name + ":6.36,")) == 2
    assert read_report(reports / "set.out").files[name].mode == "set"


def test_go_profiles_carry_no_branches(project: Path) -> None:
    m = measure_one(project, BRANCH, ["go/reports/count.out"])
    assert m.value is None
    assert "no branch measurements" in (m.missing or "")


# -- gcovr and lcov (gcc) ---------------------------------------------------------


def gcovr_summary(text: str) -> dict[str, tuple[int, int]]:
    return {
        kind: (int(c), int(t))
        for kind, c, t in re.findall(r"^(\w+): [\d.]+% \((\d+) out of (\d+)\)", text, re.M)
    }


@pytest.mark.parametrize("report", ["cobertura.xml", "lcov.info", "clover.xml", "jacoco.xml"])
def test_gcovr_lines_equal_its_summary(report: str) -> None:
    folder = DATA / "c" / "reports" / "gcovr"
    summary = gcovr_summary((folder / "summary.txt").read_text())
    lc, lt, _, _ = totals(folder / report)
    assert (lc, lt) == summary["lines"] == (15, 22)
    table = {
        m[0]: (int(m[2]), int(m[1]))
        for m in re.findall(r"^(\S+\.c)\s+(\d+)\s+(\d+)", (folder / "report.txt").read_text(), re.M)
    }
    got = {name: (c, t) for name, (c, t, _, _) in per_file(folder / report).items()}
    assert got == table


@pytest.mark.parametrize("report", ["cobertura.xml", "lcov.info", "jacoco.xml"])
def test_gcovr_branches_equal_its_summary(report: str) -> None:
    folder = DATA / "c" / "reports" / "gcovr"
    summary = gcovr_summary((folder / "summary.txt").read_text())
    assert totals(folder / report)[2:] == summary["branches"] == (8, 12)


def test_gcovr_clover_has_no_branches_and_its_test_placeholder_is_skipped() -> None:
    folder = DATA / "c" / "reports" / "gcovr"
    assert "dummy" in (folder / "clover.xml").read_text()
    assert sorted(per_file(folder / "clover.xml")) == ["calc.c", "main.c"]
    assert totals(folder / "clover.xml")[2:] == (0, 0)


def test_gcovr_jacoco_is_judged_on_its_per_file_counters() -> None:
    files = read_report(DATA / "c" / "reports" / "gcovr" / "jacoco.xml").files
    calc = files["calc.c"]
    assert not calc.has_lines  # its <line> elements carry no instruction counts
    assert calc.counters == (15, 10, 10, 7)


def test_lcov_equals_lcov_summary() -> None:
    folder = DATA / "c" / "reports" / "lcov"
    text = (folder / "summary.txt").read_text()
    lines = re.search(r"lines\.+: [\d.]+% \((\d+) of (\d+) lines\)", text)
    branches = re.search(r"branches\.+: [\d.]+% \((\d+) of (\d+) branches\)", text)
    assert lines and branches
    lc, lt, bc, bt = totals(folder / "lcov.info")
    assert (lc, lt) == (int(lines.group(1)), int(lines.group(2)))
    assert (bc, bt) == (int(branches.group(1)), int(branches.group(2)))


def test_lcov_files_equal_lcov_list() -> None:
    folder = DATA / "c" / "reports" / "lcov"
    rows = re.findall(
        r"^(\S+\.c)\s*\|\s*([\d.]+)%\s+(\d+)\|.*\|\s*([\d.]+)%\s+(\d+)$",
        (folder / "list.txt").read_text(),
        re.M,
    )
    assert len(rows) == 2
    files = per_file(folder / "lcov.info")
    for name, line_rate, lines, branch_rate, branches in rows:
        covered, total, taken, branch_total = files[name]
        assert (total, branch_total) == (int(lines), int(branches))
        assert f"{100 * covered / total:.1f}" == line_rate
        assert f"{100 * taken / branch_total:.1f}" == branch_rate


# -- JaCoCo -------------------------------------------------------------------------


def jacoco_html_total(html: str) -> dict[str, tuple[int, int]]:
    foot = re.search(r"<tfoot>(.*?)</tfoot>", html).group(1)  # type: ignore[union-attr]
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", foot)
    # Total | instr "m of n" | cov | branches "m of n" | cov | cxty m, n | lines m, n | ...
    missed_b, total_b = map(int, cells[3].split(" of "))
    return {
        "branches": (total_b - missed_b, total_b),
        "lines": (int(cells[8]) - int(cells[7]), int(cells[8])),
    }


def test_jacoco_equals_its_html_total(project: Path) -> None:
    folder = DATA / "java" / "reports"
    expected = jacoco_html_total((folder / "index.html").read_text())
    lc, lt, bc, bt = totals(folder / "jacoco.xml")
    assert (lc, lt) == expected["lines"] == (16, 22)
    assert (bc, bt) == expected["branches"] == (9, 16)
    m = measure_one(
        project, LINE, ["java/reports/jacoco.xml"], coverage={"source-roots": SOURCE_ROOTS}
    )
    assert m.message.startswith("16 of 22 statements covered in 2 files")


def test_jacoco_files_equal_its_sourcefile_counters() -> None:
    text = (DATA / "java" / "reports" / "jacoco.xml").read_text()
    files = per_file(DATA / "java" / "reports" / "jacoco.xml")
    for name, body in re.findall(r'<sourcefile name="([^"]+)">(.*?)</sourcefile>', text):
        counters = {
            kind: (int(covered), int(missed) + int(covered))
            for kind, missed, covered in re.findall(
                r'<counter type="(\w+)" missed="(\d+)" covered="(\d+)"/>', body
            )
        }
        assert files[name] == (*counters["LINE"], *counters["BRANCH"])


def test_jacoco_csv_counts_a_line_of_two_classes_twice() -> None:
    # Calc.java line 33 holds Calc.runTwice and the anonymous Runnable: the CSV
    # (per class) counts it in both classes, 14 lines for the file; JaCoCo's
    # per-line data, its sourcefile counter and HTML total count it once (13).
    # The gate follows the per-line data.
    csv = (DATA / "java" / "reports" / "jacoco.csv").read_text().splitlines()[1:]
    rows = [r.split(",") for r in csv]
    calc_rows = [r for r in rows if r[2].startswith("Calc")]
    assert sum(int(r[7]) + int(r[8]) for r in calc_rows) == 14
    calc = per_file(DATA / "java" / "reports" / "jacoco.xml")["Calc.java"]
    assert calc[:2] == (9, 13)
    per_class_covered = sum(int(r[8]) for r in calc_rows)
    assert per_class_covered == calc[0] + 1


# -- coverage.py's own reports ---------------------------------------------------------


@pytest.mark.parametrize("report", ["coverage.xml", "lcov.info", "coverage.json"])
def test_coveragepy_reports_equal_coverage_report(project: Path, report: str) -> None:
    text = (DATA / "python" / "reports" / "report.txt").read_text()
    rows = {
        m[0]: (int(m[1]), int(m[2]), int(m[3]), int(m[4]), float(m[5]))
        for m in re.findall(r"^(\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+([\d.]+)%", text, re.M)
    }
    stmts, miss, branches, _partial, cover = rows["TOTAL"]
    lc, lt, _bc, bt = totals(DATA / "python" / "reports" / report)
    assert (lt, lt - lc) == (stmts, miss)
    assert bt == branches
    m = measure_one(project, PERCENT, [f"python/reports/{report}"])
    assert m.value is not None
    assert round(m.value, 2) == cover == 76.0
    files = per_file(DATA / "python" / "reports" / report)
    for name, (stmts, miss, branches, _partial, cover) in rows.items():
        if name == "TOTAL":
            continue
        covered, lines, _taken, branch_total = files[name.rsplit("/", 1)[-1]]
        assert (lines, lines - covered, branch_total) == (stmts, miss, branches)
        m = measure_one(project, PERCENT, [f"python/reports/{report}"], path=f"python/{name}")
        assert round(m.value or 0, 2) == cover


# -- every family through the gate: path selection after mapping -------------------------

FAMILIES = [
    ("js/reports/c8/lcov.info", "js/math.js", 29 / 33),
    ("js/reports/c8/cobertura-coverage.xml", "js/math.js", 29 / 33),
    ("js/reports/nyc/clover.xml", "js/cart.js", 10 / 11),
    ("c/reports/gcovr/cobertura.xml", "c/calc.c", 10 / 15),
    ("c/reports/gcovr/clover.xml", "c/calc.c", 10 / 15),
    ("c/reports/gcovr/jacoco.xml", "c/**", 15 / 22),
    ("c/reports/lcov/lcov.info", "c/main.c", 5 / 7),
    ("go/reports/count.out", "go/shapes/shapes.go", 4 / 6),
    ("java/reports/jacoco.xml", "java/**/Calc.java", 9 / 13),
    ("python/reports/coverage.json", "python/shop/**", 9 / 13),
    ("python/reports/lcov.info", "python/test_pricing.py", 1.0),
]


@pytest.mark.parametrize(("report", "path", "expected"), FAMILIES)
def test_path_selection_after_mapping(
    project: Path, report: str, path: str, expected: float
) -> None:
    coverage = {
        "paths": {"js/": ["/tmp/polycov-build/js/"], "c/": ["/tmp/polycov-build/c/"]},
        "source-roots": SOURCE_ROOTS,
    }
    m = measure_one(
        project, LINE, [f"x={report}"], path=path, source="coverage:x", coverage=coverage
    )
    assert m.value == pytest.approx(100 * expected)
    worst = measure_one(project, WORST, [report], path=path, coverage=coverage)
    assert worst.value is not None
    missing = measure_one(project, MISSING, [report], path=path, coverage=coverage)
    assert missing.value is not None and missing.value >= 0
