"""`--gate-input-junit` globs: glob's matching rules, but bounded over symlink loops."""

from __future__ import annotations

import glob
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_releasegate.sources.junit import expand_glob

CASE = '<testsuite name="s"><testcase classname="c" name="{}"/></testsuite>'


def loop_tree(root: Path) -> Path:
    """reports/sub/a.xml plus three symlinks back up the tree: glob.glob would loop."""
    sub = root / "reports" / "sub"
    sub.mkdir(parents=True)
    (sub / "a.xml").write_text(CASE.format("t"))
    (sub / "up").symlink_to("..")
    (sub / "self").symlink_to(".")
    (sub / "again").symlink_to("../sub")
    (root / "reports" / "link.xml").symlink_to("sub/a.xml")
    return root


def test_a_symlink_loop_yields_each_real_file_once(tmp_path: Path) -> None:
    loop_tree(tmp_path)
    assert expand_glob(tmp_path, "reports/**/*.xml") == [tmp_path / "reports" / "link.xml"]
    assert expand_glob(tmp_path, "reports/sub/*.xml") == [tmp_path / "reports" / "sub" / "a.xml"]


def test_a_symlink_loop_does_not_hang_the_command(tmp_path: Path) -> None:
    loop_tree(tmp_path)
    (tmp_path / "releasegate.toml").write_text(
        '[[rule]]\nname = "ran"\nmetric = "tests.total"\nmin = 1\nmax = 1\n'
    )
    proc = subprocess.run(
        [sys.executable, "-m", "pytest_releasegate", "evaluate", "--input-junit",
         "reports/**/*.xml"],
        cwd=tmp_path, capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "releasegate: PASS" in proc.stdout


@pytest.mark.parametrize(
    "pattern",
    [
        "**/*.xml",
        "reports/**/*.xml",
        "reports/*/*.xml",
        "reports/**",
        "reports/*",
        "*/x?.xml",
        "reports/[ab]*/*.xml",
        "**/.hidden/*.xml",
        "reports/a/deep/d.xml",
        "reports/**/deep/*.xml",
    ],
)
def test_matches_what_glob_matches_without_links(tmp_path: Path, pattern: str) -> None:
    files = [
        "reports/a/one.xml",
        "reports/a/deep/d.xml",
        "reports/b/two.xml",
        "reports/top.xml",
        "reports/.hidden/h.xml",
        "reports/a/.h.xml",
        "other/x1.xml",
        "x2.xml",
    ]
    for name in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("x")
    expected = sorted(
        Path(p)
        for p in glob.glob(os.path.join(glob.escape(str(tmp_path)), pattern), recursive=True)
        if os.path.isfile(p)
    )
    assert expand_glob(tmp_path, pattern) == expected
    assert expected  # the case checks something


def test_a_root_with_glob_characters_in_its_name_is_literal(tmp_path: Path) -> None:
    root = tmp_path / "build[1]"
    (root / "r").mkdir(parents=True)
    (root / "r" / "a.xml").write_text("x")
    assert expand_glob(root, "r/*.xml") == [root / "r" / "a.xml"]


def test_a_fifo_is_never_matched(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.xml")
    (tmp_path / "a.xml").write_text("x")
    assert expand_glob(tmp_path, "*.xml") == [tmp_path / "a.xml"]
