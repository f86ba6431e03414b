"""`pytest --cov --gate-input-coverage js=…`: coverage.py's data and another tool's report together."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .test_coverage_plugin import CALC, TESTS, _plugin_args

REPO = Path(__file__).resolve().parents[2]
JS = REPO / "tests" / "data" / "polycov" / "js"

POLICY = """
[tool.releasegate]

[[tool.releasegate.rule]]
name = "all lines"
metric = "coverage.line_percent"
min = 50

[[tool.releasegate.rule]]
name = "python lines"
metric = "coverage.line_percent"
select = { source = "coverage.py" }
min = 50

[[tool.releasegate.rule]]
name = "js lines"
metric = "coverage.line_percent"
select = { source = "coverage:js" }
min = 50

[[tool.releasegate.rule]]
name = "js math file"
metric = "coverage.min_file_line_percent"
select = { source = "coverage:js", path = "js/math.js" }
min = 50

[[tool.releasegate.rule]]
name = "all missing"
metric = "coverage.missing_lines"
max = 100
"""


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    pytester.makefile(".toml", pyproject=POLICY)
    pkg = pytester.mkpydir("calc")
    (pkg / "core.py").write_text(CALC)
    pytester.makepyfile(test_calc=TESTS)
    js = pytester.path / "js"
    js.mkdir()
    for name in ("math.js", "cart.js"):
        shutil.copy(JS / name, js / name)
    (js / "reports").mkdir()
    shutil.copy(JS / "reports" / "c8" / "lcov.info", js / "reports" / "lcov.info")
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    return pytester


def test_rule_without_source_judges_both_and_source_narrows(project: pytest.Pytester) -> None:
    result = project.runpytest_subprocess(
        *_plugin_args(), "--cov=calc", "--cov-report=",
        "--gate", "--gate-json", "v.json", "--gate-input-coverage", "js=js/reports/lcov.info",
    )  # fmt: skip
    assert result.ret == 0, result.stdout.str()
    verdict = json.loads((project.path / "v.json").read_text())
    rules = {r["name"]: r for r in verdict["rules"]}
    assert {r["outcome"] for r in rules.values()} == {"pass"}

    subprocess.run(
        [sys.executable, "-m", "coverage", "json", "-o", "cov.json"],
        cwd=project.path,
        check=True,
        capture_output=True,
    )
    totals = json.loads((project.path / "cov.json").read_text())["totals"]
    py_covered, py_statements = totals["covered_lines"], totals["num_statements"]
    assert rules["python lines"]["actual"] == pytest.approx(totals["percent_statements_covered"])
    assert rules["js lines"]["actual"] == pytest.approx(100 * 56 / 62)  # c8's own summary
    assert rules["all lines"]["actual"] == pytest.approx(
        100 * (py_covered + 56) / (py_statements + 62)
    )
    assert rules["js math file"]["actual"] == pytest.approx(100 * 29 / 33)
    assert rules["all missing"]["actual"] == (py_statements - py_covered) + (62 - 56)
    # The flat metrics cover every source too.
    assert verdict["metrics"]["coverage.line_percent"] == rules["all lines"]["actual"]
    assert "coverage_unmapped" not in verdict


def test_unknown_coverage_source_is_a_policy_error(project: pytest.Pytester) -> None:
    project.makefile(
        ".toml",
        pyproject='[tool.releasegate]\n[[tool.releasegate.rule]]\nname = "x"\n'
        'metric = "coverage.line_percent"\nselect = { source = "junit:js" }\nmin = 1\n'
        "[tool.releasegate.coverage]\nsource-root = []\n",
    )
    result = project.runpytest_subprocess(*_plugin_args(), "--gate")
    assert result.ret == 4
    text = result.stderr.str() + result.stdout.str()
    assert "unknown coverage source 'junit:js'" in text
    assert "source-root" in text and "source-roots" in text
