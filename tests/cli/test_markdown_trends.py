"""Markdown trends: a sparkline per rule metric and the change since the previous run."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.history_support import evaluate

POLICY = """
history = "h.jsonl"

[[rule]]
name = "few failures"
metric = "tests.failed"
max = 3

[[rule]]
name = "pass rate"
metric = "tests.pass_rate"
min = 50

[[rule]]
name = "slowest test"
metric = "tests.duration_s.max"
max = 10
"""


def test_markdown_has_a_trend_line_per_rule_metric(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "releasegate.toml").write_text(POLICY)
    for failed in (0, 2, 1, 1):
        evaluate(tmp_path, monkeypatch, "--markdown", "s.md", passed=8, failed=failed)
    md = (tmp_path / "s.md").read_text()
    lines = md.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("### Trends"))
    assert lines[start] == "### Trends (last 4 runs, no known branch, profile default)"
    rows = {line.split("|")[1].strip(): line for line in lines[start + 4 :] if line.startswith("|")}
    assert set(rows) == {"`tests.failed`", "`tests.pass_rate`", "`tests.duration_s.max`"}
    assert rows["`tests.failed`"] == "| `tests.failed` | ▁█▅▅ | 1 | ±0 |"
    rate = [c.strip() for c in rows["`tests.pass_rate`"].split("|")]
    assert rate[2] == "█▁▄▄" and rate[4] == "±0"


def test_the_first_run_shows_no_change(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "releasegate.toml").write_text(POLICY)
    evaluate(tmp_path, monkeypatch, "--markdown", "s.md", failed=1)
    assert "| `tests.failed` | ▄ | 1 | new |" in (tmp_path / "s.md").read_text()


def test_change_since_the_previous_run_is_signed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "releasegate.toml").write_text(POLICY)
    evaluate(tmp_path, monkeypatch, failed=3)
    evaluate(tmp_path, monkeypatch, "--markdown", "s.md", failed=1)
    assert "| `tests.failed` | █▁ | 1 | -2 tests |" in (tmp_path / "s.md").read_text()


def test_without_a_history_markdown_is_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "releasegate.toml").write_text(POLICY.replace('history = "h.jsonl"', ""))
    evaluate(tmp_path, monkeypatch, "--markdown", "s.md")
    assert "Trends" not in (tmp_path / "s.md").read_text()
