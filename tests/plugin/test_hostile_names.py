"""Names from the tests themselves: bounded in every output, always encodable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.helpers import read_verdict, write_policy

POLICY = """
[[tool.releasegate.rule]]
name = "no failures"
metric = "tests.failed"
max = 0
"""


def outputs(root: Path) -> dict[str, str]:
    return {name: (root / name).read_text(encoding="utf-8") for name in ("v.json", "v.xml", "v.md")}


def test_a_non_utf8_test_file_name_still_writes_every_output(pytester: pytest.Pytester) -> None:
    write_policy(pytester, POLICY)
    name = os.fsencode(str(pytester.path)) + b"/test_caf\xe9.py"
    with open(name, "wb") as fh:
        fh.write(b"def test_fails():\n    assert 0\n")
    # pytester would decode the output as UTF-8, and the terminal shows the raw name.
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--gate", "--gate-json",
         "v.json", "--gate-junit", "v.xml", "--gate-markdown", "v.md"],
        cwd=pytester.path, capture_output=True, check=False, timeout=120,
    )  # fmt: skip
    assert run.returncode == 1, run.stdout.decode(errors="replace")
    files = outputs(pytester.path)
    verdict = json.loads(files["v.json"])
    message = verdict["rules"][0]["message"]
    assert "test_caf\ufffd.py" in message
    ET.fromstring(files["v.xml"].encode())
    assert "test_caf\ufffd.py" in files["v.md"]
    # `releasegate publish` reads it back without crashing (a dry run puts nothing).
    proc = subprocess.run(
        [sys.executable, "-m", "pytest_releasegate", "publish", "--verdict", "v.json",
         "--codepipeline-job-id", "job-1", "--dry-run"],
        cwd=pytester.path, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "would put" in proc.stdout


def test_a_huge_test_name_is_cut_in_every_output(pytester: pytest.Pytester) -> None:
    write_policy(pytester, POLICY)
    long_name = "x" * 3_000_000
    (pytester.path / "big.xml").write_text(
        f'<testsuite name="s"><testcase classname="c" name="{long_name}">'
        '<failure message="boom"/></testcase>'
        f'<testcase classname="c" name="{long_name}y"/></testsuite>'
    )
    proc = subprocess.run(
        [sys.executable, "-m", "pytest_releasegate", "evaluate", "--input-junit", "big.xml",
         "--json", "v.json", "--junit", "v.xml", "--markdown", "v.md"],
        cwd=pytester.path, capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert len(proc.stdout) < 20_000
    for text in outputs(pytester.path).values():
        assert len(text) < 40_000
    verdict = read_verdict(pytester.path / "v.json")
    assert verdict["metrics"]["tests.total"] == 2  # two long names stay two tests
    message = verdict["rules"][0]["message"]
    assert message.startswith("1 is above max 0 (c::xxxx")
    assert 1024 < len(message) < 1100


def test_control_characters_in_a_test_name_reach_no_output_raw(pytester: pytest.Pytester) -> None:
    write_policy(pytester, POLICY)
    (pytester.path / "test_esc\x1b[2K\x07.py").write_text("def test_fails():\n    assert 0\n")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--gate", "--gate-json",
         "v.json", "--gate-junit", "v.xml", "--gate-markdown", "v.md"],
        cwd=pytester.path, capture_output=True, check=False, timeout=120,
    )  # fmt: skip
    assert run.returncode == 1, run.stdout.decode(errors="replace")
    files = outputs(pytester.path)
    ET.fromstring(files["v.xml"].encode())
    assert "test_esc\\x1b[2K\\x07.py" in files["v.xml"]
    assert "\x1b" not in files["v.md"] and "\x07" not in files["v.md"]
    ours = [line for line in run.stdout.decode().splitlines() if "no failures" in line]
    assert ours and all("\x1b" not in line for line in ours)
    assert any("test_esc\\x1b[2K\\x07.py" in line for line in ours)
