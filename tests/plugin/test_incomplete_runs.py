"""The verdict never passes a run that pytest failed: other plugins, early stops, interrupts."""

from __future__ import annotations

import json
import re
import signal
import sys

import pytest

from tests.helpers import read_verdict, rule, write_policy

TOLERANT = """
[[tool.releasegate.rule]]
name = "few failures"
metric = "tests.failed"
max = 5

[[tool.releasegate.rule]]
name = "tests ran"
metric = "tests.total"
min = 1
"""

STALE = {"schema": "releasegate.verdict/1", "verdict": "pass", "rules": [], "stale": True}


def verdict_line(result: pytest.RunResult) -> str:
    lines = [line for line in result.outlines if re.match(r"releasegate: [A-Z]+ \u2014", line)]
    assert lines, result.stdout.str()
    return lines[0]


def write_stale_outputs(pytester: pytest.Pytester) -> None:
    (pytester.path / "out").mkdir(exist_ok=True)
    for name in ("v.json", "v.xml", "v.md"):
        (pytester.path / "out" / name).write_text(json.dumps(STALE))


OUTPUTS = ("--gate-json=out/v.json", "--gate-junit=out/v.xml", "--gate-markdown=out/v.md")


# -- other plugins' failures stand -------------------------------------------


def test_pytest_cov_fail_under_stands(pytester: pytest.Pytester) -> None:
    write_policy(pytester, TOLERANT)
    pytester.makepyfile(
        mod="def used():\n    return 1\n\n\ndef unused():\n    return 2\n",
        test_a="import mod\n\ndef test_x():\n    assert mod.used() == 1\n",
    )
    (pytester.path / ".coveragerc").write_text("[report]\nfail_under = 100\n")
    assert pytester.runpytest_subprocess("--cov=mod", "-p", "no:cacheprovider").ret == 1
    result = pytester.runpytest_subprocess("--cov=mod", "--gate", "--gate-json=v.json")
    assert result.ret == 1
    line = verdict_line(result)
    assert line.startswith("releasegate: PASS")
    assert "pytest's exit status 1 stands" in line and "not a test result" in line
    verdict = read_verdict(pytester.path / "v.json")
    assert verdict["verdict"] == "pass"
    assert verdict["context"]["pytest_exit_status"] == 1


def test_a_conftest_setting_the_exit_status_stands(pytester: pytest.Pytester) -> None:
    write_policy(pytester, TOLERANT)
    pytester.makeconftest(
        "def pytest_sessionfinish(session):\n    session.exitstatus = 7\n",
    )
    pytester.makepyfile(test_a="def test_x(): pass")
    result = pytester.runpytest_subprocess("--gate")
    assert result.ret == 7
    assert "pytest's exit status 7 stands" in verdict_line(result)


def test_an_internal_error_stands(pytester: pytest.Pytester) -> None:
    write_policy(pytester, TOLERANT)
    pytester.makeconftest(
        "def pytest_runtest_logfinish(nodeid):\n    raise RuntimeError('plugin bug')\n"
    )
    pytester.makepyfile(test_a="def test_x(): pass\ndef test_y(): pass\n")
    result = pytester.runpytest_subprocess("--gate", "--gate-json=v.json")
    assert result.ret == pytest.ExitCode.INTERNAL_ERROR
    verdict = read_verdict(pytester.path / "v.json")
    assert verdict["verdict"] == "error"
    assert "internal error" in rule(verdict, "run completed")["message"]


def test_no_tests_collected_stands_when_the_policy_passes(pytester: pytest.Pytester) -> None:
    write_policy(
        pytester, '[[tool.releasegate.rule]]\nname = "f"\nmetric = "tests.failed"\nmax = 0\n'
    )
    pytester.makepyfile(test_a="def test_x(): pass")
    result = pytester.runpytest("--gate", "-k", "nothing_matches")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    assert "pytest's exit status 5 stands" in verdict_line(result)


# -- early stops ---------------------------------------------------------------

EARLY_STOP_TESTS = """
def test_known_bad():
    assert 0

def test_real_bad():
    assert 0

def test_ok():
    pass
"""

QUARANTINE = """
[[tool.releasegate.quarantine]]
nodeid = "test_a.py::test_known_bad"
reason = "TICKET-1"
expires = 2099-01-01
"""


@pytest.mark.parametrize(
    "args", [("-x",), ("--maxfail=1",), ("-x", "-n", "2")], ids=["x", "maxfail", "x-xdist"]
)
def test_stopping_early_is_not_a_pass(pytester: pytest.Pytester, args: tuple[str, ...]) -> None:
    write_policy(
        pytester,
        '[[tool.releasegate.rule]]\nname = "f"\nmetric = "tests.failed"\nmax = 0\n' + QUARANTINE,
    )
    pytester.makepyfile(test_a=EARLY_STOP_TESTS)
    result = pytester.runpytest_subprocess(
        "--gate", "--gate-json=v.json", "-p", "no:randomly", *args
    )
    assert result.ret == 3
    verdict = read_verdict(pytester.path / "v.json")
    assert verdict["verdict"] == "error"
    message = rule(verdict, "run completed")["message"]
    assert "stopped early" in message and "did not run" in message


def test_a_stop_after_the_last_test_is_a_complete_run(pytester: pytest.Pytester) -> None:
    write_policy(pytester, TOLERANT)
    pytester.makepyfile(test_a="def test_ok(): pass\ndef test_last(): assert 0\n")
    result = pytester.runpytest("--gate", "--gate-json=v.json", "-x")
    assert result.ret == 0  # the policy tolerates the failure, and every test ran
    assert [r["name"] for r in read_verdict(pytester.path / "v.json")["rules"]] == [
        "few failures",
        "tests ran",
    ]


# -- interrupts ----------------------------------------------------------------


def test_ctrl_c_keeps_exit_2_and_the_running_test_is_not_a_pass(
    pytester: pytest.Pytester,
) -> None:
    write_policy(pytester, TOLERANT)
    write_stale_outputs(pytester)
    pytester.makepyfile(
        test_a="""
def test_first():
    pass

def test_running():
    raise KeyboardInterrupt

def test_never():
    pass
"""
    )
    result = pytester.runpytest_subprocess("--gate", *OUTPUTS)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    verdict = read_verdict(pytester.path / "out/v.json")
    assert "stale" not in verdict
    assert verdict["verdict"] == "error"
    assert verdict["metrics"]["tests.passed"] == 1
    assert verdict["metrics"]["tests.total"] == 1
    message = rule(verdict, "run completed")["message"]
    assert "interrupted" in message and "test_a.py::test_running" in message
    assert "error" in (pytester.path / "out/v.md").read_text().lower()
    assert "stale" not in (pytester.path / "out/v.xml").read_text()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigterm_writes_an_error_verdict_over_a_stale_one(pytester: pytest.Pytester) -> None:
    write_policy(pytester, TOLERANT)
    write_stale_outputs(pytester)
    pytester.makepyfile(
        test_a="""
import os, signal, time

def test_first():
    pass

def test_terminated():
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(30)  # the signal arrives before this returns
"""
    )
    result = pytester.runpytest_subprocess("--gate", *OUTPUTS, timeout=60)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    verdict = read_verdict(pytester.path / "out/v.json")
    assert verdict["verdict"] == "error"
    assert "SIGTERM" in rule(verdict, "run completed")["message"]
    assert verdict["metrics"]["tests.passed"] == 1


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_a_killed_run_leaves_no_stale_verdict(pytester: pytest.Pytester) -> None:
    write_policy(pytester, TOLERANT)
    write_stale_outputs(pytester)
    pytester.makepyfile(
        test_a="import os, signal\n\ndef test_killed():\n    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    result = pytester.runpytest_subprocess("--gate", *OUTPUTS, timeout=60)
    assert result.ret == -signal.SIGKILL
    assert sorted(p.name for p in (pytester.path / "out").iterdir()) == []


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigterm_is_left_alone_without_the_gate(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_a="import os, signal, time\n\ndef test_t():\n"
        "    os.kill(os.getpid(), signal.SIGTERM)\n    time.sleep(30)\n"
    )
    result = pytester.runpytest_subprocess(timeout=60)
    assert result.ret == -signal.SIGTERM


# -- an incomplete run is never a baseline ------------------------------------


def test_an_incomplete_run_does_not_replace_the_baseline(pytester: pytest.Pytester) -> None:
    """A baseline from a run cut short (-x here) would make later max-drop rules lenient."""
    write_policy(pytester, TOLERANT)
    pytester.makepyfile(
        test_a="def test_1():\n    assert False\n\ndef test_2(): pass\n\ndef test_3(): pass\n"
    )
    full = pytester.runpytest_subprocess("--gate", "--gate-save-baseline=base.json")
    assert full.ret == 0
    assert read_verdict(pytester.path / "base.json")["metrics"]["tests.total"] == 3
    cut = pytester.runpytest_subprocess(
        "-x", "-p", "no:randomly", "--gate", "--gate-save-baseline=base.json"
    )
    assert cut.ret == 3
    assert read_verdict(pytester.path / "base.json")["metrics"]["tests.total"] == 3
    cut.stdout.fnmatch_lines(
        ["*could not publish: files: baseline *base.json not saved: the run did not complete*"]
    )
    (pytester.path / "base.json").unlink()
    pytester.runpytest_subprocess(
        "-x", "-p", "no:randomly", "--gate", "--gate-save-baseline=base.json"
    )
    assert not (pytester.path / "base.json").exists()
