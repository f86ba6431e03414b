"""One job runner: the same jobs through the Lambda handler and through the worker
end in the same results — the same kind, failure type and message, result by result.

Both run in this process against the emulator and moto; the worker polls and
acknowledges its jobs itself (``--once`` a pass), the Lambda gets each job as
an Invoke action's event. Real pytest children where a real run is the point;
a stand-in child (``BAKE_CHILD``) where the bake hand-over is.
"""

from __future__ import annotations

import io
import json
import os
import re
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from pytest_releasegate import aws_lambda
from pytest_releasegate.codepipeline.log import EventLog
from pytest_releasegate.codepipeline.results import CodePipelineJobs
from pytest_releasegate.codepipeline.runner import JobSettings
from pytest_releasegate.codepipeline.worker import Worker, WorkerConfig
from pytest_releasegate.testing.emulator import CodePipelineEmulator, S3Artifact

from ..aws.publish_support import lambda_event, zip_bytes
from .support import FAST_ARGS, GATE_TYPE, PROVIDER, REPO, Artifacts, enqueue, project_files

# A stand-in for `pytest --gate`: a bake of 5 rounds, two per gate run, handed
# over through the state files, then a passing verdict. BAKE_MODE "garbage"
# leaves an unreadable state, "huge" one too large for any continuation token.
BAKE_CHILD = textwrap.dedent(
    """
    import argparse, json, os, random
    from pathlib import Path
    from pytest_releasegate.model import Outcome, RuleResult, Selection, Verdict
    from pytest_releasegate.sinks.files import write_json

    parser = argparse.ArgumentParser(allow_abbrev=False)
    parser.add_argument("--gate-json")
    args, _ = parser.parse_known_args()
    env = os.environ
    out = Path(env["RELEASEGATE_BAKE_STATE_OUT"])
    mode = env["BAKE_MODE"]
    state_in = env.get("RELEASEGATE_BAKE_STATE_IN")
    state = json.loads(Path(state_in).read_text()) if state_in else {"rounds": 0, "planned": 5}
    state["rounds"] = min(state["rounds"] + 2, state["planned"])
    if mode == "garbage":
        out.write_text("{not json")
    elif mode == "huge":
        state["blob"] = random.Random(7).randbytes(3000).hex()
        out.write_text(json.dumps(state))
    elif state["rounds"] < state["planned"]:
        out.write_text(json.dumps(state))
    rule = RuleResult("bake", "smoke.bake_violations", Selection(), 0.0, {"max": 0}, None,
                      Outcome.PASS, "bake of %d rounds" % state["rounds"])
    verdict = Verdict(Outcome.PASS, "deploy", "pyproject.toml", (rule,), {"smoke.requests": 4.0},
                      {}, "2026-01-01T00:00:00+00:00", "2026-01-01T00:00:01+00:00", "0.1.0")
    write_json(verdict, Path(args.gate_json))
    """
)

BAD_POLICY = '[tool.releasegate]\n[[tool.releasegate.rule]]\nmetric = "tests.failed"\nmaks = 0\n'
CRASHING_TESTS = "import os, signal\n\ndef test_dies():\n    os.kill(os.getpid(), signal.SIGKILL)\n"


@dataclass(frozen=True)
class Scenario:
    files: dict[str, str] | bytes | None  # None: the input artifact does not exist
    expected: list[tuple[str, str | None]]  # (kind, failure type) of each result in the chain
    bake_mode: str | None = None  # a stand-in child in this mode instead of pytest
    message: str = ""  # in the (last) failure message
    extra: dict[str, Any] = field(default_factory=dict)


SCENARIOS = {
    "pass": Scenario(project_files(), [("success", None)]),
    "fail": Scenario(
        project_files(passing=False), [("failure", "JobFailed")], message="no failing tests"
    ),
    "bad policy": Scenario(
        {**project_files(), "pyproject.toml": BAD_POLICY},
        [("failure", "ConfigurationError")],
        message="'maks'",
    ),
    "missing artifact": Scenario(None, [("failure", "RevisionUnavailable")], message="NoSuchKey"),
    "zip-slip": Scenario(
        zip_bytes({**project_files(), "../escape.py": "print('out')\n"}),
        [("failure", "JobFailed")],
        message="escapes the target",
    ),
    "crash in the child": Scenario(
        project_files(tests=CRASHING_TESTS),
        [("failure", "JobFailed")],
        message="ended with exit code",
    ),
    "bake across two continuations": Scenario(
        project_files(),
        [("continuation", None), ("continuation", None), ("success", None)],
        bake_mode="bake",
    ),
    "unreadable bake state": Scenario(
        project_files(),
        [("failure", "SystemUnavailable")],
        bake_mode="garbage",
        message="unreadable bake state",
    ),
    "oversized token": Scenario(
        project_files(),
        [("failure", "SystemUnavailable")],
        bake_mode="huge",
        message="over the service's 2048",
    ),
}

# Places and times that differ from one run to the next, not from one runner to the other;
# and the token's length, which holds the chain's external id (see the last test).
_VOLATILE = [
    (re.compile(r"takes \d+ characters"), "takes <n> characters"),
    (re.compile(r"releasegate-job-[\w-]+"), "<workdir>"),
    (re.compile(r"\d+(\.\d+)?s\b"), "<t>"),
    (re.compile(r"\b(req-[0-9a-f]{8}|[0-9a-f]{8}-[0-9a-f-]{27})\b"), "<id>"),
]


def _stable(text: str) -> str:
    for pattern, placeholder in _VOLATILE:
        text = pattern.sub(placeholder, text)
    return text


def _summary(result: Any) -> tuple[str, str | None, str]:
    params = result.params
    if result.kind == "failure":
        return ("failure", params["failureDetails"]["type"], params["failureDetails"]["message"])
    kind = "continuation" if "continuationToken" in params else "success"
    return (kind, None, params["executionDetails"]["summary"])


class Runners:
    """The same scenario through either runner, on one emulator and one bucket."""

    def __init__(self, emulator: CodePipelineEmulator, artifacts: Artifacts, tmp_path: Path):
        self.emulator = emulator
        self.artifacts = artifacts
        self.client = emulator.client(retries={"total_max_attempts": 1})
        self.jobs = CodePipelineJobs(client=self.client)
        self.work = tmp_path / "work"
        self.work.mkdir()
        self.script = tmp_path / "bake_child.py"
        self.script.write_text(BAKE_CHILD)
        self.environ = {"PATH": os.environ["PATH"], "PYTHONPATH": str(REPO)}

    def start(self, scenario: Scenario) -> str:
        if scenario.files is None:
            missing = S3Artifact("Source", self.artifacts.bucket, "pipeline/Source/missing.zip")
            job_id = self.emulator.enqueue_job(
                PROVIDER,
                configuration={"GateId": "api", "PytestArgs": FAST_ARGS},
                input_artifacts=[missing],
                output_artifacts=[self.artifacts.output()],
            )
            return job_id
        job_id, _ = enqueue(self.emulator, self.artifacts, scenario.files)
        return job_id

    def command(self, scenario: Scenario) -> tuple[str, ...] | None:
        return (sys.executable, str(self.script)) if scenario.bake_mode else None

    def environment(self, scenario: Scenario) -> dict[str, str]:
        return {**self.environ, "BAKE_MODE": scenario.bake_mode or ""}

    def by_lambda(self, scenario: Scenario) -> list[Any]:
        job_id = self.start(scenario)
        chain = []
        while job_id:
            (job,) = self.client.poll_for_jobs(
                actionTypeId=GATE_TYPE, maxBatchSize=1, queryParam={"GateId": "api"}
            )["jobs"]
            assert job["id"] == job_id
            self.client.acknowledge_job(jobId=job_id, nonce=job["nonce"])
            event = lambda_event(job_id, job["data"], json.dumps({"pytest_args": FAST_ARGS}))
            aws_lambda.handle(
                event,
                _Context(),
                jobs=self.jobs,
                pytest_command=self.command(scenario),
                environ=self.environment(scenario),
                tempdir=str(self.work),
            )
            chain.append(job_id)
            job_id = self.emulator.job(job_id).continued_by
        return [r for j in chain for r in self.emulator.results(j)]

    def by_worker(self, scenario: Scenario) -> list[Any]:
        first = self.start(scenario)
        settings = JobSettings(work_root=self.work)
        command = self.command(scenario)
        if command:
            settings = JobSettings(work_root=self.work, pytest_command=command)
        chain = [first]
        while True:
            worker = Worker(
                WorkerConfig(provider=PROVIDER, query=("GateId", "api"), once=True),
                jobs=self.jobs,
                poll_client=self.client,
                log=EventLog("json", stream=io.StringIO()),
                settings=settings,
                environ=self.environment(scenario),
            )
            assert worker.run() == 0
            follow_up = self.emulator.job(chain[-1]).continued_by
            if follow_up is None:
                break
            chain.append(follow_up)
        return [r for j in chain for r in self.emulator.results(j)]


class _Context:
    aws_request_id = "req-00000000"

    def get_remaining_time_in_millis(self) -> int:
        return 120_000


@pytest.fixture
def runners(
    emulator: CodePipelineEmulator,
    artifacts: Artifacts,
    moto_server: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Runners:
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", moto_server)
    return Runners(emulator, artifacts, tmp_path)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_the_lambda_and_the_worker_put_the_same_results(runners: Runners, name: str) -> None:
    scenario = SCENARIOS[name]
    results: dict[str, list[tuple[str, str | None, str]]] = {}
    for way, run in (("lambda", runners.by_lambda), ("worker", runners.by_worker)):
        results[way] = [_summary(r) for r in run(scenario)]
        assert [(kind, ftype) for kind, ftype, _ in results[way]] == scenario.expected, way
        assert scenario.message in results[way][-1][2], way
    stable = {way: [(k, t, _stable(m)) for k, t, m in rs] for way, rs in results.items()}
    assert stable["lambda"] == stable["worker"]
    assert list(runners.work.iterdir()) == []  # every job's directory is gone


def test_each_runner_names_the_chain_by_its_first_job(runners: Runners) -> None:
    """External ids differ by design: the invocation's request id, the polled job's id;
    either stays the same across a bake's continuations."""
    scenario = SCENARIOS["bake across two continuations"]
    lambda_ids = {
        r.params["executionDetails"]["externalExecutionId"] for r in runners.by_lambda(scenario)
    }
    worker_results = runners.by_worker(scenario)
    worker_ids = {r.params["executionDetails"]["externalExecutionId"] for r in worker_results}
    assert lambda_ids == {_Context.aws_request_id}
    assert worker_ids == {worker_results[0].job_id}
