"""The policy's non-rule sections as typed values: smoke checks, the bake, the alarms,
the mapping of other tools' coverage reports.

:mod:`.policy` validates a ``[[smoke]]``, ``[bake]``, ``[alarms]`` or ``[coverage]`` table
and builds one of these; the sources read the fields, never the raw tables.
Each default is written once, here (``*_DEFAULTS``), and both the validator
and the dataclasses use it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: ``[[smoke]]`` keys with a default (the others are required or default to absent).
SMOKE_DEFAULTS: Mapping[str, Any] = {
    "method": "GET",
    "expect-status": "2xx",
    "timeout": 5.0,  # seconds per request
    "retries": 0,
    "backoff": 0.2,  # seconds before the first retry, doubled each time
    "verify": True,
}
#: ``[bake]`` keys with a default (``duration`` is required).
BAKE_DEFAULTS: Mapping[str, Any] = {
    "interval": 30.0,  # seconds between rounds
    "max-error-rate": 0.0,  # percent of requests
    "consecutive-failure-limit": 0,  # 0: no limit
    "consecutive-success-limit": 0,  # 0: never stop early
}
_EPS = 1e-9


@dataclass(frozen=True)
class SmokeCheck:
    """One ``[[smoke]]`` check as declared (URL and values not yet templated)."""

    name: str
    url: str
    method: str = SMOKE_DEFAULTS["method"]
    headers: Mapping[str, str] = field(default_factory=dict)
    body: str | None = None
    json: Any = None
    #: a code, a class such as "2xx", or a list of either
    expect_status: Any = SMOKE_DEFAULTS["expect-status"]
    expect_json: Any = None
    expect_body: str | None = None
    expect_body_regex: str | None = None
    timeout: float = SMOKE_DEFAULTS["timeout"]
    retries: int = SMOKE_DEFAULTS["retries"]
    backoff: float = SMOKE_DEFAULTS["backoff"]
    verify: bool | str = SMOKE_DEFAULTS["verify"]

    @classmethod
    def from_table(cls, table: Mapping[str, Any]) -> SmokeCheck:
        """From a validated ``[[smoke]]`` table (keys as in the policy: ``expect-status``)."""
        return cls(
            name=str(table["name"]),
            url=str(table["url"]),
            method=str(table.get("method", SMOKE_DEFAULTS["method"])).upper(),
            headers={str(k): str(v) for k, v in (table.get("headers") or {}).items()},
            body=table.get("body"),
            json=table.get("json"),
            expect_status=table.get("expect-status", SMOKE_DEFAULTS["expect-status"]),
            expect_json=table.get("expect-json"),
            expect_body=table.get("expect-body"),
            expect_body_regex=table.get("expect-body-regex"),
            timeout=float(table.get("timeout", SMOKE_DEFAULTS["timeout"])),
            retries=int(table.get("retries", SMOKE_DEFAULTS["retries"])),
            backoff=float(table.get("backoff", SMOKE_DEFAULTS["backoff"])),
            verify=table.get("verify", SMOKE_DEFAULTS["verify"]),
        )


@dataclass(frozen=True)
class BakeConfig:
    """A ``[bake]`` block: the smoke checks repeated every ``interval`` seconds for
    ``duration`` seconds. The default (duration 0) is a single pass, no bake."""

    duration: float = 0.0
    interval: float = BAKE_DEFAULTS["interval"]
    max_error_rate: float = BAKE_DEFAULTS["max-error-rate"]
    consecutive_failure_limit: int = BAKE_DEFAULTS["consecutive-failure-limit"]
    consecutive_success_limit: int = BAKE_DEFAULTS["consecutive-success-limit"]
    #: The profiles whose runs bake (None: every profile).
    profiles: tuple[str, ...] | None = None

    @property
    def rounds(self) -> int:
        """Rounds planned: ``ceil(duration / interval)``, at least 1."""
        if self.interval <= 0:
            return 1
        # The epsilon keeps 0.5 / 0.05 (10.000000000000002) at 10 rounds.
        return max(1, math.ceil(self.duration / self.interval - _EPS))

    @property
    def is_bake(self) -> bool:
        return self.rounds > 1


@dataclass(frozen=True)
class AlarmsConfig:
    """An ``[alarms]`` table: the CloudWatch alarms to watch, by name and/or prefix."""

    names: tuple[str, ...] = ()
    prefix: str | None = None
    #: The CloudWatch region (None: the standard AWS configuration chain's).
    region: str | None = None


#: Where JaCoCo's ``package/File.java`` names are looked for without ``source-roots``.
DEFAULT_SOURCE_ROOTS = ("src/main/java", "src/main/kotlin", "src")


@dataclass(frozen=True)
class CoverageConfig:
    """A ``[coverage]`` table: how file names in other tools' reports map to project paths."""

    #: Project folder → the prefixes reports use for it (like coverage.py's ``[paths]``).
    paths: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: Folders JaCoCo's package paths are under (``"."``: the project root).
    source_roots: tuple[str, ...] = DEFAULT_SOURCE_ROOTS
