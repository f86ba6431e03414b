"""The plugin manager: hookspecs, built-in sources and sinks, and entry-point plugins."""

from __future__ import annotations

import importlib
from typing import Any

import pluggy

from . import hookspecs

#: Built-ins every gate registers up front: light modules.
CORE = (
    "pytest_releasegate.sources.tests",
    "pytest_releasegate.sources.context",
    "pytest_releasegate.sinks.files",
    "pytest_releasegate.sinks.codepipeline",
    "pytest_releasegate.sinks.envfile",
)
#: Built-in sources registered only when a run needs them (see `Gate.load_sources`):
#: importing them costs start-up time that most runs never use.
LAZY = (
    "pytest_releasegate.sources.coverage",
    "pytest_releasegate.sources.junit",
    "pytest_releasegate.sources.reports",
    "pytest_releasegate.sources.smoke",
    "pytest_releasegate.sources.alarms",
    "pytest_releasegate.sources.runtime",
)
BUILTINS = CORE + LAZY
ENTRY_POINT_GROUP = "releasegate"
#: Hooks whose implementations the gate calls one at a time (`Gate.call_each`), so that
#: one failing plugin can neither hide the others' data nor stop the other sinks.
ISOLATED_HOOKS = frozenset(
    {"releasegate_collect", "releasegate_metrics", "releasegate_context", "releasegate_publish"}
)


class PluginManager(pluggy.PluginManager):
    """pluggy's manager, refusing what the gate cannot honour.

    A wrapper (``wrapper=True`` / ``hookwrapper=True``) of an isolated hook
    would wrap each implementation on its own rather than the whole call, so
    registering one is a PluginValidationError naming the plugin and the hook.
    """

    def register(self, plugin: Any, name: str | None = None) -> str | None:
        registered = super().register(plugin, name)
        for caller in self.get_hookcallers(plugin) or ():
            if caller.name not in ISOLATED_HOOKS:
                continue
            for impl in caller.get_hookimpls():
                if impl.plugin is plugin and (impl.hookwrapper or impl.wrapper):
                    self.unregister(plugin)
                    raise pluggy.PluginValidationError(
                        plugin,
                        f"plugin {impl.plugin_name!r}: {caller.name} cannot be a wrapper: "
                        "the gate calls each implementation on its own, so that one failing "
                        "plugin cannot hide the others; implement it as a plain hook",
                    )
        return registered


def get_plugin_manager(*, entry_points: bool = True) -> pluggy.PluginManager:
    """A fresh manager with the built-ins and every installed `releasegate` entry point.

    No module-global state: each gate gets its own manager.
    """
    pm = PluginManager("releasegate")
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
