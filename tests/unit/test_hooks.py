"""The gate's hooks go through pluggy, one implementation at a time."""

from __future__ import annotations

from typing import Any

import pluggy
import pytest

from pytest_releasegate import hookimpl
from pytest_releasegate.engine import Gate
from pytest_releasegate.manager import get_plugin_manager
from pytest_releasegate.policy import parse_policy

POLICY = {"rule": [{"name": "ran", "metric": "tests.total", "min": 0}]}


class Broken:
    @hookimpl
    def releasegate_context(self, gate: Gate) -> dict[str, Any]:
        raise RuntimeError("broken plugin")


class Fine:
    @hookimpl
    def releasegate_context(self, gate: Gate) -> dict[str, Any]:
        return {"fine": "yes"}


class Wrapping:
    @hookimpl(wrapper=True)
    def releasegate_publish(self, gate: Gate, verdict: Any) -> Any:
        return (yield)


def test_one_broken_plugin_hides_nothing_and_every_call_is_traced() -> None:
    pm = get_plugin_manager(entry_points=False)
    pm.register(Broken(), "broken")
    pm.register(Fine(), "fine")
    seen: list[str] = []
    undo = pm.add_hookcall_monitoring(
        lambda name, impls, kwargs: seen.extend(f"{name}:{i.plugin_name}" for i in impls),
        lambda outcome, name, impls, kwargs: None,
    )
    try:
        gate = Gate(parse_policy(POLICY), pm=pm)
        verdict = gate.run()
    finally:
        undo()
    assert verdict.context["fine"] == "yes"
    assert any("'broken' failed in releasegate_context" in w for w in verdict.warnings)
    assert {"releasegate_context:broken", "releasegate_context:fine"} <= set(seen)


def test_a_wrapper_of_an_isolated_hook_is_refused_when_registered() -> None:
    pm = get_plugin_manager(entry_points=False)
    with pytest.raises(
        pluggy.PluginValidationError, match="releasegate_publish cannot be a wrapper"
    ):
        pm.register(Wrapping(), "wrapping")
    assert pm.get_plugin("wrapping") is None
