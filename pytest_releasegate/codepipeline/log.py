"""The job runner's one logger (the worker's and the Lambda's), and the worker's liveness.

One line per event — on stderr for the worker, stdout for the Lambda
(CloudWatch Logs) — a JSON object (``--log-format json``, the Lambda) or
``time LEVEL event key=value …`` (``text``). Every string that reaches a line
— and every failure message the worker puts on a job — first goes through a
:class:`~pytest_releasegate.redact.Redactor`, which removes the credentials it was told about (the
worker's own, each job's artifact credentials) and anything shaped like an
AWS secret access key, session token or access key id. Job data is never
logged, only the ids, names and figures chosen here.
"""

from __future__ import annotations

import datetime as _dt
import json
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TextIO

from ..redact import REDACTED, Redactor

__all__ = ["REDACTED", "EventLog", "HealthServer", "Heartbeat", "Redactor"]


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds")


def _text_value(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    return json.dumps(text) if (not text or any(c in text for c in ' "=\n')) else text


class EventLog:
    """Structured events, one line each, redacted; safe to call from any thread."""

    def __init__(
        self,
        fmt: str = "text",
        *,
        stream: TextIO | None = None,
        redactor: Redactor | None = None,
        clock: Callable[[], str] = _now,
    ) -> None:
        if fmt not in ("text", "json"):
            raise ValueError(f"log format must be text or json, not {fmt!r}")
        self.fmt = fmt
        self.stream = stream
        self.redactor = redactor or Redactor()
        self._clock = clock
        self._lock = threading.Lock()

    def event(self, event: str, level: str = "info", **fields: object) -> None:
        """Write one event; ``None`` fields are left out."""
        data = {k: v for k, v in fields.items() if v is not None}
        scrubbed = self.redactor.scrub(data)
        assert isinstance(scrubbed, dict)
        if self.fmt == "json":
            record = {"time": self._clock(), "level": level, "event": event, **scrubbed}
            line = json.dumps(record, separators=(",", ":"), default=str)
        else:
            pairs = " ".join(f"{k}={_text_value(v)}" for k, v in scrubbed.items())
            line = f"{self._clock()} {level.upper():<7} {event}" + (f" {pairs}" if pairs else "")
        stream = self.stream or sys.stderr
        with self._lock:
            try:
                stream.write(line + "\n")
                stream.flush()
            except (OSError, ValueError):  # a closed pipe must not take a job down
                pass

    def info(self, event: str, **fields: object) -> None:
        self.event(event, "info", **fields)

    def warning(self, event: str, **fields: object) -> None:
        self.event(event, "warning", **fields)

    def error(self, event: str, **fields: object) -> None:
        self.event(event, "error", **fields)


class Heartbeat:
    """When the poll loop last went round; read by the liveness endpoint."""

    def __init__(self, stale_after: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.stale_after = stale_after
        self._clock = clock
        self._last = clock()
        self.state = "starting"
        self.active_jobs = 0

    def beat(self, state: str = "polling") -> None:
        self._last = self._clock()
        self.state = state

    def age(self) -> float:
        return self._clock() - self._last

    def alive(self) -> bool:
        return self.state != "stopped" and self.age() <= self.stale_after


class HealthServer:
    """``GET /healthz`` on loopback: 200 while the poll loop is alive, else 503."""

    def __init__(self, heartbeat: Heartbeat, port: int, host: str = "127.0.0.1") -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        beat = heartbeat

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?", 1)[0] not in ("/healthz", "/"):
                    self._answer(404, {"error": "not found"})
                    return
                alive = beat.alive()
                body: dict[str, Any] = {
                    "status": "ok" if alive else "unhealthy",
                    "state": beat.state,
                    "active_jobs": beat.active_jobs,
                    "last_loop_s": round(beat.age(), 3),
                }
                self._answer(200 if alive else 503, body)

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # container health probes are not events

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="releasegate-health",
            daemon=True,
        )

    def start(self) -> HealthServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
