"""The plugin manager: hookspecs, built-in sources and sinks, and entry-point plugins."""

from __future__ import annotations

import importlib

import pluggy

from . import hookspecs

#: Built-in plugins, registered in this order (sources first, then sinks).
BUILTINS = (
    "pytest_releasegate.sources.tests",
    "pytest_releasegate.sources.coverage",
    "pytest_releasegate.sources.junit",
    "pytest_releasegate.sources.smoke",
    "pytest_releasegate.sources.alarms",
    "pytest_releasegate.sources.context",
    "pytest_releasegate.sinks.files",
    "pytest_releasegate.sinks.codepipeline",
)
ENTRY_POINT_GROUP = "releasegate"


def get_plugin_manager(*, entry_points: bool = True) -> pluggy.PluginManager:
    """A fresh manager with the built-ins and every installed `releasegate` entry point.

    No module-global state: each gate gets its own manager.
    """
    pm = pluggy.PluginManager("releasegate")
    pm.add_hookspecs(hookspecs)
    for name in BUILTINS:
        module = importlib.import_module(name)
        if any(n.startswith("releasegate_") for n in vars(module)):
            pm.register(module, name=name.rsplit(".", 1)[-1])
    if entry_points:
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    return pm


def known_metrics(pm: pluggy.PluginManager) -> dict[str, str]:
    """Every metric any registered plugin provides: name → description."""
    out: dict[str, str] = {}
    for infos in pm.hook.releasegate_add_metrics():
        for info in infos or ():
            out[info.name] = info.description
    return out
