"""pytest-releasegate: one release verdict from tests, coverage, smoke checks and alarms.

Public API: the data model, the gate engine and the plugin hook marker.
"""

from __future__ import annotations

__version__ = "0.1.0.dev0"

import pluggy

#: Marker for plugin hook implementations (see :mod:`pytest_releasegate.hookspecs`).
hookimpl = pluggy.HookimplMarker("releasegate")

__all__ = [
    "ExitCode",
    "Gate",
    "GateOptions",
    "Measurement",
    "MetricInfo",
    "Outcome",
    "Policy",
    "PolicyError",
    "Rule",
    "TestRecord",
    "Verdict",
    "__version__",
    "hookimpl",
    "load_policy",
]


_MODEL_NAMES = ("ExitCode", "Measurement", "MetricInfo", "Outcome", "Rule", "TestRecord", "Verdict")


def __getattr__(name: str) -> object:
    # Lazy: `import pytest_releasegate` (pytest does it for every run through the
    # entry point) must stay cheap when the gate is not asked for.
    if name in ("Gate", "GateOptions"):
        from . import engine

        return getattr(engine, name)
    if name in ("Policy", "PolicyError", "load_policy"):
        from . import policy

        return getattr(policy, name)
    if name in (
        "ExitCode",
        "Measurement",
        "MetricInfo",
        "Outcome",
        "Rule",
        "TestRecord",
        "Verdict",
    ):
        from . import model

        return getattr(model, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
