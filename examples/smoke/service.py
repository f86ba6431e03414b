"""A tiny local service to try smoke checks and bakes on (standard library only).

    python examples/smoke/service.py --port 8080                 # healthy
    python examples/smoke/service.py --port 8080 --mode failing  # /health answers 503
    python examples/smoke/service.py --port 8080 --mode slow     # every answer takes 800 ms
    python examples/smoke/service.py --port 8080 --mode flaky    # every 4th request fails

Switch a running service to another mode (to break a bake half-way):

    curl -X POST http://127.0.0.1:8080/_mode -d failing

Endpoints: ``GET /health`` → ``{"status": "ok"}``; ``GET /api/items`` → a
JSON list that requires the header ``Authorization: Bearer demo-token``.
``--port 0`` picks a free port; the first line printed names the URL.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODES = ("healthy", "failing", "slow", "flaky")
TOKEN = "demo-token"


class Service(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, port: int, mode: str = "healthy", slow_ms: int = 800) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        self.mode = mode
        self.slow_ms = slow_ms
        self.requests = 0
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    server: Service
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms stalls

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        srv = self.server
        with srv.lock:
            srv.requests += 1
            n = srv.requests
        if srv.mode == "slow":
            time.sleep(srv.slow_ms / 1000)
        broken = srv.mode == "failing" or (srv.mode == "flaky" and n % 4 == 0)
        path = self.path.split("?", 1)[0]
        if path == "/health":
            if broken:
                self._send(503, {"status": "down"})
            else:
                self._send(200, {"status": "ok"})
        elif path == "/api/items":
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self._send(401, {"error": "unauthorized"})
            elif broken:
                self._send(500, {"error": "internal"})
            else:
                self._send(200, {"items": [{"id": 1, "name": "tea"}, {"id": 2, "name": "cake"}]})
        else:
            self._send(404, {"error": "not found"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode().strip()
        if self.path == "/_mode" and body in MODES:
            self.server.mode = body
            self._send(200, {"mode": body})
        else:
            self._send(400, {"error": f"POST /_mode with one of {', '.join(MODES)}"})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--mode", choices=MODES, default="healthy")
    parser.add_argument("--slow-ms", type=int, default=800, help="latency in slow mode")
    args = parser.parse_args()
    service = Service(args.port, args.mode, args.slow_ms)
    print(f"serving on {service.url} (mode {service.mode})", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        service.serve_forever()


if __name__ == "__main__":
    main()
