"""Runtime metrics for a gate child that holds no credential: the job runner samples them.

The gate child of the worker and the Lambda runs the tenant's tests and gets
no AWS credential (SPEC §13), so it cannot call ``GetMetricData`` itself. For
a job whose policy declares ``[[metric]]`` definitions, the runner (which has
its credentials from the standard chain) serves samples on a loopback HTTP
endpoint for the length of the child's run, and tells the child where in
``RELEASEGATE_RUNTIME_SAMPLER`` (``http://127.0.0.1:PORT/TOKEN``); the
child's runtime source asks it once per round instead of calling the
backends (:class:`pytest_releasegate.sources.runtime_remote.RemoteSampler`).

What crosses: sample values, reasons and the queries as sent, all with
``${VAR}`` values masked. The ``${VAR}`` values are expanded here, but only
from the environment the child itself gets (no credential, nothing the
worker keeps to itself): the metric definitions come from the tenant's
policy, so the worker's own environment must not be expandable into a URL
or header the tenant chose. No credential reaches the child. The endpoint
samples only the metrics of the job's own policy.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from ..runtime_policy import RuntimeMetric
from ..sources.runtime_remote import SAMPLER_ENV
from ..sources.runtime_sample import Sample
from .worker_options import DEFAULTS, RuntimeMetrics


class SamplerService:
    """The runner's side: one sampler for the job's metrics, behind a one-job token.

    ``refused``: metrics the runner does not sample (``--runtime-metrics``), by name,
    with why; each of their samples is a failure saying so.
    """

    def __init__(
        self,
        metrics: Sequence[RuntimeMetric],
        environ: Mapping[str, str],
        refused: Mapping[str, str] | None = None,
    ) -> None:
        from ..sources.runtime import RuntimeSampler

        self.refused = dict(refused or {})
        self.metrics = [m for m in metrics if m.name not in self.refused]
        self.sampler = RuntimeSampler(self.metrics, environ)
        self.lock = threading.Lock()
        token = secrets.token_urlsafe(24)
        service = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                if self.path != f"/{token}/sample":
                    self.send_error(404)
                    return
                body = json.dumps(service.sample()).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/{token}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, args=(0.1,), name="releasegate-sampler", daemon=True
        )
        self.thread.start()

    def sample(self) -> dict[str, Any]:
        with self.lock:  # one sample at a time: the clients are not shared across threads
            samples = self.sampler.sample() if self.metrics else {}
            sent = {m.name: self.sampler.as_sent(m) for m in self.metrics}
        now = time.time()
        for name, why in self.refused.items():
            samples[name] = Sample(now, None, "failed", why)
        return {"samples": {k: v.to_json() for k, v in samples.items()}, "sent": sent}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.sampler.close()


@contextlib.contextmanager
def runtime_sampler(
    src: Path,
    policy: str | None,
    environ: Mapping[str, str],
    allowed: RuntimeMetrics = DEFAULTS["runtime_metrics"],
) -> Iterator[dict[str, str]]:
    """While the child runs: the environment entries that point it at a sampler for the
    job's runtime metrics, or none when its policy declares none (or does not load:
    the child reports that itself). Metrics ``allowed`` refuses are never sampled."""
    from ..policy import PolicyError, load_policy

    try:
        metrics = load_policy(policy, rootdir=src).runtime_metrics
    except PolicyError:
        metrics = ()
    if not metrics:
        yield {}
        return
    refused = {m.name: why for m in metrics if (why := allowed.refusal(m)) is not None}
    service = SamplerService(metrics, environ, refused)
    try:
        yield {SAMPLER_ENV: service.url}
    finally:
        service.close()
