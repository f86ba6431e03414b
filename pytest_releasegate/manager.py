"""The plugin manager: hookspecs, built-in sources and sinks, and entry-point plugins."""

from __future__ import annotations

import importlib

import pluggy

from . import hookspecs

#: Built-ins every gate registers up front: light modules.
CORE = (
    "pytest_releasegate.sources.tests",
    "pytest_releasegate.sources.context",
    "pytest_releasegate.sinks.files",
    "pytest_releasegate.sinks.codepipeline",
)
#: Built-in sources registered only when a run needs them (see `Gate.load_sources`):
#: importing them costs start-up time that most runs never use.
LAZY = (
    "pytest_releasegate.sources.coverage",
    "pytest_releasegate.sources.junit",
    "pytest_releasegate.sources.reports",
    "pytest_releasegate.sources.smoke",
    "pytest_releasegate.sources.alarms",
)
BUILTINS = CORE + LAZY
ENTRY_POINT_GROUP = "releasegate"


def get_plugin_manager(*, entry_points: bool = True) -> pluggy.PluginManager:
    """A fresh manager with the built-ins and every installed `releasegate` entry point.

    No module-global state: each gate gets its own manager.
    """
    pm = pluggy.PluginManager("releasegate")
    pm.add_hookspecs(hookspecs)
    for name in CORE:
        register_builtin(pm, name)
    if entry_points:
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    return pm


def register_builtin(pm: pluggy.PluginManager, module_name: str) -> None:
    """Import and register one built-in plugin module (once)."""
    short = module_name.rsplit(".", 1)[-1]
    if pm.get_plugin(short) is None:
        pm.register(importlib.import_module(module_name), name=short)


def known_metrics(pm: pluggy.PluginManager) -> dict[str, str]:
    """Every metric: the built-in catalogue and what registered plugins provide."""
    from .catalogue import BUILTIN

    out: dict[str, str] = {info.name: info.description for info in BUILTIN}
    for infos in pm.hook.releasegate_add_metrics():
        for info in infos or ():
            out[info.name] = info.description
    return out
