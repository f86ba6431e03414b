"""The HTTP side of the CodePipeline emulator: AWS JSON 1.1 on loopback, plus `/_control/`.

Everything that decides an answer lives in :mod:`pytest_releasegate.testing.emulator`;
this module only reads requests and writes replies.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import socket
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

if TYPE_CHECKING:
    from .emulator import CodePipelineEmulator

logger = logging.getLogger("pytest_releasegate.emulator")

AMZ_JSON = "application/x-amz-json-1.1"
CONTROL_PREFIX = "/_control"
#: The access key id in a SigV4 Authorization header.
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/")


class EmulatorHTTPServer(ThreadingHTTPServer):
    """One thread per connection; keeps track of open connections so stop() ends them."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], emulator: CodePipelineEmulator) -> None:
        self.emulator = emulator
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def close_connections(self) -> None:
        with self.connections_lock:
            open_now = list(self.connections)
        for conn in open_now:
            with contextlib.suppress(OSError):  # already closed by the client
                conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as botocore's connection pool expects
    disable_nagle_algorithm = True  # headers and body go out as separate writes
    server: EmulatorHTTPServer
    timeout = 30  # an idle keep-alive connection does not hold a thread forever

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections.add(self.connection)

    def finish(self) -> None:
        with self.server.connections_lock:
            self.server.connections.discard(self.connection)
        with contextlib.suppress(OSError):  # the peer went away; nothing left to flush
            super().finish()

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s " + format, self.address_string(), *args)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, payload: object, content_type: str) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        body = self._body()
        path = urlsplit(self.path).path
        if path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/"):
            self._control(path, body, {})
            return
        # SigV4 is not verified (credentials are fake), but an unsigned client is a bug.
        authorization = self.headers.get("Authorization", "")
        signed = authorization.startswith("AWS4-HMAC-SHA256 ")
        key = _CREDENTIAL.search(authorization) if signed else None
        reply = self.server.emulator.handle(
            self.headers.get("X-Amz-Target", ""),
            body,
            signed=signed,
            access_key_id=key.group(1) if key else None,
        )
        if reply.drop:
            self.close_connection = True  # no bytes at all: the client sees a dropped connection
            return
        self._send(reply.status, reply.payload, AMZ_JSON)

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if parts.path == CONTROL_PREFIX or parts.path.startswith(CONTROL_PREFIX + "/"):
            self._control(parts.path, b"", dict(parse_qsl(parts.query)))
            return
        self._send(404, {"message": "CodePipeline answers POST / only"}, "application/json")

    def _control(self, path: str, body: bytes, query: dict[str, str]) -> None:
        name = path[len(CONTROL_PREFIX) :].strip("/")
        try:
            args = json.loads(body) if body.strip() else dict(query)
            if not isinstance(args, dict):
                raise ValueError("the control body must be a JSON object of keyword arguments")
            result = self.server.emulator.control(name, args)
        except (ValueError, TypeError, KeyError, LookupError) as exc:
            self._send(400, {"error": str(exc)}, "application/json")
            return
        self._send(200, {"result": result}, "application/json")
