"""Smoke tests for the example service, through the gate's `gate_http` fixture."""

import pytest


@pytest.mark.smoke
def test_health(gate_http):
    assert gate_http.get("/health").json() == {"status": "ok"}


@pytest.mark.smoke
def test_items_need_a_token(gate_http):
    assert gate_http.get("/api/items").status_code == 401
