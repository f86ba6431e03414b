"""Sparklines and the change since the previous run, as Markdown shows them."""

from __future__ import annotations

import pytest

from pytest_releasegate.trends import change, sparkline


def test_sparkline_scales_between_lowest_and_highest() -> None:
    assert sparkline([0, 1, 2, 3, 4, 5, 6, 7]) == "▁▂▃▄▅▆▇█"
    assert sparkline([5, 5, 5]) == "▄▄▄"
    assert sparkline([1, None, 3]) == "▁ █"
    assert sparkline([]) == ""


@pytest.mark.parametrize(
    ("now", "before", "unit", "precision", "shown"),
    [
        (3, 1, "tests", None, "+2 tests"),
        (1, 3, "tests", None, "-2 tests"),
        (2, 2, "tests", None, "±0"),
        (86.25, 85.75, "%", 2, "+0.50 %"),
        (85.001, 85.0, "%", 2, "±0"),  # below the metric's precision: no change shown
        (0.25, 0.5, "s", None, "-0.25 s"),
        (7, 4, "", None, "+3"),
        (7, None, "", None, "–"),
    ],
)
def test_change_is_signed_absolute_and_in_the_metrics_unit(
    now: float, before: float | None, unit: str, precision: int | None, shown: str
) -> None:
    assert change(now, before, unit, precision) == shown
