"""An s3:// history on a moto server: conditional writes, retries, nothing lost or doubled.

What the installed moto honours is pinned first (the probe), so a moto upgrade
that changes it shows up here rather than as a flaky concurrency test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from pytest_releasegate.history import S3History, encode
from tests.history_support import evaluate, junit

REPO = Path(__file__).resolve().parents[2]
POLICY = """
history = "{history}"

[[rule]]
name = "no failing tests"
metric = "tests.failed"
max = 0
"""


@pytest.fixture
def s3(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_server)
    return boto3.client("s3", endpoint_url=moto_server)


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"history-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def _error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, int]:
    response: Any = exc.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"]


def test_probe_what_moto_honours_for_conditional_put_object(s3: Any, bucket: str) -> None:
    """The semantics the S3 history relies on, as this moto server implements them."""
    first = s3.put_object(Bucket=bucket, Key="k", Body=b"1", IfNoneMatch="*")
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="k", Body=b"2", IfNoneMatch="*")
    assert _error(exc) == ("PreconditionFailed", 412)
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="k", Body=b"2", IfMatch='"0123456789abcdef"')
    assert _error(exc) == ("PreconditionFailed", 412)
    with pytest.raises(ClientError) as exc:
        s3.put_object(Bucket=bucket, Key="absent", Body=b"2", IfMatch=first["ETag"])
    assert _error(exc) == ("NoSuchKey", 404)
    # the current ETag, with or without quotes, is accepted
    second = s3.put_object(Bucket=bucket, Key="k", Body=b"2", IfMatch=first["ETag"])
    s3.put_object(Bucket=bucket, Key="k", Body=b"3", IfMatch=second["ETag"].strip('"'))
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"3"


def _line(n: int) -> bytes:
    record = {
        "schema": "releasegate.history/1",
        "id": f"run{n}",
        "time": f"2026-01-01T00:00:{n:02d}+00:00",
        "verdict": "pass",
        "profile": "default",
        "rules": [],
        "metrics": {"tests.failed": n},
    }
    return encode(record)


def test_a_writer_that_lost_the_race_rereads_and_both_runs_are_kept(s3: Any, bucket: str) -> None:
    location = f"s3://{bucket}/h.jsonl"
    S3History(location, client=s3).append(_line(0), 500, run_id="run0")

    class Interleaved(S3History):
        """Writer A: after its first read, writer B appends a whole run."""

        reads = 0

        def _get(self) -> tuple[bytes, str | None]:
            got = super()._get()
            self.reads += 1
            if self.reads == 1:
                S3History(location, client=s3).append(_line(2), 500, run_id="run2")
            return got

    a = Interleaved(location, client=s3)
    a.append(_line(1), 500, run_id="run1")

    assert a.conflicts == 1  # its first conditional write met B's newer ETag: 412
    body = s3.get_object(Bucket=bucket, Key="h.jsonl")["Body"].read()
    assert [json.loads(x)["id"] for x in body.splitlines()] == ["run0", "run2", "run1"]


def test_the_first_run_creates_the_object_only_if_still_absent(s3: Any, bucket: str) -> None:
    location = f"s3://{bucket}/new.jsonl"

    class Racing(S3History):
        reads = 0

        def _get(self) -> tuple[bytes, str | None]:
            got = super()._get()
            self.reads += 1
            if self.reads == 1:  # another run creates the history first
                S3History(location, client=s3).append(_line(9), 500, run_id="run9")
            return got

    writer = Racing(location, client=s3)
    writer.append(_line(1), 500, run_id="run1")
    assert writer.conflicts == 1
    body = s3.get_object(Bucket=bucket, Key="new.jsonl")["Body"].read()
    assert [json.loads(x)["id"] for x in body.splitlines()] == ["run9", "run1"]


def test_a_write_whose_answer_was_lost_is_not_written_twice(s3: Any, bucket: str) -> None:
    """botocore retries a PUT whose response was lost; the retry meets the new ETag (412).

    No fault on a moto server produces that, so a thin client wrapper lets the
    real PUT through and then answers as the retried request would.
    """

    class LostAnswer:
        def __init__(self) -> None:
            self.puts = 0

        def get_object(self, **kw: Any) -> Any:
            return s3.get_object(**kw)

        def put_object(self, **kw: Any) -> Any:
            s3.put_object(**kw)
            self.puts += 1
            if self.puts == 1:
                raise ClientError(
                    {
                        "Error": {
                            "Code": "PreconditionFailed",
                            "Message": "At least one of the pre-conditions you specified did not hold",
                        }
                    },
                    "PutObject",
                )

    location = f"s3://{bucket}/h.jsonl"
    S3History(location, client=s3).append(_line(0), 500, run_id="run0")
    client = LostAnswer()
    S3History(location, client=client).append(_line(1), 500, run_id="run1")
    assert client.puts == 1
    body = s3.get_object(Bucket=bucket, Key="h.jsonl")["Body"].read()
    assert [json.loads(x)["id"] for x in body.splitlines()] == ["run0", "run1"]


def test_trimming_on_s3_keeps_the_newest(s3: Any, bucket: str) -> None:
    location = f"s3://{bucket}/h.jsonl"
    for n in range(6):
        S3History(location, client=s3).append(_line(n), 4, run_id=f"run{n}")
    body = s3.get_object(Bucket=bucket, Key="h.jsonl")["Body"].read()
    assert [json.loads(x)["id"] for x in body.splitlines()] == ["run2", "run3", "run4", "run5"]


@pytest.mark.slow
def test_ten_concurrent_runs_lose_and_double_nothing(
    moto_server: str, s3: Any, bucket: str, tmp_path: Path
) -> None:
    """Ten `releasegate evaluate` processes append to one s3:// history at the same time."""
    (tmp_path / "releasegate.toml").write_text(POLICY.format(history=f"s3://{bucket}/h.jsonl"))
    report = junit(tmp_path / "junit.xml", passed=3)
    env = {
        **os.environ,
        "AWS_ENDPOINT_URL_S3": moto_server,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }

    def run(n: int) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest_releasegate",
                "evaluate",
                "--input-junit",
                str(report),
                "--json",
                str(tmp_path / f"v{n}.json"),
            ],
            cwd=tmp_path,
            env={**env, "CODEBUILD_BUILD_ID": f"build:{n}"},
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )

    with ThreadPoolExecutor(max_workers=10) as pool:
        procs = list(pool.map(run, range(10)))

    for proc in procs:
        assert proc.returncode == 0, proc.stdout + proc.stderr
    verdicts = [json.loads((tmp_path / f"v{n}.json").read_text()) for n in range(10)]
    assert all("history_error" not in v for v in verdicts)
    body = s3.get_object(Bucket=bucket, Key="h.jsonl")["Body"].read()
    records = [json.loads(x) for x in body.splitlines()]
    assert len(records) == 10
    assert sorted(r["context"]["codebuild_build_id"] for r in records) == sorted(
        f"build:{n}" for n in range(10)
    )
    assert len({r["id"] for r in records}) == 10


def test_a_missing_bucket_is_a_history_error_not_a_changed_verdict(
    s3: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "releasegate.toml").write_text(POLICY.format(history="s3://no-such-bucket-x1/h"))
    code, verdict = evaluate(tmp_path, monkeypatch)
    assert code == 0
    assert verdict["verdict"] == "pass"
    assert "NoSuchBucket" in verdict["history_error"]
    assert any("NOT added to the history" in w for w in verdict["warnings"])


def test_dry_run_writes_no_s3_history(
    s3: Any, bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "releasegate.toml").write_text(POLICY.format(history=f"s3://{bucket}/h"))
    _, verdict = evaluate(tmp_path, monkeypatch, "--dry-run")
    assert any("dry run: this run was not added" in w for w in verdict["warnings"])
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0
