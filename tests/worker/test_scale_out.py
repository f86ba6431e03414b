"""Acceptance 1: queued jobs across two worker processes, each job handled exactly once."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from pytest_releasegate.testing.emulator import CodePipelineEmulator

from .support import SERVE, Artifacts, enqueue, project_files, wait_until

KMS_KEY = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"


def test_ten_jobs_two_workers_each_job_once_with_its_verdict_and_output(
    emulator: CodePipelineEmulator, artifacts: Artifacts, env: dict[str, str], spawn: Any
) -> None:
    args = [*SERVE, "--concurrency", "2", "--poll-interval", "0.1", "--log-format", "json"]
    workers = [spawn(*args, env=env, name=f"w{n}") for n in range(2)]
    # Both polling before the first job arrives: each gets a share of the queue.
    wait_until(lambda: all(w.events("worker.started") for w in workers), timeout=60)
    expected: dict[str, str] = {}
    outputs = {}
    for i in range(10):
        passing = i % 3 != 0
        job_id, out = enqueue(
            emulator,
            artifacts,
            project_files(passing=passing),
            pipeline_name=f"pipe-{i}",
            encryption_key=KMS_KEY if i % 2 else None,
        )
        expected[job_id] = "pass" if passing else "fail"
        outputs[job_id] = out
    wait_until(lambda: len(emulator.results()) >= 10, timeout=120)
    for worker in workers:
        worker.terminate()
    assert [worker.wait(30) for worker in workers] == [0, 0]

    results = emulator.results()
    assert Counter(r.job_id for r in results) == dict.fromkeys(expected, 1)
    acks = Counter(c.params["jobId"] for c in emulator.calls("AcknowledgeJob"))
    assert acks == dict.fromkeys(expected, 1)
    for result in results:
        job = emulator.job(result.job_id)
        want = expected[result.job_id]
        assert result.kind == ("success" if want == "pass" else "failure")
        if want == "pass":
            assert result.params["outputVariables"]["verdict"] == "pass"
        else:
            assert result.params["failureDetails"]["type"] == "JobFailed"
            assert "no failing tests" in result.params["failureDetails"]["message"]
        out = outputs[result.job_id]
        assert out is not None
        files = artifacts.read_zip(out)
        assert set(files) == {"verdict.json", "releasegate-junit.xml", "report.html"}
        assert f"badge verdict o-{want}".encode() in files["report.html"]
        pipeline = job.data["pipelineContext"]["pipelineName"]
        assert pipeline.encode() in files["report.html"]
        verdict = json.loads(files["verdict.json"])
        assert verdict["verdict"] == want
        assert verdict["context"]["codepipeline_job_id"] == result.job_id
        assert (
            verdict["context"]["codepipeline_pipeline"]
            == job.data["pipelineContext"]["pipelineName"]
        )
        assert b"<testsuite" in files["releasegate-junit.xml"]
        head = artifacts.head(out)
        assert head["ServerSideEncryption"] == "aws:kms"
        if "encryptionKey" in job.data:
            assert head["SSEKMSKeyId"] == KMS_KEY

    # Both workers took part, and each logged one finished event per job it owned.
    finished = [e["job_id"] for w in workers for e in w.events("job.finished")]
    assert sorted(finished) == sorted(expected)
    assert all(w.events("job.finished") for w in workers)
