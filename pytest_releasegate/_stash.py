"""Stash keys shared by the pytest adapter and fixtures (kept import-light)."""

from __future__ import annotations

from typing import Any

import pytest

#: Per-test data a fixture wants on the controller, e.g. ``{"smoke": [sample, ...]}``.
#: The plugin copies it onto the test's reports (so it crosses xdist) and the
#: controller appends every list to ``gate.data["extras:<key>"]``.
REPORT_EXTRAS_KEY = pytest.StashKey[dict[str, list[Any]]]()
