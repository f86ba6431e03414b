"""`releasegate evaluate --input-coverage`: what a user of the command is told."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import run_cli

POLICY = """
[[rule]]
name = "web lines"
metric = "coverage.line_percent"
select = { source = "coverage:webb" }
min = 50
"""


def test_a_misspelt_source_names_the_commands_own_flag(tmp_path: Path) -> None:
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "a.js").write_text("a\nb\n")
    (tmp_path / "lcov.info").write_text("SF:web/a.js\nDA:1,1\nDA:2,1\nend_of_record\n")
    (tmp_path / "releasegate.toml").write_text(POLICY)
    proc = run_cli(tmp_path, "evaluate", "--input-coverage", "web=lcov.info", "--json", "v.json")
    assert proc.returncode == 3, proc.stderr
    [rule] = json.loads((tmp_path / "v.json").read_text())["rules"]
    assert rule["outcome"] == "error"
    assert "no coverage reports for source 'coverage:webb'" in rule["message"]
    # The command's flag is --input-coverage; pytest's is --gate-input-coverage.
    assert "--input-coverage webb=GLOB" in rule["message"]
