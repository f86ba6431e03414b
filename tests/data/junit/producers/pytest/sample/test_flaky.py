import pytest

attempts = {"flaky": 0}


@pytest.mark.flaky(reruns=2)
def test_passes_on_rerun():
    attempts["flaky"] += 1
    assert attempts["flaky"] > 1


@pytest.mark.flaky(reruns=1)
def test_always_fails():
    raise AssertionError("still broken")
