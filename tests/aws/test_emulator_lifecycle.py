"""The job state machine as a worker drives it: poll, acknowledge, result, continuation."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from pytest_releasegate.testing.emulator import CodePipelineEmulator, S3Artifact


def test_poll_acknowledge_succeed_records_one_result(
    emulator: CodePipelineEmulator, client: Any, gate_type: dict[str, str]
) -> None:
    job_id = emulator.enqueue_job(
        "ReleaseGate",
        configuration={"GateId": "api", "Policy": "release.toml"},
        input_artifacts=[S3Artifact("Source", "artifacts", "pipeline/Source/abc.zip")],
        output_artifacts=[{"name": "Verdict", "bucket": "artifacts", "key": "pipeline/V/x"}],
        encryption_key="alias/releasegate",
        pipeline_name="payments",
    )
    assert emulator.job(job_id).status == "Queued"

    (job,) = client.poll_for_jobs(actionTypeId=gate_type, queryParam={"GateId": "api"})["jobs"]
    assert job["id"] == job_id
    assert job["accountId"] == emulator.account_id
    data = job["data"]
    assert data["actionTypeId"] == gate_type
    assert data["actionConfiguration"]["configuration"] == {
        "GateId": "api",
        "Policy": "release.toml",
    }
    assert data["pipelineContext"]["pipelineName"] == "payments"
    assert data["inputArtifacts"][0]["location"]["s3Location"] == {
        "bucketName": "artifacts",
        "objectKey": "pipeline/Source/abc.zip",
    }
    assert data["outputArtifacts"][0]["name"] == "Verdict"
    assert data["encryptionKey"] == {"id": "alias/releasegate", "type": "KMS"}
    assert set(data["artifactCredentials"]) == {"accessKeyId", "secretAccessKey", "sessionToken"}
    assert "continuationToken" not in data
    assert emulator.job(job_id).status == "Dispatched"

    assert client.acknowledge_job(jobId=job_id, nonce=job["nonce"])["status"] == "InProgress"
    client.put_job_success_result(
        jobId=job_id,
        executionDetails={"summary": "gate PASSED", "percentComplete": 100},
        outputVariables={"verdict": "pass", "tests_failed": "0"},
    )

    view = emulator.job(job_id)
    assert view.status == "Succeeded"
    (result,) = emulator.results()
    assert result == view.result
    assert result.kind == "success"
    assert result.params["outputVariables"] == {"verdict": "pass", "tests_failed": "0"}
    assert not result.response_lost
    assert [c.operation for c in emulator.calls()] == [
        "PollForJobs",
        "AcknowledgeJob",
        "PutJobSuccessResult",
    ]


def test_failure_result_closes_the_job_as_failed(
    emulator: CodePipelineEmulator, client: Any, start_job: Callable[..., str]
) -> None:
    job_id = start_job()
    client.put_job_failure_result(
        jobId=job_id, failureDetails={"type": "JobFailed", "message": "2 rules failed"}
    )
    assert emulator.job(job_id).status == "Failed"
    (result,) = emulator.results(job_id)
    assert result.kind == "failure"
    assert result.params["failureDetails"]["type"] == "JobFailed"


def test_continuation_token_closes_the_job_and_queues_a_new_one_carrying_it(
    emulator: CodePipelineEmulator,
    client: Any,
    start_job: Callable[..., str],
    gate_type: dict[str, str],
) -> None:
    first = start_job(configuration={"GateId": "api", "Policy": "p.toml"})
    client.put_job_success_result(
        jobId=first,
        continuationToken='{"round": 1}',
        executionDetails={"summary": "baking", "percentComplete": 10},
    )
    assert emulator.job(first).status == "Succeeded"
    follow_up = emulator.job(first).continued_by
    assert follow_up is not None
    assert follow_up != first
    assert emulator.job(follow_up).continues == first

    (job,) = client.poll_for_jobs(actionTypeId=gate_type, queryParam={"GateId": "api"})["jobs"]
    assert job["id"] == follow_up
    assert job["data"]["continuationToken"] == '{"round": 1}'
    assert job["data"]["actionConfiguration"]["configuration"]["Policy"] == "p.toml"
    client.acknowledge_job(jobId=follow_up, nonce=job["nonce"])
    client.put_job_success_result(jobId=follow_up, outputVariables={"verdict": "pass"})
    assert emulator.job(follow_up).continued_by is None
    assert [r.job_id for r in emulator.results()] == [first, follow_up]


def test_get_job_details_returns_data_and_current_credentials_without_nonce(
    emulator: CodePipelineEmulator, client: Any, start_job: Callable[..., str]
) -> None:
    job_id = start_job()
    fresh = {"accessKeyId": "ASIAFRESH", "secretAccessKey": "s2", "sessionToken": "t2"}
    emulator.set_artifact_credentials(job_id, fresh)
    details = client.get_job_details(jobId=job_id)["jobDetails"]
    assert details["id"] == job_id
    assert details["accountId"] == emulator.account_id
    assert details["data"]["artifactCredentials"] == fresh
    assert "nonce" not in details


def test_poll_is_fifo_and_honours_max_batch_size(
    emulator: CodePipelineEmulator, client: Any, gate_type: dict[str, str]
) -> None:
    ids = [emulator.enqueue_job("ReleaseGate", configuration={"GateId": "api"}) for _ in range(5)]
    query = {"GateId": "api"}
    first = client.poll_for_jobs(actionTypeId=gate_type, queryParam=query)["jobs"]
    batch = client.poll_for_jobs(actionTypeId=gate_type, queryParam=query, maxBatchSize=3)["jobs"]
    rest = client.poll_for_jobs(actionTypeId=gate_type, queryParam=query, maxBatchSize=10)["jobs"]
    assert [j["id"] for j in first] == ids[:1]  # the default batch is one job
    assert [j["id"] for j in batch] == ids[1:4]
    assert [j["id"] for j in rest] == ids[4:]
    assert client.poll_for_jobs(actionTypeId=gate_type, queryParam=query)["jobs"] == []
    assert len({j["nonce"] for j in first + batch + rest}) == 5


def test_poll_returns_only_jobs_whose_queryable_value_matches(
    emulator: CodePipelineEmulator, client: Any, gate_type: dict[str, str]
) -> None:
    payments = emulator.enqueue_job("ReleaseGate", configuration={"GateId": "payments"})
    api = emulator.enqueue_job("ReleaseGate", configuration={"GateId": "api"})
    got = client.poll_for_jobs(actionTypeId=gate_type, queryParam={"GateId": "api"}, maxBatchSize=5)
    assert [j["id"] for j in got["jobs"]] == [api]
    assert emulator.job(payments).status == "Queued"


def test_poll_does_not_return_jobs_of_another_action_type(
    emulator: CodePipelineEmulator, client: Any
) -> None:
    emulator.register_action_type("OtherGate", version="2")
    other = emulator.enqueue_job("OtherGate", version="2")
    emulator.enqueue_job("ReleaseGate", configuration={"GateId": "api"})
    other_type = {"category": "Test", "owner": "Custom", "provider": "OtherGate", "version": "2"}
    got = client.poll_for_jobs(actionTypeId=other_type, maxBatchSize=5)["jobs"]
    assert [j["id"] for j in got] == [other]


def test_acknowledging_twice_with_the_same_nonce_is_idempotent(
    emulator: CodePipelineEmulator, client: Any, gate_type: dict[str, str]
) -> None:
    job_id = emulator.enqueue_job("ReleaseGate", configuration={"GateId": "api"})
    (job,) = client.poll_for_jobs(actionTypeId=gate_type, queryParam={"GateId": "api"})["jobs"]
    assert client.acknowledge_job(jobId=job_id, nonce=job["nonce"])["status"] == "InProgress"
    assert client.acknowledge_job(jobId=job_id, nonce=job["nonce"])["status"] == "InProgress"
    client.put_job_success_result(jobId=job_id)
    # An acknowledgement after the end reports the final status instead of reopening the job.
    assert client.acknowledge_job(jobId=job_id, nonce=job["nonce"])["status"] == "Succeeded"


def test_two_threads_polling_never_get_the_same_job(
    emulator: CodePipelineEmulator, gate_type: dict[str, str]
) -> None:
    expected = {
        emulator.enqueue_job("ReleaseGate", configuration={"GateId": "api"}) for _ in range(30)
    }
    start = threading.Barrier(2)

    def poller() -> list[str]:
        worker = emulator.client(retries={"total_max_attempts": 1})
        start.wait(timeout=10)
        mine: list[str] = []
        for _ in range(40):  # bounded: 30 jobs, batches of up to 2
            jobs = worker.poll_for_jobs(
                actionTypeId=gate_type, queryParam={"GateId": "api"}, maxBatchSize=2
            )["jobs"]
            if not jobs:
                break
            for job in jobs:
                worker.acknowledge_job(jobId=job["id"], nonce=job["nonce"])
                mine.append(job["id"])
        return mine

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(poller) for _ in range(2)]
        got = [future.result(timeout=30) for future in futures]
    assert not set(got[0]) & set(got[1])
    assert sorted(got[0] + got[1]) == sorted(expected)
    assert {emulator.job(j).status for j in expected} == {"InProgress"}


@pytest.mark.parametrize("owner_filter", [None, "Custom"])
def test_list_action_types_shows_created_custom_types(
    client: Any, gate_type: dict[str, str], owner_filter: str | None
) -> None:
    kwargs = {"actionOwnerFilter": owner_filter} if owner_filter else {}
    types = client.list_action_types(**kwargs)["actionTypes"]
    assert [t["id"] for t in types] == [gate_type]
    assert types[0]["actionConfigurationProperties"][0]["queryable"] is True
    assert client.list_action_types(actionOwnerFilter="AWS")["actionTypes"] == []


def test_create_custom_action_type_through_boto3_makes_it_pollable(
    codepipeline_emulator: CodePipelineEmulator,
) -> None:
    client = codepipeline_emulator.client()
    created = client.create_custom_action_type(
        category="Deploy",
        provider="Bake",
        version="3",
        settings={
            "executionUrlTemplate": "https://ci.example/{Config:Project}/{ExternalExecutionId}"
        },
        configurationProperties=[
            {"name": "Project", "required": True, "key": True, "secret": False}
        ],
        inputArtifactDetails={"minimumCount": 1, "maximumCount": 1},
        outputArtifactDetails={"minimumCount": 0, "maximumCount": 0},
        tags=[{"key": "team", "value": "qa"}],
    )
    type_id = {"category": "Deploy", "owner": "Custom", "provider": "Bake", "version": "3"}
    assert created["actionType"]["id"] == type_id
    assert created["tags"] == [{"key": "team", "value": "qa"}]
    job_id = codepipeline_emulator.enqueue_job(
        "Bake",
        category="Deploy",
        version="3",
        configuration={"Project": "p"},
        input_artifacts=[S3Artifact("Src", "b", "k")],
    )
    assert [j["id"] for j in client.poll_for_jobs(actionTypeId=type_id)["jobs"]] == [job_id]
