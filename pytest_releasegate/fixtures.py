"""Fixtures the pytest adapter provides; import-light (requests loads on first use).

``gate_http``: a :class:`requests.Session` bound to the gate's base URL, for
tests marked ``@pytest.mark.smoke``. The base URL is ``--gate-base-url``,
else the environment variable ``RELEASEGATE_BASE_URL``; with neither the test
is skipped. Every request's latency and status is recorded into the
``smoke.*`` metrics, under xdist too: the samples ride on the test's report
(``REPORT_EXTRAS_KEY``, key ``"smoke"``) to the controller. The fixture works
whether or not the gate is on; without it the samples go nowhere.

Defaults: 10 s timeout per request, 2 retries (idempotent methods; connection
errors, timeouts, 502/503/504) with a 0.2 s backoff doubling each time. A
test may change ``gate_http.timeout``, ``.retries``, ``.backoff`` and
``.retry_statuses``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from ._stash import REPORT_EXTRAS_KEY

if TYPE_CHECKING:
    from .sources.http_checks import GateSession

BASE_URL_ENV = "RELEASEGATE_BASE_URL"


def base_url(config: pytest.Config) -> str | None:
    """``--gate-base-url`` (option dest ``gate_base_url``), else ``$RELEASEGATE_BASE_URL``."""
    value = config.getoption("gate_base_url", None) or os.environ.get(BASE_URL_ENV)
    return str(value) if value else None


@pytest.fixture
def gate_http(request: pytest.FixtureRequest) -> Iterator[GateSession]:
    """A requests.Session bound to the gate's base URL that records every request."""
    url = base_url(request.config)
    if not url:
        pytest.skip(f"no base URL for smoke tests: pass --gate-base-url or set {BASE_URL_ENV}")
    from .sources.http_checks import GateSession

    samples = request.node.stash.setdefault(REPORT_EXTRAS_KEY, {}).setdefault("smoke", [])
    with GateSession(url, samples.append, nodeid=request.node.nodeid) as session:
        yield session
