"""`[tool.releasegate.coverage]` and coverage sources in `select.source`."""

from __future__ import annotations

from pathlib import Path

from pytest_releasegate.model import Selection
from pytest_releasegate.sections import CoverageConfig

from .test_policy import load, problems

RULE = '[[tool.releasegate.rule]]\nname = "r"\nmetric = "{metric}"\nmin = 1\n{select}\n'


def rule(metric: str, select: str = "") -> str:
    return RULE.format(metric=metric, select=select)


def test_coverage_section_loads(tmp_path: Path) -> None:
    policy = load(
        tmp_path,
        rule("coverage.line_percent", 'select = { source = "coverage:web" }')
        + '[tool.releasegate.coverage]\npaths = { "web/" = ["/build/web/", "C:\\\\a\\\\web\\\\"] }\n'
        'source-roots = ["services/api/src/main/java"]\n',
    )
    assert policy.coverage == CoverageConfig(  # type: ignore[attr-defined]
        paths={"web/": ("/build/web/", "C:\\a\\web\\")},
        source_roots=("services/api/src/main/java",),
    )
    assert policy.rules[0].select == Selection(source="coverage:web")  # type: ignore[attr-defined]


def test_coverage_py_source_is_accepted(tmp_path: Path) -> None:
    policy = load(tmp_path, rule("coverage.percent", 'select = { source = "coverage.py" }'))
    assert policy.rules[0].select.source == "coverage.py"  # type: ignore[attr-defined]


def test_bad_coverage_section(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        rule("coverage.percent")
        + '[tool.releasegate.coverage]\npaths = { "web/" = "/build/web/" }\nsource-roots = []\n'
        "maps = 1\n",
    )
    assert len(found) == 3
    assert any("coverage, key 'paths'" in p and 'paths = { "web/"' in p for p in found)
    assert any("coverage, key 'source-roots'" in p for p in found)
    assert any("unknown key 'maps'" in p and "paths" in p for p in found)


def test_coverage_source_names_are_checked(tmp_path: Path) -> None:
    [found] = problems(tmp_path, rule("coverage.percent", 'select = { source = "coverage:" }'))
    assert "unknown coverage source 'coverage:'" in found
    assert "coverage:NAME" in found
    [found] = problems(tmp_path, rule("tests.failed", 'select = { source = "coverage:web" }'))
    assert "unknown source 'coverage:web'" in found
