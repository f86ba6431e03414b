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
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from pytest_releasegate.codepipeline.handoff import decode_token
from pytest_releasegate.testing.emulator import CodePipelineEmulator

from .support import SERVE, Artifacts, enqueue, project_files, wait_until

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
        *SERVE,
        "--poll-interval",
        "0.1",
        "--log-format",
        "json",
        env=env,
    )
    chain = _finish_chain(emulator, first, worker)
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
    worker = spawn(*SERVE, "--once", env=env)
    assert worker.wait(60) == 0, worker.text()
    (result,) = emulator.results()
    assert result.job_id == job_id
    assert result.kind == "failure"
    assert "no failing tests" in result.params["failureDetails"]["message"]
    assert emulator.job(job_id).continued_by is None


def _continues(result: Any) -> bool:
    return "continuationToken" in result.params


def _finish_chain(emulator: CodePipelineEmulator, first: str, worker: Any) -> list[Any]:
    """Wait for a final result, stop the worker; the jobs from ``first`` on, in order."""
    wait_until(lambda: any(not _continues(r) for r in emulator.results()), timeout=180)
    worker.terminate()
    assert worker.wait(30) == 0, worker.text()
    chain = [emulator.job(first)]
    while chain[-1].continued_by:
        chain.append(emulator.job(chain[-1].continued_by))
    return chain


BAKE_POLICY = """
[tool.releasegate]
[[tool.releasegate.rule]]
name = "no failing tests"
metric = "tests.failed"
max = 0

[[tool.releasegate.smoke]]
name = "health"
url = "{base_url}/health"
expect-status = 200

[tool.releasegate.bake]
duration = "3s"
interval = "1s"
"""


@pytest.fixture
def service() -> Iterator[tuple[str, list[str]]]:
    """A loopback HTTP service answering 200 on /health; yields (base URL, paths requested)."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            body = b'{"status": "ok"}'
            self.send_response(200 if self.path == "/health" else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def test_a_real_bake_longer_than_a_pass_resumes_in_continuation_jobs(
    emulator: CodePipelineEmulator,
    artifacts: Artifacts,
    env: dict[str, str],
    spawn: Any,
    service: tuple[str, list[str]],
) -> None:
    """The smoke source's bake: 3 rounds 1 s apart, a pass window of 0.9 s.

    A window under one interval holds at most one round (twice that after a
    pass without any, still under two), so three rounds take at least three
    passes: two continuation jobs, whatever the machine's speed.
    """
    base_url, seen = service
    files = {"pyproject.toml": BAKE_POLICY, "tests/test_app.py": "def test_ok():\n    pass\n"}
    first, out = enqueue(emulator, artifacts, files, configuration={"BaseUrl": base_url})
    worker = spawn(
        *SERVE,
        "--poll-interval",
        "0.1",
        "--bake-pass",
        "0.9",
        "--log-format",
        "json",
        env=env,
    )
    chain = _finish_chain(emulator, first, worker)
    results = [job.result for job in chain]
    assert len(chain) >= 3
    assert [_continues(r) for r in results] == [True] * (len(chain) - 1) + [False]
    rounds = [decode_token(job.data["continuationToken"])["bake"]["rounds"] for job in chain[1:]]
    assert rounds == sorted(rounds) and rounds[-1] < 3
    final = results[-1]
    assert final is not None and final.kind == "success"
    assert final.params["outputVariables"]["verdict"] == "pass"
    assert final.params["outputVariables"]["smoke_passed"] == "3"
    assert seen == ["/health"] * 3  # each round once, none repeated by a resume
    assert out is not None
    verdict = json.loads(artifacts.read_zip(out)["verdict.json"])
    bake = next(r for r in verdict["rules"] if r["name"] == "bake")
    assert bake["outcome"] == "pass"
