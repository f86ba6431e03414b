"""The bake hand-over between a gate child and its parent, with the real smoke source.

The parent (Lambda handler, worker) sets RELEASEGATE_BAKE_UNTIL / _STATE_IN /
_STATE_OUT; the CodePipeline sink passes them to the smoke source and writes
the unfinished state back. A fake clock makes the rounds instant.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from pytest_releasegate.codepipeline.handoff import decode_token, encode_token
from pytest_releasegate.engine import Gate, GateOptions
from pytest_releasegate.manager import get_plugin_manager, known_metrics
from pytest_releasegate.model import Outcome
from pytest_releasegate.policy import load_policy
from pytest_releasegate.sinks.codepipeline import STATE_IN_ENV, STATE_OUT_ENV, UNTIL_ENV

POLICY = """
[[rule]]
name = "smoke checks pass"
metric = "smoke.failed"
max = 0

[[smoke]]
name = "health"
url = "{base_url}/health"
expect-status = 200

[bake]
duration = "10s"
interval = "1s"
"""


class _Ok(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def service() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def gate_run(tmp_path: Path, base_url: str, environ: dict[str, str], clock: FakeClock) -> Any:
    (tmp_path / "releasegate.toml").write_text(POLICY)
    pm = get_plugin_manager(entry_points=False)
    policy = load_policy(tmp_path / "releasegate.toml", rootdir=tmp_path, metrics=known_metrics(pm))
    gate = Gate(policy, GateOptions(base_url=base_url), rootdir=tmp_path, pm=pm, environ=environ)
    gate.data.update({"smoke:clock": clock, "smoke:sleep": clock.sleep, "smoke:progress": print})
    verdict = gate.run()
    assert gate.publish(verdict) == []
    return verdict


def test_a_bake_stopped_at_the_deadline_is_handed_over_and_resumed(
    tmp_path: Path, service: str
) -> None:
    state_out = tmp_path / "state-1.json"
    clock = FakeClock(1_000.0)
    gate_run(tmp_path, service, {UNTIL_ENV: "1003.5", STATE_OUT_ENV: str(state_out)}, clock)
    state = json.loads(state_out.read_text())
    assert (state["finished"], state["rounds"], state["planned"]) == (False, 4, 10)
    # Through a continuation token and back, as the next job receives it.
    resumed = decode_token(encode_token({"bake": state}))["bake"]
    state_in = tmp_path / "state-in.json"
    state_in.write_text(json.dumps(resumed))
    state_out_2 = tmp_path / "state-2.json"
    verdict = gate_run(
        tmp_path,
        service,
        {STATE_IN_ENV: str(state_in), UNTIL_ENV: "99999", STATE_OUT_ENV: str(state_out_2)},
        clock,
    )
    assert not state_out_2.exists()  # finished: nothing left to hand over
    assert verdict.verdict is Outcome.PASS
    assert verdict.metrics["smoke.passed"] == 10  # every round of both runs counted
    (bake,) = [r for r in verdict.rules if r.name == "bake"]
    assert bake.outcome is Outcome.PASS


def test_an_unreadable_state_to_resume_makes_the_run_an_error(tmp_path: Path, service: str) -> None:
    verdict = gate_run(
        tmp_path, service, {STATE_IN_ENV: str(tmp_path / "missing.json")}, FakeClock(0.0)
    )
    assert verdict.verdict is Outcome.ERROR
    assert any("cannot read the bake state" in r.message for r in verdict.rules)
