"""Policy loading and validation: TOML in, a validated :class:`Policy` out.

Every mistake becomes one line naming the file, the rule and the key, with
the closest valid spelling where there is one. All mistakes of a file are
reported together (:class:`PolicyError` carries them), before any test runs.
"""

from __future__ import annotations

import datetime as _dt
import difflib
import os
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .bounds import MAX_DEPTH, finite, has_control, read_regular_text, too_deep
from .model import SELECT_KEYS, Level, OnMissing, Quarantine, Relative, Rule, Selection, Waiver
from .runtime_policy import RuntimeMetric, parse_runtime_metrics
from .sections import (
    BAKE_DEFAULTS,
    SMOKE_DEFAULTS,
    AlarmsConfig,
    BakeConfig,
    CoverageConfig,
    SmokeCheck,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

TOP_KEYS = (
    "default-profile",
    "baseline",
    "warn-as",
    "rule",
    "quarantine",
    "profiles",
    "smoke",
    "bake",
    "alarms",
    "smoke-marker",
    "metric",
    "history",
    "history-keep",
    "coverage",
)
RULE_KEYS = (
    "name",
    "metric",
    "select",
    "min",
    "max",
    "warn-below",
    "warn-above",
    "max-drop",
    "max-rise",
    "level",
    "on-missing",
    "profiles",
    "waiver",
    "base",
)
WAIVER_KEYS = ("reason", "expires")
QUARANTINE_KEYS = ("nodeid", "reason", "expires")
PROFILE_KEYS = ("rules", "description")
SMOKE_KEYS = (
    "name",
    "url",
    "method",
    "headers",
    "body",
    "json",
    "expect-status",
    "expect-json",
    "expect-body",
    "expect-body-regex",
    "timeout",
    "retries",
    "backoff",
    "verify",
)
BAKE_KEYS = (
    "duration",
    "interval",
    "max-error-rate",
    "consecutive-failure-limit",
    "consecutive-success-limit",
    "profiles",
)
ALARMS_KEYS = ("names", "prefix", "region")
COVERAGE_KEYS = ("paths", "source-roots")
DIFF_METRICS = ("coverage.diff_percent", "coverage.diff_uncovered_lines")
DEFAULT_PROFILE = "default"
BAKE_RULE = "bake"
BAKE_METRIC = "smoke.bake_violations"
BUILTIN_SOURCE = "built-in default policy"


_TOO_DEEP: Any = object()


class PolicyError(Exception):
    """A bad policy: one or more problems, each a complete one-line message."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class Policy:
    """A validated release policy."""

    rules: tuple[Rule, ...]
    source: str = BUILTIN_SOURCE  # file name relative to the project root
    profiles: Mapping[str, tuple[str, ...] | None] = field(default_factory=dict)
    default_profile: str | None = None
    baseline: str | None = None
    warn_as: str = "success"
    quarantine: tuple[Quarantine, ...] = ()
    smoke: tuple[SmokeCheck, ...] = ()
    bake: BakeConfig | None = None
    alarms: AlarmsConfig | None = None
    #: The marker of smoke tests (`smoke-marker`); renamable where `smoke` means something else.
    smoke_marker: str = "smoke"
    runtime_metrics: tuple[RuntimeMetric, ...] = ()  # [[metric]]: CloudWatch, Prometheus
    history: str | None = None  # a path (relative to the project root) or s3://bucket/key
    history_keep: int = 500  # runs kept in the history
    #: `[coverage]`: `paths` remaps and `source-roots` for other tools' reports (SPEC §9).
    coverage: CoverageConfig | None = None

    @property
    def display_source(self) -> str:
        return self.source

    @property
    def known_profiles(self) -> list[str]:
        return sorted({DEFAULT_PROFILE, *self.profiles})

    def resolve_profile(self, name: str | None) -> str:
        """The profile to run: `name`, else `default-profile`, else `default`.

        Raises PolicyError for an unknown profile or one without rules.
        """
        chosen = name or self.default_profile or DEFAULT_PROFILE
        if chosen not in self.known_profiles:
            raise PolicyError(
                [
                    _msg(
                        self.source,
                        None,
                        "profile",
                        f"unknown profile {chosen!r}",
                        _suggest(chosen, self.known_profiles),
                        f"known profiles: {', '.join(self.known_profiles)}",
                    )
                ]
            )
        if not self.rules_for(chosen):
            raise PolicyError(
                [
                    _msg(
                        self.source,
                        None,
                        f"profiles.{chosen}",
                        f"profile {chosen!r} has no rules, so it could never block a release",
                        None,
                        "add rules to it or choose another profile",
                    )
                ]
            )
        return chosen

    def rules_for(self, profile: str) -> tuple[Rule, ...]:
        """Rules of `profile`: those not restricted to other profiles, narrowed by its `rules`."""
        rules = [r for r in self.rules if r.profiles is None or profile in r.profiles]
        only = self.profiles.get(profile)
        if only is not None:
            wanted = set(only)
            rules = [r for r in rules if r.name in wanted]
        return tuple(rules)

    def warnings_for(self, profile: str) -> list[str]:
        rules = self.rules_for(profile)
        if rules and all(r.level is not Level.FAIL for r in rules):
            return [
                f"every rule of profile {profile!r} is warn or info: "
                "this policy cannot block a release"
            ]
        return []


# -- discovery ---------------------------------------------------------------


def find_policy_file(rootdir: Path, explicit: str | None = None) -> Path | None:
    """`explicit`, else `releasegate.toml`, else a pyproject.toml with `[tool.releasegate]`."""
    if explicit:
        path = Path(explicit)
        return path if path.is_absolute() else (rootdir / path)
    candidate = rootdir / "releasegate.toml"
    if candidate.exists():  # a directory or FIFO is reported by load_policy
        return candidate
    pyproject = rootdir / "pyproject.toml"
    if pyproject.exists():
        try:
            data = tomllib.loads(read_regular_text(pyproject))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError):
            return pyproject  # let load_policy report it properly
        if isinstance(data.get("tool"), dict) and "releasegate" in data["tool"]:
            return pyproject
    return None


def policy_baseline_hint(rootdir: Path, explicit: str | None) -> tuple[str | None, str | None]:
    """For a policy that failed to load: (its ``baseline`` value, None) when the file is
    TOML, else (None, the file's text); (None, None) without a readable policy file."""
    file = find_policy_file(rootdir, explicit)
    if file is None:
        return None, None
    try:
        text = read_regular_text(file)  # never waits on a FIFO
    except (OSError, UnicodeDecodeError):
        return None, None
    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError):
        return None, text
    table: Any = data
    if file.name == "pyproject.toml":
        tool = data.get("tool")
        table = tool.get("releasegate") if isinstance(tool, dict) else None
    baseline = table.get("baseline") if isinstance(table, dict) else None
    return (baseline if isinstance(baseline, str) and baseline else None), None


def load_policy(
    path: str | Path | None = None,
    *,
    rootdir: str | Path | None = None,
    metrics: Iterable[str] | None = None,
) -> Policy:
    """Find, read and validate the policy.

    `path` is an explicit policy file (a standalone TOML, or a pyproject.toml);
    without one the project root is searched (see :func:`find_policy_file`),
    and with nothing found the built-in default policy applies. `metrics` is
    the set of known metric names (from the plugin manager); None skips the
    metric check.
    """
    root = Path(rootdir) if rootdir is not None else Path.cwd()
    file = find_policy_file(root, str(path) if path is not None else None)
    if file is None:
        return default_policy()
    display = _display(file, root)
    try:
        text = read_regular_text(file)  # a FIFO or a directory is refused, never waited on
    except FileNotFoundError:
        raise PolicyError(
            [f"{display}: policy file not found (check --gate-policy / releasegate_policy)"]
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError([f"{display}: cannot read the policy file: {exc}"]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError([f"{display}: not valid TOML: {exc}"]) from None
    except RecursionError:
        data = _TOO_DEEP
    if data is _TOO_DEEP or too_deep(data):
        raise PolicyError(
            [f"{display}: the policy nests tables or arrays more than {MAX_DEPTH} levels deep"]
        )
    if file.name == "pyproject.toml":
        tool = data.get("tool")
        if not isinstance(tool, dict) or "releasegate" not in tool:
            raise PolicyError(
                [
                    f"{display}: no [tool.releasegate] table "
                    "(add one, or point --gate-policy elsewhere)"
                ]
            )
        table = tool["releasegate"]
        prefix = "tool.releasegate."
    else:
        table = data
        prefix = ""
    return parse_policy(table, source=display, metrics=metrics, prefix=prefix)


def default_policy() -> Policy:
    """What `--gate` checks when a project has no policy: every test passed, and some ran."""
    return Policy(
        rules=(
            Rule(name="no failing tests", metric="tests.failed", max=0),
            Rule(name="no test errors", metric="tests.errors", max=0),
            Rule(name="tests ran", metric="tests.total", min=1),
        ),
    )


# -- validation --------------------------------------------------------------


class _Checker:
    def __init__(self, source: str, metrics: Iterable[str] | None, prefix: str) -> None:
        self.source = source
        self.metrics = sorted(set(metrics)) if metrics is not None else None
        self.prefix = prefix
        self.problems: list[str] = []

    def err(
        self,
        section: str | None,
        key: str | None,
        problem: str,
        suggestion: str | None = None,
        fix: str | None = None,
    ) -> None:
        self.problems.append(_msg(self.source, section, key, problem, suggestion, fix))

    def keys(
        self, table: Mapping[str, Any], allowed: tuple[str, ...], section: str | None, where: str
    ) -> None:
        for key in table:
            if key not in allowed:
                close = _suggest(key, allowed)
                fix = None if close else f"valid keys: {', '.join(allowed)}"
                self.err(section, f"{where}{key}", f"unknown key {key!r}", close, fix)


def parse_policy(
    table: Any,
    *,
    source: str = "<policy>",
    metrics: Iterable[str] | None = None,
    prefix: str = "",
) -> Policy:
    """Validate a policy table (the contents of `[tool.releasegate]`)."""
    ck = _Checker(source, metrics, prefix)
    if not isinstance(table, dict):
        raise PolicyError([_msg(source, None, None, "the policy must be a table", None, None)])
    ck.keys(table, TOP_KEYS, None, prefix)

    raw_rules = table.get("rule", [])
    if not isinstance(raw_rules, list) or not all(isinstance(r, dict) for r in raw_rules):
        ck.err(None, f"{prefix}rule", "must be an array of tables ([[...rule]])")
        raw_rules = []

    profile_tables = table.get("profiles", {})
    if not isinstance(profile_tables, dict):
        ck.err(None, f"{prefix}profiles", "must be a table of profile tables")
        profile_tables = {}
    known_profiles = sorted({DEFAULT_PROFILE, *profile_tables})

    # Runtime metrics first: the names they declare are metrics the rules may use.
    runtime_metrics = parse_runtime_metrics(
        ck,
        table.get("metric"),
        prefix,
        ck.metrics or (),
        suggest=_suggest,
        duration=parse_duration,
    )
    runtime_names = _declared_names(table.get("metric"))
    if ck.metrics is not None:
        ck.metrics = sorted({*ck.metrics, *runtime_names})

    rules: list[Rule] = []
    seen: dict[str, int] = {}
    for index, raw in enumerate(raw_rules, start=1):
        rule = _parse_rule(ck, raw, index, known_profiles)
        if rule is None:
            continue
        # "Coverage" and "coverage " read as the same rule to a person.
        key = _name_key(rule.name)
        if key in seen:
            ck.err(
                _rule_label(rule.name),
                "name",
                f"duplicate rule name (rules #{seen[key]} and #{index})",
                None,
                "give each rule a unique `name` (case and surrounding spaces do not count)",
            )
            continue
        seen[key] = index
        rules.append(rule)
        if rule.metric in runtime_names and not rule.select.is_empty:
            ck.err(
                _rule_label(rule.name),
                "select",
                f"{rule.metric!r} is a runtime metric: it has no tests or files to select",
                None,
                "remove `select`",
            )

    bake = _parse_bake(ck, table.get("bake"), prefix, known_profiles)
    if bake is not None:
        if BAKE_RULE in seen:
            ck.err(
                _rule_label(BAKE_RULE),
                "name",
                "the name 'bake' is reserved for the rule a [bake] block adds",
            )
        if not table.get("smoke") and not runtime_metrics:
            ck.err(
                "bake",
                "duration",
                "a [bake] block repeats the smoke checks and samples runtime metrics, "
                "but none are declared",
                None,
                f"add [[{prefix}smoke]] checks or [[{prefix}metric]] definitions, "
                f"or remove [{prefix}bake]",
            )
        rules.append(Rule(name=BAKE_RULE, metric=BAKE_METRIC, max=0, profiles=bake.profiles))

    profiles: dict[str, tuple[str, ...] | None] = {}
    for pname, ptable in profile_tables.items():
        where = f"{prefix}profiles.{pname}."
        if has_control(pname):
            ck.err(None, f"{prefix}profiles.{pname!r}", _CONTROL_PROBLEM)
            continue
        if not isinstance(ptable, dict):
            ck.err(None, where.rstrip("."), "must be a table")
            continue
        ck.keys(ptable, PROFILE_KEYS, None, where)
        names = ptable.get("rules")
        if names is None:
            profiles[pname] = None
            continue
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            ck.err(None, f"{where}rules", "must be a list of rule names")
            continue
        all_names = [r.name for r in rules]
        known_names = set(all_names)
        for n in names:
            if n not in known_names:
                ck.err(None, f"{where}rules", f"unknown rule {n!r}", _suggest(n, all_names))
        profiles[pname] = tuple(names)

    default_profile = table.get("default-profile")
    if default_profile is not None and (
        not isinstance(default_profile, str) or default_profile not in known_profiles
    ):
        ck.err(
            None,
            f"{prefix}default-profile",
            f"unknown profile {default_profile!r}",
            _suggest(str(default_profile), known_profiles),
            f"known profiles: {', '.join(known_profiles)}",
        )
        default_profile = None

    baseline = table.get("baseline")
    if baseline is not None and (not isinstance(baseline, str) or not baseline):
        ck.err(None, f"{prefix}baseline", "must be a path or s3://bucket/key string")
        baseline = None

    history, history_keep = _parse_history(ck, table, prefix)

    warn_as = table.get("warn-as", "success")
    if warn_as not in ("success", "failure"):
        ck.err(None, f"{prefix}warn-as", f"must be 'success' or 'failure', not {warn_as!r}")
        warn_as = "success"

    smoke_marker = table.get("smoke-marker", "smoke")
    if not isinstance(smoke_marker, str) or not smoke_marker.isidentifier():
        ck.err(
            None,
            f"{prefix}smoke-marker",
            f"must be a marker name (a Python identifier), not {smoke_marker!r}",
            None,
            'write e.g. smoke-marker = "deploy_smoke"',
        )
        smoke_marker = "smoke"

    quarantine = _parse_quarantine(ck, table.get("quarantine", []), prefix)
    smoke = _parse_smoke(ck, table.get("smoke", []), prefix)
    alarms = _parse_alarms(ck, table.get("alarms"), prefix)
    coverage = _parse_coverage(ck, table.get("coverage"), prefix)

    if ck.problems:
        raise PolicyError(ck.problems)
    return Policy(
        rules=tuple(rules),
        source=source,
        profiles=profiles,
        default_profile=default_profile,
        baseline=baseline,
        warn_as=warn_as,
        quarantine=quarantine,
        smoke=smoke,
        bake=bake,
        alarms=alarms,
        smoke_marker=smoke_marker,
        runtime_metrics=runtime_metrics,
        history=history,
        history_keep=history_keep,
        coverage=coverage,
    )


def _declared_names(value: Any) -> set[str]:
    """Names the ``[[metric]]`` tables declare, valid or not (so rules using them are not
    also reported as naming an unknown metric)."""
    if not isinstance(value, list):
        return set()
    return {m["name"] for m in value if isinstance(m, dict) and isinstance(m.get("name"), str)}


def _parse_history(ck: _Checker, table: Mapping[str, Any], prefix: str) -> tuple[str | None, int]:
    """`history` (a path or s3://bucket/key) and `history-keep` (runs kept, default 500)."""
    history = table.get("history")
    valid = isinstance(history, str) and bool(history.strip())
    if isinstance(history, str) and history.startswith("s3://"):
        bucket, _, key = history[len("s3://") :].partition("/")
        valid = bool(bucket and key)
    if history is not None and not valid:
        ck.err(
            None,
            f"{prefix}history",
            f"must be a path or s3://bucket/key, not {history!r}",
            None,
            'e.g. history = ".releasegate/history.jsonl"',
        )
        history = None
    keep = table.get("history-keep", 500)
    if not isinstance(keep, int) or isinstance(keep, bool) or keep < 1:
        ck.err(None, f"{prefix}history-keep", f"must be a whole number >= 1, not {keep!r}")
        keep = 500
    return history, keep


_CONTROL_PROBLEM = (
    "must not contain control characters (newline, tab, escape, line separators, bidi overrides)"
)


def _name_key(name: str) -> str:
    """Rule names compare without case and surrounding whitespace."""
    return name.strip().casefold()


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _show_number(value: float) -> str:
    if isinstance(value, int):  # 10**400: its repr would be 400 digits long
        return "a number beyond the double range"
    return repr(value)


def _parse_rule(
    ck: _Checker, raw: dict[str, Any], index: int, known_profiles: list[str]
) -> Rule | None:
    metric = raw.get("metric")
    select_raw = raw.get("select", {})
    if isinstance(raw.get("name"), str):
        label = _rule_label(raw["name"])
    else:
        label = f"rule #{index}" + (f" ({metric})" if isinstance(metric, str) else "")
    before = len(ck.problems)
    ck.keys(raw, RULE_KEYS, label, "")

    if not isinstance(metric, str) or not metric:
        ck.err(
            label,
            "metric",
            "missing or not a string",
            None,
            'name a metric, e.g. metric = "tests.failed"',
        )
        metric = ""
    elif ck.metrics is not None and metric not in ck.metrics:
        ck.err(
            label,
            "metric",
            f"unknown metric {metric!r}",
            _suggest(metric, ck.metrics),
            None
            if _suggest(metric, ck.metrics)
            else "run `releasegate check-policy --metrics` for the list",
        )

    select = Selection()
    if not isinstance(select_raw, dict):
        ck.err(label, "select", 'must be a table, e.g. select = { marker = "critical" }')
    else:
        ck.keys(select_raw, SELECT_KEYS, label, "select.")
        values: dict[str, str] = {}
        for key in SELECT_KEYS:
            if key in select_raw:
                value = select_raw[key]
                if not isinstance(value, str) or not value:
                    ck.err(label, f"select.{key}", "must be a non-empty string")
                    continue
                if has_control(value):
                    ck.err(label, f"select.{key}", _CONTROL_PROBLEM)
                    continue
                values[key] = value
        src = values.get("source")
        is_coverage = isinstance(metric, str) and metric.startswith("coverage.")
        if is_coverage and src is not None:
            if src != "coverage.py" and not re.fullmatch(r"coverage:[A-Za-z0-9_.\-]+", src):
                ck.err(
                    label,
                    "select.source",
                    f"unknown coverage source {src!r}",
                    None,
                    "use 'coverage.py' or 'coverage:NAME' (--gate-input-coverage NAME=GLOB)",
                )
        elif (
            src is not None
            and src != "pytest"
            and not re.fullmatch(r"(?:junit|tests):[A-Za-z0-9_.\-]+", src)
        ):
            ck.err(
                label,
                "select.source",
                f"unknown source {src!r}",
                None,
                "use 'pytest', 'junit:NAME' or 'tests:NAME'",
            )
        select = Selection(**values)
        if is_coverage:
            for key in values:
                if key not in ("path", "source"):
                    ck.err(
                        label,
                        f"select.{key}",
                        f"coverage metrics select source files by `path` only, not by {key!r}",
                    )

    numbers: dict[str, float | None] = {}
    for key in ("min", "max", "warn-below", "warn-above"):
        value = raw.get(key)
        if value is not None and not _is_number(value):
            ck.err(label, key, f"must be a number, not {value!r}")
            value = None
        elif value is not None and finite(value) is None:
            ck.err(label, key, f"must be a finite number, not {_show_number(value)}")
            value = None
        numbers[key] = value
    lo, hi, wb, wa = numbers["min"], numbers["max"], numbers["warn-below"], numbers["warn-above"]
    if lo is not None and hi is not None and lo > hi:
        ck.err(label, "min", f"min ({lo}) is greater than max ({hi})", None, "swap them or fix one")
    if wb is not None and lo is not None and wb < lo:
        ck.err(
            label,
            "warn-below",
            f"warn-below ({wb}) is below min ({lo})",
            None,
            "warn-below must be >= min",
        )
    if wa is not None and hi is not None and wa > hi:
        ck.err(
            label,
            "warn-above",
            f"warn-above ({wa}) is above max ({hi})",
            None,
            "warn-above must be <= max",
        )

    relatives: dict[str, Relative | None] = {}
    for key in ("max-drop", "max-rise"):
        relatives[key] = _parse_relative(ck, label, key, raw.get(key))

    bounds = ("min", "max", "warn-below", "warn-above", "max-drop", "max-rise")
    if metric and not any(k in raw for k in bounds) and all(k in RULE_KEYS for k in raw):
        ck.err(
            label,
            "min",
            "the rule has no threshold",
            None,
            "set min, max, warn-below, warn-above, max-drop or max-rise",
        )

    level = _enum(ck, label, "level", raw.get("level", "fail"), Level)
    on_missing = _enum(ck, label, "on-missing", raw.get("on-missing", "fail"), OnMissing)

    profiles: tuple[str, ...] | None = None
    if "profiles" in raw:
        value = raw["profiles"]
        if not isinstance(value, list) or not value or not all(isinstance(p, str) for p in value):
            ck.err(label, "profiles", "must be a non-empty list of profile names")
        else:
            for p in value:
                if p not in known_profiles:
                    ck.err(
                        label,
                        "profiles",
                        f"unknown profile {p!r}",
                        _suggest(p, known_profiles),
                        f"declare [{ck.prefix}profiles.{p}] or use one of: "
                        + ", ".join(known_profiles),
                    )
            profiles = tuple(value)

    waiver = None
    if "waiver" in raw:
        waiver = _parse_waiver(ck, label, raw["waiver"])

    base = raw.get("base")
    if base is not None:
        if not isinstance(base, str) or not base:
            ck.err(label, "base", "must be a git ref such as 'origin/main'")
            base = None
        elif metric and metric not in DIFF_METRICS:
            ck.err(label, "base", f"`base` only applies to {' and '.join(DIFF_METRICS)}")
    elif metric in DIFF_METRICS:
        base = None  # the source falls back to its default base ref

    name = raw.get("name")
    if name is not None and (not isinstance(name, str) or not name.strip()):
        ck.err(label, "name", "must be a non-empty string")
        name = None
    elif isinstance(name, str) and has_control(name):
        # A newline in a name would start a line of its own in the terminal table.
        ck.err(label, "name", _CONTROL_PROBLEM)
        name = None
    if name is None:
        name = metric + (f" [{select.describe()}]" if not select.is_empty else "")

    if len(ck.problems) > before:
        return None
    return Rule(
        name=name,
        metric=metric,
        select=select,
        min=lo,
        max=hi,
        warn_below=wb,
        warn_above=wa,
        max_drop=relatives["max-drop"],
        max_rise=relatives["max-rise"],
        level=level,  # type: ignore[arg-type]
        on_missing=on_missing,  # type: ignore[arg-type]
        profiles=profiles,
        waiver=waiver,
        base=base,
    )


def _parse_relative(ck: _Checker, label: str, key: str, value: Any) -> Relative | None:
    if value is None:
        return None
    if _is_number(value) and finite(value) is None:
        ck.err(label, key, f"must be a finite number, not {_show_number(value)}")
        return None
    if _is_number(value) and value >= 0:
        return Relative(float(value))
    if isinstance(value, str):
        m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*%\s*", value)
        if m and finite(float(m.group(1))) is None:
            ck.err(label, key, "must be a finite percent, not a number beyond the double range")
            return None
        if m:
            return Relative(float(m.group(1)), percent=True)
    ck.err(
        label, key, f'must be a non-negative number or a percent string like "5%", not {value!r}'
    )
    return None


def _enum(ck: _Checker, label: str, key: str, value: Any, enum_type: Any) -> Any:
    choices = [e.value for e in enum_type]
    if value in choices:
        return enum_type(value)
    ck.err(
        label,
        key,
        f"must be one of {', '.join(choices)}, not {value!r}",
        _suggest(str(value), choices),
    )
    return None


def _parse_date(value: Any) -> _dt.date | None:
    if isinstance(value, _dt.datetime):
        return value.date()
    if isinstance(value, _dt.date):
        return value
    if isinstance(value, str):
        try:
            return _dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _parse_waiver(ck: _Checker, label: str, value: Any) -> Waiver | None:
    if not isinstance(value, dict):
        ck.err(label, "waiver", 'must be a table: { reason = "...", expires = 2026-12-31 }')
        return None
    ck.keys(value, WAIVER_KEYS, label, "waiver.")
    reason = value.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        ck.err(
            label,
            "waiver.reason",
            "a waiver needs a `reason` (a ticket or why)",
            None,
            'add reason = "TICKET-1 ..."',
        )
    if "expires" not in value:
        ck.err(
            label,
            "waiver.expires",
            "a waiver needs an `expires` date",
            None,
            "add expires = 2026-12-31",
        )
        return None
    expires = _parse_date(value["expires"])
    if expires is None:
        ck.err(
            label,
            "waiver.expires",
            f"not a date: {value['expires']!r}",
            None,
            "use a TOML date such as 2026-12-31",
        )
        return None
    if not isinstance(reason, str) or not reason.strip():
        return None
    return Waiver(reason=reason.strip(), expires=expires)


def _parse_quarantine(ck: _Checker, value: Any, prefix: str) -> tuple[Quarantine, ...]:
    where = f"{prefix}quarantine"
    if not isinstance(value, list) or not all(isinstance(q, dict) for q in value):
        ck.err(None, where, "must be an array of tables ([[...quarantine]])")
        return ()
    out = []
    for index, entry in enumerate(value, start=1):
        label = f"quarantine #{index}"
        ck.keys(entry, QUARANTINE_KEYS, label, "")
        nodeid, reason = entry.get("nodeid"), entry.get("reason")
        ok = True
        if not isinstance(nodeid, str) or not nodeid:
            ck.err(label, "nodeid", "missing: the test id (glob) to quarantine")
            ok = False
        if not isinstance(reason, str) or not reason.strip():
            ck.err(label, "reason", "a quarantine entry needs a `reason`")
            ok = False
        expires = _parse_date(entry.get("expires"))
        if expires is None:
            ck.err(
                label,
                "expires",
                "a quarantine entry needs an `expires` date",
                None,
                "add expires = 2026-12-31",
            )
            ok = False
        if ok:
            out.append(Quarantine(nodeid=str(nodeid), reason=str(reason).strip(), expires=expires))  # type: ignore[arg-type]
    return tuple(out)


def parse_duration(value: Any) -> float | None:
    """Seconds from a number or a string like "10m", "30s", "1h30m", "500ms"."""
    if _is_number(value):
        number = finite(value)  # `inf` would bake forever
        return number if number is not None and number >= 0 else None
    if not isinstance(value, str):
        return None
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*(ms|h|m|s)", value.strip())
    if not parts or re.sub(r"(\d+(?:\.\d+)?)\s*(ms|h|m|s)", "", value).strip():
        return None
    scale = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    return finite(sum(float(n) * scale[u] for n, u in parts))


def _parse_smoke(ck: _Checker, value: Any, prefix: str) -> tuple[SmokeCheck, ...]:
    where = f"{prefix}smoke"
    if not isinstance(value, list) or not all(isinstance(s, dict) for s in value):
        ck.err(None, where, "must be an array of tables ([[...smoke]])")
        return ()
    out = []
    names: set[str] = set()
    for index, check in enumerate(value, start=1):
        label = (
            f"smoke {check.get('name')!r}"
            if isinstance(check.get("name"), str)
            else f"smoke #{index}"
        )
        before = len(ck.problems)
        ck.keys(check, SMOKE_KEYS, label, "")
        name = check.get("name", f"check-{index}")
        if not isinstance(name, str) or not name:
            ck.err(label, "name", "must be a non-empty string")
        elif name in names:
            ck.err(label, "name", "duplicate smoke check name")
        names.add(str(name))
        if not isinstance(check.get("url"), str) or not check.get("url"):
            ck.err(label, "url", 'missing: the URL to check, e.g. "{base_url}/health"')
        method = check.get("method", SMOKE_DEFAULTS["method"])
        if not isinstance(method, str) or method.upper() not in (
            "GET",
            "HEAD",
            "POST",
            "PUT",
            "PATCH",
            "DELETE",
            "OPTIONS",
        ):
            ck.err(label, "method", f"not an HTTP method: {method!r}")
        headers = check.get("headers", {})
        if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
            ck.err(label, "headers", "must be a table of strings")
        status = check.get("expect-status", SMOKE_DEFAULTS["expect-status"])
        if not _valid_status(status):
            ck.err(
                label,
                "expect-status",
                f'must be a code, a list of codes, or a class like "2xx", not {status!r}',
            )
        for key in ("expect-json",):
            if key in check and not isinstance(check[key], (dict, list)):
                ck.err(label, key, "must be a table (matched as a subset of the response JSON)")
        for key in ("expect-body", "expect-body-regex", "body"):
            if key in check and not isinstance(check[key], str):
                ck.err(label, key, "must be a string")
        if "expect-body-regex" in check and isinstance(check["expect-body-regex"], str):
            try:
                re.compile(check["expect-body-regex"])
            except re.error as exc:
                ck.err(label, "expect-body-regex", f"not a valid regular expression: {exc}")
        timeout = check.get("timeout", SMOKE_DEFAULTS["timeout"])
        if finite(timeout) is None or timeout <= 0:
            ck.err(label, "timeout", "must be a positive, finite number of seconds")
        retries = check.get("retries", SMOKE_DEFAULTS["retries"])
        if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
            ck.err(label, "retries", "must be a whole number >= 0")
        backoff = check.get("backoff", SMOKE_DEFAULTS["backoff"])
        if finite(backoff) is None or backoff < 0:
            ck.err(label, "backoff", "must be a finite number of seconds >= 0")
        if "verify" in check and not isinstance(check["verify"], (bool, str)):
            ck.err(label, "verify", "must be true/false or a CA bundle path")
        if len(ck.problems) == before:  # a bad check is reported, never built
            out.append(SmokeCheck.from_table(dict(check, name=name)))
    return tuple(out)


def _valid_status(status: Any) -> bool:
    if isinstance(status, int) and not isinstance(status, bool):
        return 100 <= status <= 599
    if isinstance(status, str):
        return re.fullmatch(r"[1-5]xx|[1-5]\d\d", status) is not None
    if isinstance(status, list) and status:
        return all(_valid_status(s) and not isinstance(s, list) for s in status)
    return False


def _parse_bake(
    ck: _Checker, value: Any, prefix: str, known_profiles: list[str]
) -> BakeConfig | None:
    if value is None:
        return None
    where = f"{prefix}bake."
    if not isinstance(value, dict):
        ck.err(None, where.rstrip("."), "must be a table")
        return None
    ck.keys(value, BAKE_KEYS, "bake", "")
    out: dict[str, Any] = {}
    for key, default in (("duration", None), ("interval", BAKE_DEFAULTS["interval"])):
        raw = value.get(key, default)
        if raw is None:
            ck.err("bake", key, 'missing: how long to bake, e.g. "10m"')
            continue
        seconds = parse_duration(raw)
        if seconds is None:
            ck.err(
                "bake",
                key,
                f"not a duration: {raw!r}",
                None,
                'use seconds or a string like "30s", "10m"',
            )
        else:
            out[key] = seconds
    if out.get("interval") is not None and out["interval"] <= 0:
        ck.err("bake", "interval", "must be greater than zero")
    rate = value.get("max-error-rate", BAKE_DEFAULTS["max-error-rate"])
    if not _is_number(rate) or not 0 <= rate <= 100:
        ck.err("bake", "max-error-rate", "must be a percent between 0 and 100")
    out["max-error-rate"] = rate
    for key in ("consecutive-failure-limit", "consecutive-success-limit"):
        n = value.get(key, BAKE_DEFAULTS[key])
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            ck.err("bake", key, "must be a whole number >= 0")
        out[key] = n
    if "profiles" in value:
        profiles = value["profiles"]
        if (
            not isinstance(profiles, list)
            or not profiles
            or not all(isinstance(p, str) for p in profiles)
        ):
            ck.err("bake", "profiles", "must be a non-empty list of profile names")
        else:
            for p in profiles:
                if p not in known_profiles:
                    ck.err(
                        "bake", "profiles", f"unknown profile {p!r}", _suggest(p, known_profiles)
                    )
            out["profiles"] = tuple(profiles)
    return BakeConfig(
        duration=float(out.get("duration") or 0.0),
        interval=float(out.get("interval", BAKE_DEFAULTS["interval"])),
        max_error_rate=float(rate) if _is_number(rate) else 0.0,
        consecutive_failure_limit=_whole(out["consecutive-failure-limit"]),
        consecutive_success_limit=_whole(out["consecutive-success-limit"]),
        profiles=out.get("profiles"),
    )


def _whole(value: Any) -> int:
    """An int for a value already checked (a bad one is reported, never used)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _parse_alarms(ck: _Checker, value: Any, prefix: str) -> AlarmsConfig | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        ck.err(None, f"{prefix}alarms", "must be a table")
        return None
    ck.keys(value, ALARMS_KEYS, "alarms", "")
    names = value.get("names", [])
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        ck.err("alarms", "names", "must be a list of alarm names")
        names = []
    alarm_prefix = value.get("prefix")
    if alarm_prefix is not None and (not isinstance(alarm_prefix, str) or not alarm_prefix):
        ck.err("alarms", "prefix", "must be a non-empty string")
        alarm_prefix = None
    if not names and alarm_prefix is None:
        ck.err("alarms", "names", "name the alarms to watch (`names`, `prefix` or both)")
    region = value.get("region")
    if region is not None and (not isinstance(region, str) or not region):
        ck.err("alarms", "region", "must be an AWS region name such as 'eu-west-1'")
        region = None
    return AlarmsConfig(names=tuple(names), prefix=alarm_prefix, region=region)


def _parse_coverage(ck: _Checker, value: Any, prefix: str) -> CoverageConfig | None:
    """`[coverage]`: `paths = {"canonical/" = ["alias/", ...]}`, `source-roots = [...]`."""
    if value is None:
        return None
    if not isinstance(value, dict):
        ck.err(None, f"{prefix}coverage", "must be a table")
        return None
    ck.keys(value, COVERAGE_KEYS, "coverage", "")
    out: dict[str, Any] = {}
    paths = value.get("paths")
    if paths is not None:
        good = isinstance(paths, dict) and all(
            isinstance(k, str)
            and isinstance(v, list)
            and v
            and all(isinstance(a, str) and a for a in v)
            for k, v in paths.items()
        )
        if not good:
            ck.err(
                "coverage",
                "paths",
                "must map a project folder to a list of the prefixes reports use for it",
                None,
                'e.g. paths = { "web/" = ["/build/web/"] }',
            )
        else:
            out["paths"] = {k: tuple(v) for k, v in paths.items()}
    roots = value.get("source-roots")
    if roots is not None:
        if (
            not isinstance(roots, list)
            or not roots
            or not all(isinstance(r, str) and r for r in roots)
        ):
            ck.err(
                "coverage",
                "source-roots",
                "must be a non-empty list of folders",
                None,
                'e.g. source-roots = ["services/api/src/main/java"]',
            )
        else:
            out["source_roots"] = tuple(roots)
    return CoverageConfig(**out)


# -- messages ----------------------------------------------------------------


def _suggest(word: str, choices: Iterable[str]) -> str | None:
    choices = list(choices)
    normalized = word.replace("_", "-")
    if normalized != word and normalized in choices:
        return normalized
    match = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return match[0] if match else None


def _msg(
    source: str,
    section: str | None,
    key: str | None,
    problem: str,
    suggestion: str | None,
    fix: str | None,
) -> str:
    """`FILE, SECTION, key KEY: problem; did you mean ...?` (section: "rule 'x'", "bake", ...)."""
    where = source
    if section is not None:
        where += f", {section}"
    if key is not None:
        where += f", key {key!r}"
    text = f"{where}: {problem}"
    if suggestion:
        text += f"; did you mean {suggestion!r}?"
    elif fix:
        text += f" ({fix})"
    return text


def _rule_label(name: str) -> str:
    return f"rule {name!r}"


def _display(file: Path, root: Path) -> str:
    try:
        return str(file.resolve().relative_to(root.resolve()))
    except ValueError:
        pass
    # Outside the project: `../policies/gate.toml`, not `proj/../policies/gate.toml`.
    absolute = os.path.normpath(os.path.abspath(file))
    try:
        relative = os.path.relpath(absolute, os.path.normpath(os.path.abspath(root)))
    except ValueError:  # another drive
        return absolute
    return relative if len(relative) < len(absolute) else absolute
