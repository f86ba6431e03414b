"""Acceptance 6: a bake longer than one pass goes on in continuation jobs to one final result.

The gate child here is a stand-in for the smoke source's bake (one "round" per
gate run, three in all) that speaks the hand-over protocol of
``pytest_releasegate.sinks.codepipeline``: it reads the state to resume from
``RELEASEGATE_BAKE_STATE_IN`` and, while rounds are left, writes its state to
``RELEASEGATE_BAKE_STATE_OUT``. The worker does not look inside the state
beyond ``rounds`` and ``planned``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pytest_releasegate.aws.emulator import CodePipelineEmulator
from pytest_releasegate.aws.job import decode_token

from .support import PROVIDER, Artifacts, enqueue, project_files, wait_until

STAND_IN_BAKE = """
import json, os

PLANNED = 3


def pytest_sessionfinish(session):
    state_in = os.environ.get("RELEASEGATE_BAKE_STATE_IN")
    if state_in:
        with open(state_in) as f:
            state = json.load(f)
    else:
        state = {"schema": "stand-in-bake", "rounds": 0, "planned": PLANNED, "failures": []}
    with open(os.environ["ROUNDS_LOG"], "a") as f:
        f.write(f"{state['rounds']}\\n")
    state["rounds"] += 1
    if state["rounds"] < PLANNED:
        with open(os.environ["RELEASEGATE_BAKE_STATE_OUT"], "w") as f:
            json.dump(state, f)
"""


def test_a_bake_spanning_three_passes_ends_in_one_final_result(
    emulator: CodePipelineEmulator,
    artifacts: Artifacts,
    env: dict[str, str],
    spawn: Any,
    tmp_path: Path,
) -> None:
    rounds_log = tmp_path / "rounds.txt"
    env["ROUNDS_LOG"] = str(rounds_log)
    files = {**project_files(), "conftest.py": STAND_IN_BAKE}
    first, out = enqueue(emulator, artifacts, files)
    worker = spawn(
        "--provider",
        PROVIDER,
        "--query",
        "GateId=api",
        "--poll-interval",
        "0.1",
        "--log-format",
        "json",
        env=env,
    )
    wait_until(lambda: any(not _continues(r) for r in emulator.results()), timeout=120)
    worker.terminate()
    assert worker.wait(30) == 0, worker.text()

    chain = [emulator.job(first)]
    while chain[-1].continued_by:
        chain.append(emulator.job(chain[-1].continued_by))
    assert len(chain) == 3  # the first job and two continuation jobs
    results = [job.result for job in chain]
    assert all(r is not None for r in results)
    assert [_continues(r) for r in results] == [True, True, False]
    assert len(emulator.results()) == 3  # nothing else was put anywhere

    # Each continuation job carried the state the previous pass handed over.
    tokens = [job.data.get("continuationToken") for job in chain]
    assert tokens[0] is None
    assert [decode_token(t)["bake"]["rounds"] for t in tokens[1:]] == [1, 2]
    assert rounds_log.read_text().split() == ["0", "1", "2"]
    assert [r.params["continuationToken"] for r in results[:2]] == tokens[1:]

    # One action execution across the chain: the same external id, progress rising.
    details = [r.params["executionDetails"] for r in results]
    assert {d["externalExecutionId"] for d in details} == {first}
    assert [d["percentComplete"] for d in details] == [33, 66, 100]
    assert "bake in progress" in details[0]["summary"]
    final = results[-1]
    assert final.kind == "success"
    assert final.params["outputVariables"]["verdict"] == "pass"
    assert "outputVariables" not in results[0].params
    # The verdict reaches the output artifact only with the final result.
    assert out is not None
    verdict = json.loads(artifacts.read_zip(out)["verdict.json"])
    assert verdict["context"]["codepipeline_job_id"] == chain[-1].id
    outcomes = [e["outcome"] for e in worker.events("job.finished")]
    assert outcomes == ["continuation", "continuation", "success"]


def test_a_failing_test_ends_the_bake_at_once(
    emulator: CodePipelineEmulator,
    artifacts: Artifacts,
    env: dict[str, str],
    spawn: Any,
    tmp_path: Path,
) -> None:
    env["ROUNDS_LOG"] = str(tmp_path / "rounds.txt")
    files = {**project_files(passing=False), "conftest.py": STAND_IN_BAKE}
    job_id, _ = enqueue(emulator, artifacts, files)
    worker = spawn("--provider", PROVIDER, "--query", "GateId=api", "--once", env=env)
    assert worker.wait(60) == 0, worker.text()
    (result,) = emulator.results()
    assert result.job_id == job_id
    assert result.kind == "failure"
    assert "no failing tests" in result.params["failureDetails"]["message"]
    assert emulator.job(job_id).continued_by is None


def _continues(result: Any) -> bool:
    return "continuationToken" in result.params
