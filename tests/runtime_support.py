"""Real backends for the runtime-metric tests: a Prometheus server scraping an instrumented
service, and a recording proxy in front of the moto server.

* :class:`InstrumentedService` — a small HTTP service instrumented with
  ``prometheus-client``: ``http_requests_total{route,status}`` and the
  ``http_request_duration_seconds{route}`` histogram. ``GET /hit/<route>?status=N&ms=M``
  records one request with that status and latency (and answers with it);
  ``/metrics`` is the exposition. ``fail_after[route] = N``: from the N+1st request
  on, ``/hit/<route>`` answers 500 whatever it asks for (a deploy turning bad).
* :class:`PrometheusServer` — Debian's ``/usr/bin/prometheus`` on 127.0.0.1, a
  free port, a temporary storage directory, a 1 s scrape interval, scraping
  the service; :meth:`PrometheusServer.wait_for` polls a query until it
  gives the expected value (bounded).
* :class:`RecordingProxy` — forwards every request to the moto server and
  records the AWS operation of each, so a test counts ``GetMetricData``
  requests as they went over the wire.

Everything started here is stopped by pid; every wait is bounded.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64


class InstrumentedService:
    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

        self.registry = CollectorRegistry()
        self.fail_after: dict[str, int] = {}
        self.hits: dict[str, int] = {}
        self.requests = Counter(
            "http_requests_total",
            "requests by route and status",
            ["route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "request latency",
            ["route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
            registry=self.registry,
        )
        service = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                parts = urllib.parse.urlsplit(self.path)
                if parts.path == "/metrics":
                    body = generate_latest(service.registry)
                    status = 200
                elif parts.path.startswith("/hit/"):
                    query = dict(urllib.parse.parse_qsl(parts.query))
                    status = int(query.get("status", 200))
                    seconds = float(query.get("ms", 1)) / 1000.0
                    route = parts.path[len("/hit/") :]
                    status = service.turn(route, status)
                    service.record(route, status, seconds)
                    body = b"ok"
                else:
                    status, body = 404, b"not found"
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def turn(self, route: str, status: int) -> int:
        n = self.hits[route] = self.hits.get(route, 0) + 1
        limit = self.fail_after.get(route)
        return 500 if limit is not None and n > limit else status

    def record(self, route: str, status: int, seconds: float) -> None:
        self.requests.labels(route=route, status=str(status)).inc()
        self.latency.labels(route=route).observe(seconds)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


CONFIG = """\
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: api
    static_configs:
      - targets: ["127.0.0.1:{port}"]
"""


class PrometheusServer:
    """A real Prometheus, started and stopped by the caller (a session fixture)."""

    def __init__(self, target_port: int) -> None:
        binary = shutil.which("prometheus") or (
            "/usr/bin/prometheus" if os.path.exists("/usr/bin/prometheus") else None
        )
        if binary is None:
            raise RuntimeError(
                "the prometheus binary is not installed: `apt-get install -y prometheus` "
                "(.ci/run installs it); the runtime-metric tests need a real server"
            )
        self.dir = Path(tempfile.mkdtemp(prefix="releasegate-prometheus-"))
        (self.dir / "prometheus.yml").write_text(CONFIG.format(port=target_port), encoding="utf-8")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(self.dir / "prometheus.log", "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [
                binary,
                f"--config.file={self.dir / 'prometheus.yml'}",
                f"--storage.tsdb.path={self.dir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--log.level=warn",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def wait_until_up(self, timeout: float = 60.0) -> None:
        """Until the scrape target is healthy (bounded); raises with the server's log."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                targets = requests.get(f"{self.url}/api/v1/targets", timeout=2).json()
                active = targets["data"]["activeTargets"]
                if active and all(t["health"] == "up" for t in active):
                    return
            except (requests.RequestException, ValueError, KeyError):
                pass
            time.sleep(0.2)
        log = (self.dir / "prometheus.log").read_text(errors="replace")[-2000:]
        raise RuntimeError(f"Prometheus did not scrape its target within {timeout:.0f} s:\n{log}")

    def query(self, promql: str) -> Any:
        body = requests.post(f"{self.url}/api/v1/query", data={"query": promql}, timeout=5).json()
        return body["data"]["result"]

    def wait_for(self, promql: str, expected: float, timeout: float = 30.0) -> None:
        """Until ``promql`` gives ``expected`` (a one-element vector), bounded."""
        deadline = time.monotonic() + timeout
        seen: Any = None
        while time.monotonic() < deadline:
            seen = self.query(promql)
            if len(seen) == 1 and abs(float(seen[0]["value"][1]) - expected) < 1e-9:
                return
            time.sleep(0.2)
        raise AssertionError(f"{promql} never gave {expected} within {timeout} s (last: {seen})")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class RecordingProxy:
    """An HTTP forwarder to ``upstream`` that records each request's AWS operation."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.operations: list[str] = []
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                proxy.record(self.path, dict(self.headers.items()), body)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                answer = requests.post(
                    proxy.upstream + self.path, data=body, headers=headers, timeout=30
                )
                self.send_response(answer.status_code)
                for k, v in answer.headers.items():
                    if k.lower() not in (
                        "content-length",
                        "transfer-encoding",
                        "connection",
                        "content-encoding",
                    ):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def record(self, path: str, headers: dict[str, str], body: bytes) -> None:
        target = headers.get("X-Amz-Target") or headers.get("x-amz-target") or ""
        operation = target.rsplit(".", 1)[-1] if target else ""
        if not operation and "/operation/" in path:
            operation = path.rsplit("/", 1)[-1]
        if not operation:
            fields = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
            operation = (fields.get("Action") or [""])[0]
        with self.lock:
            self.operations.append(operation)

    def count(self, operation: str) -> int:
        with self.lock:
            return self.operations.count(operation)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
