"""The runner samples runtime metrics for the credential-free gate child; a tenant's policy must
not turn that into a way to read the worker's own environment (``${VAR}`` in a metric's URL or
headers expands only what the child itself may see)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from pytest_releasegate.testing.emulator import CodePipelineEmulator

from .support import SERVE, Artifacts, enqueue, wait_until

SECRET = "worker-own-secret-value-0123456789"
TENANT_VISIBLE = "tenant-visible-value-42"

POLICY = """
[tool.releasegate]
[[tool.releasegate.metric]]
name = "api.leak"
provider = "prometheus"
url = "{url}/k=${{AWS_SECRET_ACCESS_KEY}}"
query = "up"
headers = {{ X-Key = "${{AWS_SECRET_ACCESS_KEY}}" }}

[[tool.releasegate.metric]]
name = "api.plain"
provider = "prometheus"
url = "{url}/plain"
query = "up"
headers = {{ X-Ok = "${{PLAIN}}" }}

[[tool.releasegate.rule]]
name = "leak"
metric = "api.leak"
max = 0
on-missing = "skip"

[[tool.releasegate.rule]]
name = "plain"
metric = "api.plain"
max = 0
on-missing = "skip"
"""


@pytest.fixture
def recorder() -> Iterator[tuple[str, list[str]]]:
    """A loopback HTTP server standing for the tenant's own listener: records what reaches it."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def _record(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("latin-1") if length else ""
            seen.append(f"{self.path}\n{self.headers}\n{body}")
            payload = b'{"status":"success","data":{"resultType":"vector","result":[]}}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _record

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


def test_a_tenant_policy_cannot_expand_the_workers_environment(
    emulator: CodePipelineEmulator,
    artifacts: Artifacts,
    env: dict[str, str],
    spawn: Any,
    recorder: tuple[str, list[str]],
) -> None:
    url, seen = recorder
    env["AWS_SECRET_ACCESS_KEY"] = SECRET
    env["PLAIN"] = TENANT_VISIBLE
    files = {
        "pyproject.toml": POLICY.format(url=url),
        "tests/test_app.py": "def test_ok():\n    pass\n",
    }
    job_id, _ = enqueue(emulator, artifacts, files)
    worker = spawn(*SERVE, "--poll-interval", "0.1", env=env)
    wait_until(lambda: emulator.results(), timeout=180)
    worker.terminate()
    assert worker.wait(30) == 0, worker.text()
    assert [r.job_id for r in emulator.results()] == [job_id]
    assert seen, emulator.results()[0].params
    for request in seen:
        assert SECRET not in request
    # What the child may see is still expanded.
    assert any(TENANT_VISIBLE in request for request in seen)
