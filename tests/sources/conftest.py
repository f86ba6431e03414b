"""A real HTTP service on loopback for the smoke tests, with scripted latency and failures.

Paths:

* ``/delay/<ms>``      200 ``{"status": "ok"}`` after sleeping ``ms`` milliseconds
* ``/status/<code>``   that status, body ``status <code>``
* ``/json``            200 ``{"status": "ok", "items": [{"id": 1}, {"id": 2}]}``
* ``/echo``            the request's headers as JSON (Authorization first);
                       status from ``?status=`` (default 200)
* ``/flaky``           200, or 503 for the request numbers in ``Service.fail_on`` (1-based)
* ``/down``            503 while ``Service.down`` is true, else 200
* ``/redirect``        302 to ``/json``
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from pytest_releasegate.engine import Gate, GateOptions
from pytest_releasegate.manager import get_plugin_manager, known_metrics
from pytest_releasegate.policy import load_policy


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # 50 concurrent connects must not meet a full backlog
    daemon_threads = True


class Service:
    def __init__(self) -> None:
        self.fail_on: set[int] = set()
        self.down = False
        self.lock = threading.Lock()
        self.counts: dict[str, int] = {}
        self.in_flight = 0
        self.max_in_flight = 0
        self.server = _Server(("127.0.0.1", 0), _handler(self))
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def count(self, path: str) -> int:
        with self.lock:
            self.counts[path] = self.counts.get(path, 0) + 1
            return self.counts[path]


def _handler(service: Service) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

        def _send(self, status: int, body: Any) -> None:
            data = (body if isinstance(body, str) else json.dumps(body)).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            parts = urllib.parse.urlsplit(self.path)
            path = parts.path
            n = service.count(path)
            with service.lock:
                service.in_flight += 1
                service.max_in_flight = max(service.max_in_flight, service.in_flight)
            try:
                if path.startswith("/delay/"):
                    time.sleep(int(path.rsplit("/", 1)[1]) / 1000.0)
                    self._send(200, {"status": "ok"})
                elif path.startswith("/status/"):
                    code = int(path.rsplit("/", 1)[1])
                    self._send(code, f"status {code}")
                elif path == "/json":
                    self._send(200, {"status": "ok", "items": [{"id": 1}, {"id": 2}]})
                elif path == "/echo":
                    query = dict(urllib.parse.parse_qsl(parts.query))
                    headers = dict(self.headers.items())
                    first = {"Authorization": headers.pop("Authorization", None)}
                    self._send(int(query.get("status", 200)), {**first, **headers})
                elif path == "/flaky":
                    self._send(503 if n in service.fail_on else 200, {"n": n})
                elif path == "/redirect":
                    self.send_response(302)
                    self.send_header("Location", "/json")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif path == "/down":
                    self._send(503 if service.down else 200, {"down": service.down})
                else:
                    self._send(404, "not found")
            finally:
                with service.lock:
                    service.in_flight -= 1

        do_GET = do_POST = _serve

    return Handler


@pytest.fixture
def service() -> Iterator[Service]:
    svc = Service()
    svc.thread.start()
    try:
        yield svc
    finally:
        svc.server.shutdown()
        svc.server.server_close()


@pytest.fixture
def make_gate(tmp_path: Any) -> Any:
    """``make_gate(toml, base_url=None, environ=None, **data)``: a Gate over that policy.

    Bake progress lines are collected in ``gate.data["progress_lines"]``.
    """

    def make(
        toml: str,
        base_url: str | None = None,
        environ: dict[str, str] | None = None,
        **data: Any,
    ) -> Gate:
        path = tmp_path / "releasegate.toml"
        path.write_text(toml, encoding="utf-8")
        pm = get_plugin_manager(entry_points=False)
        policy = load_policy(path, rootdir=tmp_path, metrics=known_metrics(pm))
        gate = Gate(
            policy, GateOptions(base_url=base_url), rootdir=tmp_path, pm=pm, environ=environ or {}
        )
        lines: list[str] = []
        gate.data["progress_lines"] = lines
        gate.data["smoke:progress"] = lines.append
        gate.data.update({f"smoke:{k}": v for k, v in data.items()})
        return gate

    return make
