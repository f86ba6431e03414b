"""The job worker's event log, credential scrubbing and liveness endpoint.

One line per event, on stderr: a JSON object (``--log-format json``) or
``time LEVEL event key=value …`` (``text``). Every string that reaches a line
— and every failure message the worker puts on a job — first goes through a
:class:`Redactor`, which removes the credentials it was told about (the
worker's own, each job's artifact credentials) and anything shaped like an
AWS secret access key, session token or access key id. Job data is never
logged, only the ids, names and figures chosen here.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TextIO

REDACTED = "[REDACTED]"

#: Credential-looking text. Key ids are not secret, but they name the
#: credential, so only their last four characters are kept.
_ACCESS_KEY_ID = re.compile(r"\b(?:AKIA|ASIA|AROA|AIDA)[A-Z0-9]{12,}([A-Z0-9]{4})\b")
#: A 40-character base64 run with a character that hex lacks (a secret access
#: key; a 40-hex git sha stays readable).
_SECRET_KEY = re.compile(
    r"(?<![A-Za-z0-9/+=])(?=[A-Za-z0-9/+=]{0,39}[A-Zg-z/+=])[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])"
)
#: Session tokens are long base64 strings.
_LONG_TOKEN = re.compile(r"[A-Za-z0-9/+=_-]{100,}")
#: `name=value` / `"name": "value"` where the name says it is a secret.
_NAMED_SECRET = re.compile(
    r"(?i)((?:secret_?access_?key|session_?token|security_?token|secretaccesskey|"
    r"sessiontoken|artifactcredentials|aws_secret_access_key|aws_session_token)"
    r"[\"']?\s*[:=]\s*[\"']?)([^\s\"',}]+)"
)


class Redactor:
    """Removes credentials from text; thread-safe, grows as credentials are seen."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        self.add(*secrets)

    def add(self, *secrets: str | None) -> None:
        """Redact these exact values from now on (values under 8 characters are ignored)."""
        with self._lock:
            self._secrets.update(s for s in secrets if s and len(s) >= 8)

    def secrets(self) -> tuple[str, ...]:
        """The registered values (to keep them out of a child's environment)."""
        with self._lock:
            return tuple(self._secrets)

    def knows(self, value: str) -> bool:
        """Whether ``value`` holds one of the registered secrets."""
        with self._lock:
            return any(s in value for s in self._secrets)

    def __call__(self, text: str) -> str:
        with self._lock:
            known = sorted(self._secrets, key=len, reverse=True)
        for secret in known:
            if secret in text:
                text = text.replace(secret, REDACTED)
        text = _NAMED_SECRET.sub(lambda m: m.group(1) + REDACTED, text)
        text = _LONG_TOKEN.sub(REDACTED, text)
        text = _SECRET_KEY.sub(REDACTED, text)
        return _ACCESS_KEY_ID.sub(lambda m: f"…{m.group(1)}", text)

    def scrub(self, value: object) -> object:
        """``value`` with every string in it redacted (dicts, lists, tuples walked)."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, Mapping):
            return {str(k): self.scrub(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.scrub(v) for v in value]
        return value


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


class LoggingBridge(logging.Handler):
    """Routes stdlib ``logging`` records (the shared AWS modules use it) into an EventLog."""

    def __init__(self, log: EventLog, level: int = logging.WARNING) -> None:
        super().__init__(level)
        self.log = log

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format string is not worth a crash
            message = str(record.msg)
        level = "error" if record.levelno >= logging.ERROR else "warning"
        self.log.event("library." + record.name.rsplit(".", 1)[-1], level, message=message)

    @classmethod
    def attach(cls, log: EventLog, name: str = "pytest_releasegate") -> LoggingBridge:
        bridge = cls(log)
        logger = logging.getLogger(name)
        logger.addHandler(bridge)
        logger.propagate = False
        return bridge
