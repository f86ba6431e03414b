"""boto3 is the `aws` extra: the core installs and runs without it (SPEC §14).

An environment without boto3 is built from this one: a fresh virtualenv whose
site-packages links every installed distribution except boto3, botocore,
s3transfer and the packages that need them (moto, the type stubs). No network.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from pytest_releasegate.policy import tomllib
from tests.helpers import REPO

AWS_ONLY = (
    "boto3",
    "botocore",
    "s3transfer",
    "moto",
    "mypy_boto3",
    "boto3_stubs",
    "botocore_stubs",
)
EXTRA_LINE = "pip install 'pytest-releasegate[aws]'"


def test_boto3_is_only_in_the_aws_extra() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert not [d for d in project["dependencies"] if d.lower().startswith(("boto3", "botocore"))]
    assert any(d.startswith("boto3") for d in project["optional-dependencies"]["aws"])
    assert "pytest-releasegate[aws]" in project["optional-dependencies"]["test"]  # the suite


@pytest.fixture(scope="module")
def python_without_boto3(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("noboto")
    env_dir = root / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    target = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    here = Path(sysconfig.get_paths()["purelib"])
    for entry in here.iterdir():
        name = entry.name.lower().replace("-", "_")
        if name.startswith(AWS_ONLY) or name == "__pycache__":
            continue
        link = target / entry.name
        if not link.exists():
            link.symlink_to(entry)
    check = subprocess.run(
        [str(python), "-c", "import boto3"], capture_output=True, text=True, check=False
    )
    assert check.returncode != 0, "boto3 still importable"
    return python


def run(python: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_"))}
    env["RELEASEGATE_CODEPIPELINE_JOB_ID"] = ""
    return subprocess.run(
        [str(python), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in (proc.stdout + proc.stderr).splitlines() if EXTRA_LINE in line]
    assert len(lines) == 1, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


@pytest.mark.slow
def test_the_core_works_and_aws_features_name_the_extra(
    python_without_boto3: Path, tmp_path: Path
) -> None:
    python = python_without_boto3
    (tmp_path / "pyproject.toml").write_text(
        '[tool.releasegate]\n[[tool.releasegate.rule]]\nname = "f"\nmetric = "tests.failed"\nmax = 0\n'
    )
    (tmp_path / "test_a.py").write_text("def test_ok():\n    pass\n")

    core = run(
        python, tmp_path, "-m", "pytest", "--gate", "--gate-json=v.json", "-p", "no:cacheprovider"
    )
    assert core.returncode == 0, core.stdout + core.stderr
    assert json.loads((tmp_path / "v.json").read_text())["verdict"] == "pass"
    assert "boto3" not in run(
        python,
        tmp_path,
        "-c",
        "import sys, pytest_releasegate.plugin, pytest_releasegate.cli; print(sorted(m for m in sys.modules if 'boto' in m))",
    ).stdout.replace("[]", "")

    evaluate = run(python, tmp_path, "-m", "pytest_releasegate", "check-policy")
    assert evaluate.returncode == 0, evaluate.stderr

    # AWS features: one line naming the extra, before any test runs / any call is made
    s3 = run(
        python,
        tmp_path,
        "-m",
        "pytest",
        "--gate",
        "--gate-baseline=s3://bucket/base.json",
        "-p",
        "no:cacheprovider",
    )
    assert s3.returncode == 4
    assert "--gate-baseline" in one_error_line(s3)

    job = run(
        python,
        tmp_path,
        "-m",
        "pytest",
        "--gate",
        "--gate-codepipeline-job-id=11111111-2222-3333-4444-555555555555",
        "-p",
        "no:cacheprovider",
    )
    assert job.returncode == 4
    assert "CodePipeline" in one_error_line(job)

    for command in ("worker", "publish", "register-action-type", "emulator"):
        proc = run(python, tmp_path, "-m", "pytest_releasegate", command, "--help")
        assert proc.returncode == 0, proc.stderr  # help works without boto3
    worker = run(
        python, tmp_path, "-m", "pytest_releasegate", "worker", "--provider", "Releasegate"
    )
    assert worker.returncode == 4
    one_error_line(worker)

    cli_s3 = run(
        python,
        tmp_path,
        "-m",
        "pytest_releasegate",
        "evaluate",
        "--save-baseline",
        "s3://bucket/k.json",
    )
    assert cli_s3.returncode == 4
    assert "--save-baseline" in one_error_line(cli_s3)

    (tmp_path / "pyproject.toml").write_text(
        '[tool.releasegate]\n[tool.releasegate.alarms]\nnames = ["api-5xx"]\n'
        '[[tool.releasegate.rule]]\nname = "alarms"\nmetric = "alarms.in_alarm"\nmax = 0\n'
    )
    alarms = run(
        python, tmp_path, "-m", "pytest", "--gate", "--gate-json=v.json", "-p", "no:cacheprovider"
    )
    assert alarms.returncode == 3
    message = json.loads((tmp_path / "v.json").read_text())["rules"][0]["message"]
    assert EXTRA_LINE in message


@pytest.mark.slow
@pytest.mark.parametrize(("target", "wants_boto3"), [(".", False), (".[aws]", True)])
def test_pip_resolves_boto3_only_for_the_aws_extra(
    tmp_path: Path, target: str, wants_boto3: bool
) -> None:
    report = tmp_path / "report.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--dry-run",
            "--ignore-installed",
            "-q",
            "--report",
            str(report),
            target,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if proc.returncode != 0:
        pytest.skip(f"pip could not resolve (no package index?): {proc.stderr[-300:]}")
    names = {item["metadata"]["name"].lower() for item in json.loads(report.read_text())["install"]}
    assert ("boto3" in names) is wants_boto3
    assert ("botocore" in names) is wants_boto3
