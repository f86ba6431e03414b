"""`baseline = "history"`: the last passing run on the same branch and profile (real git repo)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from pytest_releasegate.cli import main
from tests.history_support import evaluate

POLICY = """
baseline = "history"
history = "h.jsonl"

[[rule]]
name = "no failing tests"
metric = "tests.failed"
max = 0

[[rule]]
name = "passing tests ratchet"
metric = "tests.passed"
max-drop = 0
{on_missing}
"""


def git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repo, check=True, capture_output=True, text=True, timeout=30
    ).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for var in ("CODEBUILD_WEBHOOK_HEAD_REF", "GITHUB_HEAD_REF", "GITHUB_REF_NAME"):
        monkeypatch.delenv(var, raising=False)
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "config", "user.email", "t@example.com")
    git(tmp_path, "config", "user.name", "t")
    (tmp_path / ".gitignore").write_text("h.jsonl\nreports/\nverdict.json\n")
    (tmp_path / "releasegate.toml").write_text(POLICY.format(on_missing='on-missing = "skip"'))
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "start")
    return tmp_path


def ratchet(verdict: dict) -> dict:  # type: ignore[type-arg]
    return next(r for r in verdict["rules"] if r["name"] == "passing tests ratchet")


def test_the_last_passing_run_on_the_same_branch_is_the_baseline(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, v1 = evaluate(repo, monkeypatch, passed=10)
    assert v1["verdict"] == "pass" and v1["context"]["git_branch"] == "main"
    assert ratchet(v1)["outcome"] == "skipped"  # the bootstrap: no passing run yet

    _, v2 = evaluate(repo, monkeypatch, passed=20, failed=1)  # fails: never a baseline
    assert v2["verdict"] == "fail"
    assert ratchet(v2)["baseline"] == 10

    git(repo, "checkout", "-q", "-b", "feature")
    _, v3 = evaluate(repo, monkeypatch, passed=50)  # another branch: its own series
    assert ratchet(v3)["outcome"] == "skipped"
    assert "no passing run on branch feature" in ratchet(v3)["message"]

    git(repo, "checkout", "-q", "main")
    _, v4 = evaluate(repo, monkeypatch, passed=12)
    assert ratchet(v4)["baseline"] == 10  # run 1: run 2 failed, run 3 is on feature
    assert ratchet(v4)["outcome"] == "pass"

    _, v5 = evaluate(repo, monkeypatch, passed=11)
    assert ratchet(v5)["baseline"] == 12
    assert ratchet(v5)["outcome"] == "fail"
    assert "dropped by 1 from baseline 12" in ratchet(v5)["message"]

    git(repo, "checkout", "-q", "feature")
    _, v6 = evaluate(repo, monkeypatch, passed=49)
    assert ratchet(v6)["baseline"] == 50
    assert ratchet(v6)["outcome"] == "fail"


def test_runs_with_no_known_branch_match_only_each_other(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    evaluate(repo, monkeypatch, passed=10)  # on main
    git(repo, "checkout", "-q", "--detach")
    _, detached = evaluate(repo, monkeypatch, passed=3)
    assert "git_branch" not in detached["context"]
    assert ratchet(detached)["outcome"] == "skipped"
    assert "no passing run on an unknown branch" in ratchet(detached)["message"]
    _, again = evaluate(repo, monkeypatch, passed=4)
    assert ratchet(again)["baseline"] == 3


def test_a_detached_ci_checkout_takes_the_branch_the_ci_names(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    evaluate(repo, monkeypatch, passed=10)  # on main
    git(repo, "checkout", "-q", "--detach")
    monkeypatch.setenv("CODEBUILD_WEBHOOK_HEAD_REF", "refs/heads/main")
    _, v = evaluate(repo, monkeypatch, passed=10)
    assert v["context"]["git_branch"] == "main"
    assert ratchet(v)["baseline"] == 10


def test_other_profiles_are_not_a_baseline(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (repo / "releasegate.toml").write_text(
        POLICY.format(on_missing='on-missing = "skip"') + "[profiles.nightly]\n"
    )
    evaluate(repo, monkeypatch, "--profile", "nightly", passed=10)
    _, v = evaluate(repo, monkeypatch, passed=10)
    assert ratchet(v)["outcome"] == "skipped"
    assert "with profile default" in ratchet(v)["message"]


def test_no_passing_run_is_an_error_for_the_relative_rule(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (repo / "releasegate.toml").write_text(POLICY.format(on_missing=""))
    code, v = evaluate(repo, monkeypatch, passed=10)
    assert code == 3
    assert v["verdict"] == "error"
    assert ratchet(v)["outcome"] == "error"
    assert (
        "no passing run on branch main with profile default in the history h.jsonl"
        in (ratchet(v)["message"])
    )
    # and an error run is never a baseline: the next run errors the same way
    code, v = evaluate(repo, monkeypatch, passed=10)
    assert code == 3


def test_baseline_history_without_a_history_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "releasegate.toml").write_text(
        'baseline = "history"\n[[rule]]\nname = "r"\nmetric = "tests.passed"\nmax-drop = 0\n'
    )
    monkeypatch.chdir(tmp_path)
    assert main(["evaluate"]) == 4
    err = capsys.readouterr().err.strip()
    assert err == (
        "releasegate: bad policy: releasegate.toml, key 'baseline': \"history\" needs a run "
        "history (set `history` in the policy, or pass --gate-history PATH to pytest, "
        "--history PATH to releasegate)"
    )
    # the flag spelling works too
    assert main(["evaluate", "--history", "h.jsonl", "--baseline", "history"]) == 3


def test_a_passing_run_with_tolerated_failures_is_a_baseline(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (repo / "releasegate.toml").write_text(
        'baseline = "history"\nhistory = "h.jsonl"\n'
        '[[rule]]\nname = "few failures"\nmetric = "tests.failed"\nmax = 2\n'
        '[[rule]]\nname = "passing tests ratchet"\nmetric = "tests.passed"\nmax-drop = 0\n'
        'on-missing = "skip"\n'
    )
    _, first = evaluate(repo, monkeypatch, passed=10, failed=2)
    assert first["verdict"] == "pass" and len(first["failures"]) == 2
    _, second = evaluate(repo, monkeypatch, passed=9)
    assert ratchet(second)["baseline"] == 10
    assert ratchet(second)["outcome"] == "fail"
