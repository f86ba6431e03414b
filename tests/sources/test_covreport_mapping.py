"""Path mapping of other tools' reports, unmapped files, merging shards and sources."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_releasegate.model import Outcome, Rule, Selection
from pytest_releasegate.sinks.render import markdown
from pytest_releasegate.sources.covreport import FileData, merge_into, read_report
from pytest_releasegate.sources.covreport_paths import PathMapper

from ._polycov_support import DATA, copy_project, gate, measure_one

LINE = "coverage.line_percent"
BRANCH = "coverage.branch_percent"


@pytest.fixture(name="project")
def project_fixture(tmp_path: Path) -> Path:
    return copy_project(tmp_path / "project")


def test_unmapped_report_is_listed_warned_and_never_passes_a_path_rule(project: Path) -> None:
    # Without the remap, the build machine's /tmp/polycov-build/c/ names nothing here.
    rules = (
        Rule(name="all", metric=LINE, min=0),
        Rule(name="js", metric=LINE, select=Selection(path="c/**"), min=0),
        Rule(name="diff", metric="coverage.diff_percent", min=0),
    )
    g = gate(project, *rules, coverage={}, inputs=["c=c/reports/lcov/lcov.info"])
    verdict = g.run()
    by_name = {r.name: r for r in verdict.rules}
    assert by_name["all"].outcome is Outcome.PASS  # kept in the totals
    assert by_name["all"].actual == pytest.approx(100 * 15 / 22)
    assert by_name["js"].outcome is Outcome.ERROR
    assert "map to no project file" in by_name["js"].message
    assert by_name["diff"].outcome is Outcome.ERROR
    assert verdict.coverage_unmapped == (
        {
            "source": "coverage:c",
            "report": "c/reports/lcov/lcov.info",
            "count": 2,
            "paths": ["/tmp/polycov-build/c/calc.c", "/tmp/polycov-build/c/main.c"],
        },
    )
    [warning] = [w for w in verdict.warnings if "map to no file" in w]
    assert "c/reports/lcov/lcov.info" in warning
    assert "'/tmp/polycov-build/c/calc.c'" in warning
    assert verdict.to_json()["coverage_unmapped"][0]["count"] == 2
    assert "**Hint:** 2 covered files map to no file" in markdown(verdict)


def test_unmapped_listing_validates_against_the_schema(project: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    from pytest_releasegate.model import verdict_schema

    g = gate(
        project,
        Rule(name="all", metric=LINE, min=0),
        coverage={},
        inputs=["go/reports/count.out", "js/reports/c8/lcov.info"],
    )
    data = g.run().to_json()
    # go.mod maps the Go paths; the LCOV's relative names resolve from js/.
    assert "coverage_unmapped" not in data
    g = gate(
        project,
        Rule(name="all", metric=LINE, min=0),
        coverage={},
        inputs=["c/reports/lcov/lcov.info"],
    )
    data = json.loads(json.dumps(g.run().to_json()))
    assert data["coverage_unmapped"][0]["paths"] == [
        "/tmp/polycov-build/c/calc.c",
        "/tmp/polycov-build/c/main.c",
    ]
    jsonschema.validate(data, verdict_schema())


def test_mapper_order_sources_then_roots_then_remaps(tmp_path: Path) -> None:
    for name in ("web/app.js", "svc/src/main/java/com/x/A.java", "src/com/x/A.java", "lib/mod.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    mapper = PathMapper(
        tmp_path,
        {"web/": ["/build/web/", "C:\\agent\\_work\\1\\s\\web\\"]},
        ["svc/src/main/java"],
    )
    assert mapper.map("cobertura", "app.js", ["/nowhere", str(tmp_path / "web")]) == (
        "web/app.js",
        True,
    )
    assert mapper.map("plain", "/build/web/app.js") == ("web/app.js", True)
    assert mapper.map("plain", "C:\\agent\\_work\\1\\s\\web\\app.js") == ("web/app.js", True)
    # source-roots replaces the defaults (src/ is no longer tried).
    assert mapper.map("jacoco", "com/x/A.java") == ("svc/src/main/java/com/x/A.java", True)
    assert PathMapper(tmp_path).map("jacoco", "com/x/A.java") == ("src/com/x/A.java", True)
    assert mapper.map("plain", str(tmp_path / "lib" / "mod.py")) == ("lib/mod.py", True)
    assert mapper.map("plain", "lib/gone.py") == ("lib/gone.py", False)
    assert mapper.map("plain", "/elsewhere/x.py") == ("/elsewhere/x.py", False)


def test_remap_prefixes_match_without_regard_to_case_like_coverage_py(tmp_path: Path) -> None:
    # coverage.py's [paths] aliases match case-insensitively; Windows tools write the
    # drive letter and folders in either case (Istanbul: "c:\\Agent\\...", the agent: "C:\\agent").
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "App.js").write_text("")
    mapper = PathMapper(tmp_path, {"web/": ["C:\\agent\\_work\\1\\s\\web\\"]})
    assert mapper.map("plain", "c:\\Agent\\_work\\1\\s\\web\\App.js") == ("web/App.js", True)
    assert mapper.map("cobertura", "App.js", ["c:\\AGENT\\_work\\1\\s\\web"]) == (
        "web/App.js",
        True,
    )
    # The rest of the name keeps its case: it must name the file that exists.
    assert mapper.map("plain", "C:\\agent\\_work\\1\\s\\web\\app.js")[1] is False


def test_shards_merge_by_union_of_covered_lines(project: Path, tmp_path: Path) -> None:
    shard1 = tmp_path / "s1.info"
    shard2 = tmp_path / "s2.info"
    shard1.write_text(
        "SF:js/math.js\nDA:1,1\nDA:2,0\nDA:3,0\nBRDA:2,0,0,1\nBRDA:2,0,1,0\nend_of_record\n"
    )
    shard2.write_text(
        "SF:js/math.js\nDA:1,0\nDA:2,4\nDA:3,0\nBRDA:2,0,0,0\nBRDA:2,0,1,2\nend_of_record\n"
    )
    m = measure_one(project, LINE, [str(tmp_path / "s*.info")])
    assert m.value == pytest.approx(200 / 3)
    b = measure_one(project, BRANCH, [str(tmp_path / "s*.info")])
    assert b.value == 100.0  # the same two branch ids, each taken in one shard


def test_branches_without_ids_take_the_best_per_line() -> None:
    a = FileData("f")
    a.measured = {1}
    a.branch_counts = {1: (1, 4)}
    b = FileData("f")
    b.measured = {1}
    b.branch_counts = {1: (3, 4)}
    c = FileData("f")
    c.measured = {1}
    c.branch_ids = {1: {"0,0": True, "0,1": False}}
    merge_into(a, b)
    assert a.branch_totals() == (4, 3)
    merge_into(a, c)
    assert a.branch_totals() == (4, 3)  # 3 of 4 beats 1 of 2 on that line


def test_two_tools_reports_of_one_file_merge(project: Path) -> None:
    # gcovr's Cobertura and lcov's tracefile of the same C run, as two sources.
    coverage = {"paths": {"c/": ["/tmp/polycov-build/c/"]}}
    one = measure_one(
        project,
        LINE,
        ["a=c/reports/gcovr/cobertura.xml", "b=c/reports/lcov/lcov.info"],
        coverage=coverage,
    )
    assert one.value == pytest.approx(100 * 15 / 22)
    assert "in 2 files" in one.message


def test_go_blocks_give_statements_and_lines() -> None:
    f = read_report(DATA / "go" / "reports" / "count.out").files["example.com/polycov/calc/calc.go"]
    # Never() (lines 34-37) did not run; Divide's error branch (line 8) did not.
    assert {35, 36, 8}.isdisjoint(f.covered)
    assert {35, 36, 8} <= f.measured
    assert f.line_totals() == (13, 9)


def test_max_drop_against_a_baseline_over_report_sources(project: Path, tmp_path: Path) -> None:
    from pytest_releasegate.model import Relative

    baseline = tmp_path / "baseline.json"
    rules = (
        Rule(name="go", metric=LINE, select=Selection(source="coverage:go"), max_drop=Relative(1)),
        Rule(name="all", metric=LINE, max_drop=Relative(1)),
    )
    reference = gate(
        project, *rules, inputs=["go=go/reports/count.out"], save_baseline=str(baseline)
    )
    assert reference.publish(reference.run()) == []
    # A later run no longer covers Sum(): 3 fewer of the 19 statements.
    worse = tmp_path / "worse.out"
    text = (DATA / "go" / "reports" / "count.out").read_text()
    worse.write_text(
        text.replace("calc.go:25.29,27.27 2 1", "calc.go:25.29,27.27 2 0").replace(
            "calc.go:30.2,30.14 1 1", "calc.go:30.2,30.14 1 0"
        )
    )
    later = gate(project, *rules, inputs=[f"go={worse}"], baseline=str(baseline)).run()
    by_name = {r.name: r for r in later.rules}
    assert by_name["go"].baseline == pytest.approx(100 * 13 / 19)
    assert by_name["go"].actual == pytest.approx(100 * 10 / 19)
    assert by_name["go"].outcome is Outcome.FAIL
    assert by_name["all"].outcome is Outcome.FAIL


def test_jacoco_module_report_finds_its_module_sources(project: Path) -> None:
    # java/reports/jacoco.xml: java/src/main/java is found from the report's folder up.
    m = measure_one(project, LINE, ["java/reports/jacoco.xml"], path="java/src/**", coverage={})
    assert m.value == pytest.approx(100 * 16 / 22)
    g = gate(
        project, Rule(name="r", metric=LINE, min=0), coverage={}, inputs=["java/reports/jacoco.xml"]
    )
    assert g.run().coverage_unmapped == ()


def test_unmapped_names_are_truncated_in_every_output(project: Path) -> None:
    # SPEC §13: names taken from inputs are cut to 1,024 characters in every output.
    from pytest_releasegate.bounds import MAX_NAME

    long_name = "/build/" + "a" * 200_000 + ".js"
    (project / "long.info").write_text(f"SF:{long_name}\nDA:1,1\nend_of_record\n")
    g = gate(project, Rule(name="all", metric=LINE, min=0), coverage={}, inputs=["long.info"])
    verdict = g.run()
    [entry] = verdict.coverage_unmapped
    [path] = entry["paths"]
    assert len(path) <= MAX_NAME
    assert path.startswith("/build/aaa")
    [warning] = [w for w in verdict.warnings if "map to no file" in w]
    assert len(warning) < 2 * MAX_NAME
    assert len(json.dumps(verdict.to_json())) < 20_000
