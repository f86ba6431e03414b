"""pytest fixtures for testing CodePipeline job workers against the local emulator.

Registered through the ``pytest11`` entry point, so importing this module must
stay cheap: the emulator, boto3 and moto are imported only when a fixture runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .emulator import CodePipelineEmulator


@pytest.fixture
def codepipeline_emulator() -> Iterator[CodePipelineEmulator]:
    """A fresh CodePipeline job-API emulator on 127.0.0.1, a free port, for one test.

    Point boto3 at ``codepipeline_emulator.endpoint_url`` (or use
    ``codepipeline_emulator.client()``); set up jobs and read results with its
    control methods (``register_action_type``, ``enqueue_job``, ``results``,
    ``throttle``, ``lose_responses``, ...).
    """
    from .emulator import CodePipelineEmulator

    with CodePipelineEmulator() as emulator:
        yield emulator


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """The endpoint URL of a moto server (S3, CloudWatch, ...) on 127.0.0.1, for the session.

    Skips the test when ``moto[server]`` is not installed. Use it as the
    ``endpoint_url`` of S3 clients (and of the artifacts you enqueue); any
    credentials work.
    """
    server_module = pytest.importorskip("moto.server", reason="needs moto[server]")
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()
