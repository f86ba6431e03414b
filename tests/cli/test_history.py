"""A local run history: one line per gated run, trimmed, corrupt lines skipped loudly."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from pytest_releasegate.model import verdict_schema
from tests.history_support import evaluate, history_lines

POLICY = """
history = "{history}"
{keep}

[[rule]]
name = "no failing tests"
metric = "tests.failed"
max = 0

[[rule]]
name = "pass rate"
metric = "tests.pass_rate"
min = 50
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "releasegate.toml").write_text(
        POLICY.format(history=".releasegate/history.jsonl", keep="")
    )
    return tmp_path


def test_five_runs_give_five_lines_with_their_values_in_order(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    failed = [0, 1, 0, 3, 0]
    verdicts = [evaluate(project, monkeypatch, failed=n)[1] for n in failed]

    # relative to the project root; the parent folder was created
    lines = history_lines(project / ".releasegate" / "history.jsonl")
    assert len(lines) == 5
    assert [line["verdict"] for line in lines] == ["pass", "fail", "pass", "fail", "pass"]
    assert [line["metrics"]["tests.failed"] for line in lines] == failed
    for line, verdict in zip(lines, verdicts, strict=True):
        assert line["schema"] == "releasegate.history/1"
        assert line["profile"] == "default"
        assert line["time"] == verdict["finished_at"]
        assert line["metrics"] == verdict["metrics"]
        assert line["context"] == verdict["context"]
        rule = {r["name"]: r for r in line["rules"]}["no failing tests"]
        assert rule["metric"] == "tests.failed"
        assert rule["threshold"] == {"max": 0}
        assert rule["actual"] == verdict["metrics"]["tests.failed"]
        assert rule["outcome"] == ("pass" if rule["actual"] == 0 else "fail")
        assert "history_error" not in verdict
        jsonschema.validate(verdict, verdict_schema())
    assert len({line["id"] for line in lines}) == 5


def test_history_keep_trims_to_the_newest_runs(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "releasegate.toml").write_text(
        POLICY.format(history="h.jsonl", keep="history-keep = 3")
    )
    for n in range(5):
        evaluate(project, monkeypatch, failed=n)
    lines = history_lines(project / "h.jsonl")
    assert [line["metrics"]["tests.failed"] for line in lines] == [2, 3, 4]


def test_a_corrupt_line_is_skipped_with_a_warning_and_the_run_still_appends(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    evaluate(project, monkeypatch)
    path = project / ".releasegate" / "history.jsonl"
    good = path.read_text()
    path.write_text(
        good + '{"schema": "releasegate.history/1", "verdict": "pa\n' + "[" * 100_000 + "\n"
    )
    before = path.read_bytes()

    code, verdict = evaluate(project, monkeypatch, "--markdown", str(project / "s.md"))

    assert code == 0
    assert verdict["verdict"] == "pass"
    warning = next(w for w in verdict["warnings"] if "corrupt" in w)
    assert "skipped 2 corrupt lines (line 2, 3)" in warning
    assert "corrupt" in capsys.readouterr().out
    after = path.read_bytes()
    assert after.startswith(before)  # earlier lines are never rewritten
    assert len(after.splitlines()) == 4
    assert json.loads(after.splitlines()[-1])["time"] == verdict["finished_at"]


def test_trimming_drops_corrupt_lines(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (project / "releasegate.toml").write_text(
        POLICY.format(history="h.jsonl", keep="history-keep = 3")
    )
    evaluate(project, monkeypatch)
    path = project / "h.jsonl"
    path.write_text(path.read_text() + "not json\n")
    evaluate(project, monkeypatch, failed=1)
    assert len(path.read_text().splitlines()) == 3  # at the limit: not trimmed yet
    _, verdict = evaluate(project, monkeypatch, failed=2)
    lines = path.read_text().splitlines()
    assert [json.loads(x)["metrics"]["tests.failed"] for x in lines] == [0, 1, 2]
    assert any("dropped 1 corrupt line" in w for w in verdict["warnings"])


def test_a_partial_last_line_does_not_swallow_the_next_record(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = project / ".releasegate" / "history.jsonl"
    path.parent.mkdir()
    path.write_text('{"schema": "releasegate.hist')  # a run killed mid-write
    evaluate(project, monkeypatch)
    lines = path.read_text().splitlines()
    assert len(lines) == 2
    assert json.loads(lines[1])["verdict"] == "pass"


def test_flag_overrides_the_policy_and_relative_flags_follow_the_invocation_dir(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    evaluate(project, monkeypatch, "--history", "other/h.jsonl")
    assert len(history_lines(project / "other" / "h.jsonl")) == 1
    assert not (project / ".releasegate").exists()


def test_an_unwritable_history_leaves_the_verdict_and_says_so(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "blocker").write_text("a file where a folder should be")
    code, verdict = evaluate(project, monkeypatch, "--history", "blocker/h.jsonl")
    assert code == 0
    assert verdict["verdict"] == "pass"
    assert "blocker/h.jsonl" in verdict["history_error"]
    out = capsys.readouterr().out
    assert "WARNING: this run was NOT added to the history" in out
    jsonschema.validate(verdict, verdict_schema())


def test_no_history_configured_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "releasegate.toml").write_text(
        '[[rule]]\nname = "no failing tests"\nmetric = "tests.failed"\nmax = 0\n'
    )
    _, verdict = evaluate(tmp_path, monkeypatch)
    assert "history_error" not in verdict
    assert not list(tmp_path.rglob("*.jsonl"))


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('history = ""', "key 'history': must be a path or s3://bucket/key"),
        ('history = "s3://bucket-only"', "key 'history': must be a path or s3://bucket/key"),
        ("history = 3", "key 'history': must be a path or s3://bucket/key"),
        ("history-keep = 0", "key 'history-keep': must be a whole number >= 1"),
        ('history-keep = "10"', "key 'history-keep': must be a whole number >= 1"),
        ('histroy = "h.jsonl"', "did you mean 'history'?"),
    ],
)
def test_bad_history_keys_are_a_usage_error(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    line: str,
    problem: str,
) -> None:
    (tmp_path / "releasegate.toml").write_text(
        f'{line}\n[[rule]]\nname = "r"\nmetric = "tests.failed"\nmax = 0\n'
    )
    monkeypatch.chdir(tmp_path)
    from pytest_releasegate.cli import main

    assert main(["evaluate"]) == 4
    err = capsys.readouterr().err
    assert "releasegate.toml" in err and problem in err
    assert len(err.strip().splitlines()) == 1


def test_junit_failures_keep_the_first_line_of_their_message(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, verdict = evaluate(project, monkeypatch, failed=2)
    assert [f["message"] for f in verdict["failures"]] == ["assert 0 == 0", "assert 1 == 0"]
    assert {f["source"] for f in verdict["failures"]} == {"junit:default"}
    assert history_lines(project / ".releasegate" / "history.jsonl")[0]["failed_tests"] == 2


def test_a_local_history_does_not_import_boto3(tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.history_support import junit

    (tmp_path / "releasegate.toml").write_text(POLICY.format(history="h.jsonl", keep=""))
    junit(tmp_path / "j.xml", passed=1)
    code = (
        "import sys\nfrom pytest_releasegate.cli import main\n"
        "rc = main(['evaluate', '--input-junit', 'j.xml'])\n"
        "assert rc == 0, rc\nassert 'boto3' not in sys.modules\nprint('ok')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert proc.stdout.strip().endswith("ok"), proc.stdout + proc.stderr
    assert (tmp_path / "h.jsonl").read_text().count("\n") == 1


def test_a_large_history_is_trimmed_in_one_go_past_five_percent_slack(tmp_path: Path) -> None:
    from pytest_releasegate.history import LocalHistory, encode, slack

    assert slack(3) == 0 and slack(40) == 2 and slack(500) == 25
    store = LocalHistory(str(tmp_path / "h.jsonl"))
    counts = []
    for n in range(46):
        line = encode(
            {
                "schema": "releasegate.history/1",
                "id": str(n),
                "time": str(n),
                "verdict": "pass",
                "profile": "p",
                "rules": [],
                "metrics": {},
            }
        )
        stored, _ = store.append(line, 40)
        counts.append(stored.count(b"\n"))
    # 40, 41, 42, then back to 40 on the append that would make 43
    assert counts[39:46] == [40, 41, 42, 40, 41, 42, 40]
    ids = [json.loads(x)["id"] for x in (tmp_path / "h.jsonl").read_text().splitlines()]
    assert ids == [str(n) for n in range(6, 46)]
