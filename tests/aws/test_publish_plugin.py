"""`pytest --gate --gate-codepipeline-job-id`: the verdict on the job, run as a user runs it."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pytest_releasegate.testing.emulator import CodePipelineEmulator
from tests.aws.publish_support import REPO, RULES
from tests.helpers import write_policy


@pytest.fixture
def project(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, emulator: CodePipelineEmulator
) -> pytest.Pytester:
    """A project with a policy; its pytest subprocess reaches the emulator through the env."""
    monkeypatch.setenv("PYTHONPATH", str(REPO))  # this checkout's plugin, not an installed one
    monkeypatch.setenv("AWS_ENDPOINT_URL_CODEPIPELINE", emulator.endpoint_url)
    write_policy(pytester, RULES)
    return pytester


def write_tests(pytester: pytest.Pytester, *, fail: bool) -> None:
    pytester.makepyfile(
        test_app=f"def test_a():\n    pass\n\ndef test_b():\n    assert {not fail}\n"
    )


def test_a_passing_run_puts_one_success_with_variables(
    project: pytest.Pytester, emulator: CodePipelineEmulator, start_job: Callable[..., str]
) -> None:
    write_tests(project, fail=False)
    job_id = start_job()
    result = project.runpytest_subprocess(
        "--gate", "--gate-codepipeline-job-id", job_id, "-p", "no:cacheprovider"
    )
    assert result.ret == 0
    (recorded,) = emulator.results(job_id)
    assert recorded.kind == "success"
    details = recorded.params["executionDetails"]
    assert details["percentComplete"] == 100
    assert details["summary"].startswith("releasegate: PASS") and len(details["summary"]) <= 2048
    variables = recorded.params["outputVariables"]
    assert (variables["verdict"], variables["tests_failed"], variables["tests_total"]) == (
        "pass",
        "0",
        "2",
    )


def test_a_failing_run_puts_one_job_failed_naming_the_rule_and_exits_1(
    project: pytest.Pytester,
    emulator: CodePipelineEmulator,
    start_job: Callable[..., str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_tests(project, fail=True)
    job_id = start_job()
    monkeypatch.setenv("RELEASEGATE_CODEPIPELINE_JOB_ID", job_id)  # the env spelling
    result = project.runpytest_subprocess("--gate", "-p", "no:cacheprovider")
    assert result.ret == 1
    (recorded,) = emulator.results(job_id)
    assert recorded.params["failureDetails"]["type"] == "JobFailed"
    assert "FAIL no failing tests: actual 1, max 0" in recorded.params["failureDetails"]["message"]


def test_a_bad_policy_exits_4_and_closes_the_job_with_a_configuration_error(
    project: pytest.Pytester, emulator: CodePipelineEmulator, start_job: Callable[..., str]
) -> None:
    write_policy(project, RULES + 'levle = "warn"\n')
    write_tests(project, fail=False)
    job_id = start_job()
    result = project.runpytest_subprocess("--gate", "--gate-codepipeline-job-id", job_id)
    assert result.ret == 4
    (recorded,) = emulator.results(job_id)
    details = recorded.params["failureDetails"]
    assert details["type"] == "ConfigurationError"
    assert "levle" in details["message"] and "did you mean 'level'" in details["message"]


def test_dry_run_publishes_nothing(
    project: pytest.Pytester, emulator: CodePipelineEmulator, start_job: Callable[..., str]
) -> None:
    write_tests(project, fail=True)
    job_id = start_job()
    before = len(emulator.calls())
    result = project.runpytest_subprocess(
        "--gate", "--gate-codepipeline-job-id", job_id, "--gate-dry-run"
    )
    assert result.ret == 1
    assert emulator.results(job_id) == []
    assert len(emulator.calls()) == before
    assert emulator.job(job_id).status == "InProgress"


@pytest.mark.parametrize("fail", [False, True], ids=["pass", "fail"])
@pytest.mark.parametrize("fault", ["throttle-twice", "lose-response"])
def test_under_faults_the_job_gets_one_result_and_the_exit_follows_the_verdict(
    project: pytest.Pytester,
    emulator: CodePipelineEmulator,
    start_job: Callable[..., str],
    fault: str,
    fail: bool,
) -> None:
    write_tests(project, fail=fail)
    job_id = start_job()
    put = "PutJobFailureResult" if fail else "PutJobSuccessResult"
    if fault == "throttle-twice":
        emulator.throttle(2)
    else:
        emulator.lose_responses(1, put)  # recorded, but the answer is a 500
    result = project.runpytest_subprocess("--gate", "--gate-codepipeline-job-id", job_id)
    assert result.ret == (1 if fail else 0)
    (recorded,) = emulator.results(job_id)
    assert recorded.kind == ("failure" if fail else "success")
    assert "could not publish" not in result.stdout.str()
    expected = {
        "throttle-twice": ["ThrottlingException", "ThrottlingException", None],
        "lose-response": ["InternalFailure", "InvalidJobStateException"],
    }
    assert [c.error for c in emulator.calls(put)] == expected[fault]


def test_a_job_that_cannot_take_the_result_is_could_not_publish_and_exit_3(
    project: pytest.Pytester, emulator: CodePipelineEmulator, start_job: Callable[..., str]
) -> None:
    write_tests(project, fail=False)
    job_id = start_job()
    emulator.time_out(job_id)
    result = project.runpytest_subprocess("--gate", "--gate-codepipeline-job-id", job_id)
    assert result.ret == 3
    result.stdout.fnmatch_lines(
        [
            f"releasegate: could not publish: codepipeline: no result recorded on CodePipeline job {job_id}: the job is not InProgress*"
        ]
    )
    assert emulator.results(job_id) == []


def test_a_pass_whose_pytest_status_stands_is_never_a_success_on_the_job(
    project: pytest.Pytester, emulator: CodePipelineEmulator, start_job: Callable[..., str]
) -> None:
    """Another plugin failed the run (here a conftest, as pytest-cov's fail_under does): the
    exit code stays non-zero, so the job must not be told the release may go."""
    write_tests(project, fail=False)
    project.makeconftest(
        "import pytest\n\n"
        "@pytest.hookimpl(trylast=True)\n"
        "def pytest_sessionfinish(session):\n"
        "    session.exitstatus = 1\n"
    )
    job_id = start_job()
    result = project.runpytest_subprocess(
        "--gate", "--gate-codepipeline-job-id", job_id, "-p", "no:cacheprovider"
    )
    assert result.ret == 1
    (recorded,) = emulator.results(job_id)
    assert recorded.kind == "failure", recorded.params
    details = recorded.params["failureDetails"]
    assert details["type"] == "JobFailed"
    assert "exit status 1" in details["message"]
