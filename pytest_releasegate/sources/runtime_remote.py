"""The child's side of :mod:`pytest_releasegate.codepipeline.sampling`: samples from the job
runner, for a gate child that holds no credential of its own."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any

from .runtime_sample import Sample

#: Set by the job runner: where the child asks for samples (``http://127.0.0.1:PORT/TOKEN``).
SAMPLER_ENV = "RELEASEGATE_RUNTIME_SAMPLER"
#: How long the child waits for one sample of every metric.
REMOTE_TIMEOUT = 120.0


class RemoteSampler:
    """The child's side: a sample of every metric from the runner's endpoint."""

    def __init__(self, url: str, names: Sequence[str]) -> None:
        self.url = url
        self.names = list(names)
        self.sent: dict[str, Any] = {}

    def sample(self) -> dict[str, Sample]:
        request = urllib.request.Request(f"{self.url}/sample", data=b"{}", method="POST")
        try:
            with urllib.request.urlopen(request, timeout=REMOTE_TIMEOUT) as answer:
                data = json.loads(answer.read())
            samples = {k: Sample.from_json(v) for k, v in data["samples"].items()}
            self.sent = dict(data.get("sent") or {})
        except (OSError, ValueError, KeyError, TypeError, urllib.error.URLError) as exc:
            now = time.time()
            why = f"the job runner's metric sampler did not answer: {type(exc).__name__}"
            return {n: Sample(now, None, "failed", why) for n in self.names}
        return {n: samples[n] for n in self.names if n in samples}

    def as_sent(self, name: str) -> Any:
        return self.sent.get(name)
