"""A third-party plugin (examples/custom-plugin, installed) adds a metric a rule can use."""

from __future__ import annotations

import pytest

from tests.helpers import read_verdict, rule, write_policy


def test_example_plugin_metric_gates_a_run(pytester: pytest.Pytester) -> None:
    from importlib.metadata import entry_points

    names = {ep.name for ep in entry_points(group="releasegate")}
    assert "todo" in names, (
        "install it: pip install ./examples/custom-plugin (the README's test command does)"
    )

    write_policy(
        pytester,
        '[[tool.releasegate.rule]]\nname = "no TODOs in app"\nmetric = "todo.count"\n'
        'select = { path = "app/**" }\nmax = 0\n',
    )
    pytester.mkpydir("app")
    pytester.path.joinpath("app", "pay.py").write_text(
        "x = 1  # TODO: handle refunds\n# FIXME rounding\n"
    )
    pytester.path.joinpath("scripts.py").write_text("# TODO outside the selection\n")
    pytester.makepyfile(test_a="def test_ok(): pass")
    result = pytester.runpytest("--gate", "--gate-json", "v.json")
    assert result.ret == 1
    verdict = read_verdict(pytester.path / "v.json")
    r = rule(verdict, "no TODOs in app")
    assert r["actual"] == 2 and r["outcome"] == "fail" and "app/pay.py" in r["message"]
    assert verdict["metrics"]["todo.count"] == 3
