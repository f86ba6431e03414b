"""Outcomes × modes: the gate's counts are pytest's own, and exit 0 only when pytest's is 0
or the policy tolerated the test failures (SPEC §14)."""

from __future__ import annotations

import pytest

from tests.helpers import read_verdict, summary_counts, write_policy

OUTCOMES = {
    "green": {
        "test_a.py": """
import pytest

def test_one(): pass
def test_two(): pass

@pytest.mark.skip(reason="later")
def test_skip(): pass

@pytest.mark.xfail(reason="known")
def test_xfail(): assert 0
""",
    },
    "red": {
        "test_a.py": """
import pytest

@pytest.fixture
def broken():
    raise RuntimeError("setup")

def test_pass(): pass
def test_fail(): assert 0
def test_error(broken): pass

@pytest.mark.skip(reason="later")
def test_skip(): pass

@pytest.mark.xfail(reason="known")
def test_xfail(): assert 0

@pytest.mark.xfail(reason="fixed?")
def test_xpass(): pass

def test_flaky(tmp_path_factory):
    marker = tmp_path_factory.getbasetemp().parent / "flaky-ran"
    if not marker.exists():
        marker.write_text("x")
        assert 0, "first attempt"
""",
        "test_z.py": "def test_late(): pass\n",
    },
    "subtests": {
        "test_a.py": """
def test_sub(subtests):
    for i in range(3):
        with subtests.test(i=i):
            assert i != 1

def test_sub_ok(subtests):
    with subtests.test("fine"):
        pass

def test_plain(): pass
""",
    },
}

MODES = {
    "serial": (),
    "xdist": ("-n", "2"),
    "reruns": ("--reruns", "1"),
    "x": ("-x",),
    "interrupt": (),
}

INTERRUPT = "def test_interrupted():\n    raise KeyboardInterrupt\n"

STRICT = """
[[tool.releasegate.rule]]
name = "no failures"
metric = "tests.failed"
max = 0

[[tool.releasegate.rule]]
name = "no errors"
metric = "tests.errors"
max = 0
"""

TOLERANT = STRICT.replace("max = 0", "max = 100")


def gate_counts(m: dict[str, float]) -> dict[str, int]:
    """The metrics as pytest's summary line counts them (subtests are counted there too)."""
    counts = {
        "passed": m["tests.passed"],
        "failed": m["tests.failed"] + m["tests.subtests_failed"],
        "errors": m["tests.errors"],
        "skipped": m["tests.skipped"] + m["tests.subtests_skipped"],
        "xfailed": m["tests.xfailed"],
        "xpassed": m["tests.xpassed"],
        "subtests passed": m["tests.subtests_passed"],
    }
    return {k: int(v) for k, v in counts.items() if v}


@pytest.mark.slow
@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("outcome", list(OUTCOMES))
def test_gate_counts_and_exit_codes(pytester: pytest.Pytester, outcome: str, mode: str) -> None:
    if outcome == "subtests" and not hasattr(pytest, "Subtests"):
        pytest.skip("pytest's subtests fixture needs pytest >= 9")
    files = dict(OUTCOMES[outcome])
    if mode == "interrupt":
        files["test_m_interrupt.py"] = INTERRUPT
    pytester.makepyfile(**{name[:-3]: text for name, text in files.items()})
    args = ("-q", "-p", "no:cacheprovider", *MODES[mode])

    def fresh() -> None:
        for marker in pytester.path.parent.glob("flaky-ran"):
            marker.unlink()
        for marker in pytester.path.glob("**/flaky-ran"):
            marker.unlink()

    write_policy(pytester, STRICT)
    fresh()
    plain = pytester.runpytest_subprocess(*args)  # the gate is off: pytest's own
    results = {}
    for name, policy in (("strict", STRICT), ("tolerant", TOLERANT)):
        write_policy(pytester, policy)
        fresh()
        run = pytester.runpytest_subprocess("--gate", f"--gate-json={name}.json", *args)
        verdict = read_verdict(pytester.path / f"{name}.json")
        results[name] = (run, verdict)
        own = {k: v for k, v in summary_counts(run).items() if k not in ("rerun", "warnings")}
        assert gate_counts(verdict["metrics"]) == own, run.stdout.str()
        assert own == {
            k: v for k, v in summary_counts(plain).items() if k not in ("rerun", "warnings")
        }

    strict, _ = results["strict"]
    tolerant, tolerant_verdict = results["tolerant"]
    # Never 0 unless pytest's own is 0 ...
    if strict.ret == 0:
        assert plain.ret == 0
    # ... or the policy tolerated the test failures of a complete run.
    incomplete = mode == "interrupt" or (mode == "x" and outcome != "green")
    if incomplete:
        assert tolerant.ret != 0
        assert tolerant_verdict["verdict"] == "error"
        assert any(r["name"] == "run completed" for r in tolerant_verdict["rules"])
    else:
        assert tolerant.ret == 0, tolerant.stdout.str()
    if mode == "interrupt":
        assert plain.ret == strict.ret == tolerant.ret == pytest.ExitCode.INTERRUPTED
    if plain.ret == 0:
        assert strict.ret == 0
