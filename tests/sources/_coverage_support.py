"""Helpers for the coverage source tests: gates, real data, real git repositories."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from pytest_releasegate.engine import Gate, GateOptions
from pytest_releasegate.manager import get_plugin_manager
from pytest_releasegate.model import Measurement, Rule
from pytest_releasegate.policy import Policy

DATA = Path(__file__).resolve().parents[1] / "data" / "coverage"


def make_gate(root: Path, *rules: Rule, **options: Any) -> Gate:
    """A gate over `rules` rooted at `root`, with only the built-in plugins."""
    return Gate(
        Policy(rules=rules),
        GateOptions(**options),
        rootdir=root,
        pm=get_plugin_manager(entry_points=False),
    )


def measure(root: Path, rule: Rule, **options: Any) -> Measurement:
    return make_gate(root, rule, **options).measure(rule)


@pytest.fixture(name="toolz_project")
def toolz_project_fixture(tmp_path: Path) -> Path:
    """A copy of the recorded toolz run: its sources, configuration and data file."""
    root = tmp_path / "toolz-project"
    shutil.copytree(DATA / "toolz", root)
    return root


def coverage_cli(root: Path, *args: str) -> str:
    """Run coverage.py's own command line in `root` and return its output."""
    proc = subprocess.run(
        [sys.executable, "-m", "coverage", *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_")},
    )
    return proc.stdout


def coverage_json(root: Path, data_file: str, *args: str) -> dict[str, Any]:
    """coverage.py's JSON report of `data_file` in `root` (extra args: --include, ...)."""
    out = root / "coverage-report.json"
    coverage_cli(root, "json", f"--data-file={data_file}", "-o", str(out), *args)
    data: dict[str, Any] = json.loads(out.read_text())
    out.unlink()
    return data


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))


class GitRepo:
    """A real git repository in a temporary directory."""

    def __init__(self, root: Path, *, init: bool = True) -> None:
        self.root = root
        if not init:
            return
        root.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")
        self.git("config", "user.email", "dev@example.com")
        self.git("config", "user.name", "Dev")
        self.git("config", "commit.gpgsign", "false")

    def git(self, *args: str) -> str:
        proc = subprocess.run(
            ["git", *args], cwd=self.root, capture_output=True, text=True, check=True
        )
        return proc.stdout.strip()

    def commit(self, files: dict[str, str] | None = None, message: str = "change") -> str:
        if files:
            write(self.root, files)
        self.git("add", "-A")
        self.git("commit", "-q", "-m", message)
        return self.git("rev-parse", "HEAD")

    def run_coverage(self, script: str = "run_checks.py") -> None:
        """Measure `script` with coverage.py (configuration from the repo's pyproject)."""
        coverage_cli(self.root, "run", script)


@pytest.fixture(name="s3_bucket")
def s3_bucket_fixture(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh bucket on the plugin's loopback moto server; boto3 finds it by the environment."""
    import uuid

    import boto3

    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL_S3": moto_server,
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    bucket = f"baselines-{uuid.uuid4().hex[:12]}"
    boto3.client("s3").create_bucket(Bucket=bucket)
    return bucket
