"""PytestArgs confined to the job: options that change the gate or leave the job are refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_releasegate.codepipeline.confine import confine_pytest_args
from pytest_releasegate.codepipeline.results import FailureType, JobFailure


@pytest.fixture
def job(tmp_path: Path) -> tuple[Path, Path]:
    job_dir = tmp_path / "job"
    src = job_dir / "src"
    (src / "tests").mkdir(parents=True)
    return src, job_dir


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--gate-policy=/outside/policy.toml"], "--gate-policy"),
        (["--gate-policy", "policy.toml"], "--gate-policy"),
        (["--gate-markdown", "/tmp/x.md"], "--gate-markdown"),
        (["--gate-save-baseline=/tmp/b.json"], "--gate-save-baseline"),
        (["--no-gate"], "--no-gate"),
        (["-p", "no:releasegate"], "-p"),
        (["-pno:releasegate"], "-p"),
        (["-xp", "no:releasegate"], "-p"),
        (["-p", "myplugin"], "-p"),
        (["-o", "cache_dir=/tmp/x"], "-o"),
        (["--override-ini=addopts="], "--override-ini"),
        (["--basetemp=/tmp/victim"], "--basetemp"),
        (["--basetemp", "../../victim"], "--basetemp"),
        (["--junitxml=/tmp/out.xml"], "--junitxml"),
        (["--junit-xml", "/tmp/out.xml"], "--junit-xml"),
        (["--result-log=/tmp/log"], "--result-log"),
        (["--rootdir=/"], "--rootdir"),
        (["--confcutdir", "/"], "--confcutdir"),
        (["-c", "/etc/pytest.ini"], "-c"),
        (["-c/etc/pytest.ini"], "-c"),
        (["--config-file=/etc/pytest.ini"], "--config-file"),
        (["--cov-report", "xml:/tmp/cov.xml"], "--cov-report"),
        (["--cov-report=html:/tmp/htmlcov"], "--cov-report"),
        (["--debug=/tmp/debug.log"], "--debug"),
        (["--debug", "/tmp/debug.log"], "--debug"),
        (["--log-file", "/tmp/log.txt"], "--log-file"),
        (["@/tmp/args.txt"], "@/tmp/args.txt"),
        (["/etc"], "the test path"),
        (["../../other-job/tests::test_x"], "the test path"),
        (["--", "/usr/lib"], "the test path"),
    ],
)
def test_escapes_are_refused_naming_the_option(
    job: tuple[Path, Path], args: list[str], named: str
) -> None:
    src, job_dir = job
    with pytest.raises(JobFailure) as info:
        confine_pytest_args(args, cwd=src, job_dir=job_dir)
    assert info.value.failure_type is FailureType.CONFIGURATION_ERROR
    assert info.value.message.startswith(f"PytestArgs: {named} is not allowed")
    assert "\n" not in info.value.message


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["-q", "-x", "-k", "not slow", "-m", "smoke"],
        ["-kslow", "-W", "error", "--tb", "short", "-rA"],
        ["tests", "tests/test_a.py::test_one", "--deselect", "tests/test_a.py::test_two"],
        ["--basetemp=tmp-tests", "--junitxml", "reports/junit.xml"],
        ["--cov=src", "--cov-report", "term-missing", "--cov-report=xml:cov.xml"],
        ["--rootdir=.", "-c", "pytest.ini", "--confcutdir", "tests"],
        ["--debug"],
        ["--debug", "-q"],
        ["--maxfail", "2", "--durations", "5", "-n", "2"],
    ],
)
def test_ordinary_arguments_pass_unchanged(job: tuple[Path, Path], args: list[str]) -> None:
    src, job_dir = job
    assert confine_pytest_args(args, cwd=src, job_dir=job_dir) == tuple(args)


def test_a_symlink_inside_that_points_out_is_outside(
    job: tuple[Path, Path], tmp_path: Path
) -> None:
    src, job_dir = job
    (src / "escape").symlink_to(tmp_path)
    with pytest.raises(JobFailure, match="--basetemp"):
        confine_pytest_args(["--basetemp=escape/victim"], cwd=src, job_dir=job_dir)
