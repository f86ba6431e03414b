"""Test tools for CodePipeline integrations: the job-API emulator and its fixtures.

An opt-in pytest plugin: the ``pytest11`` entry point does not load it, so a
user's session gets no emulator or moto fixture unless it asks. Enable it with
``-p pytest_releasegate.testing`` (command line or ``addopts``) or
``pytest_plugins = ["pytest_releasegate.testing"]`` in a top-level
``conftest.py``. Then ``codepipeline_emulator`` (a fresh emulator per test)
and ``moto_server`` (an S3/CloudWatch endpoint per session) are available.
Importing this module is cheap: the emulator, boto3 and moto load only when a
fixture runs. ``releasegate emulator`` runs the same emulator as a process.
"""

from __future__ import annotations

from .fixtures import codepipeline_emulator, moto_server

__all__ = ["codepipeline_emulator", "moto_server"]
