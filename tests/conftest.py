"""Shared fixtures: hermetic AWS settings for every test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

AWS_FAKE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


@pytest.fixture(autouse=True)
def _hermetic_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never reach AWS: fake credentials, no instance metadata, no user config."""
    for key, value in AWS_FAKE_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    for var in (
        "AWS_PROFILE",
        "RELEASEGATE_PROFILE",
        "RELEASEGATE_CODEPIPELINE_JOB_ID",
        "RELEASEGATE_BASE_URL",
    ):
        monkeypatch.delenv(var, raising=False)


# -- real backends for runtime metrics (started once per session, only when used) --


@pytest.fixture(scope="session")
def instrumented_service() -> Iterator[Any]:
    """A service instrumented with prometheus-client (see tests/runtime_support.py)."""
    from tests.runtime_support import InstrumentedService

    service = InstrumentedService()
    try:
        yield service
    finally:
        service.close()


@pytest.fixture(scope="session")
def prometheus(instrumented_service: Any) -> Iterator[Any]:
    """A real Prometheus (Debian's package) scraping ``instrumented_service`` every second.

    Fails, never skips, when the binary is missing: CI installs it.
    """
    from tests.runtime_support import PrometheusServer

    try:
        server = PrometheusServer(instrumented_service.port)
    except RuntimeError as exc:
        pytest.fail(str(exc))
    try:
        server.wait_until_up()
        yield server
    finally:
        server.stop()
