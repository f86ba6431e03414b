"""The gate's options, declared once for both adapters.

`pytest --gate-NAME` and `releasegate evaluate --NAME` take the same options;
this table defines them, and turns parsed values into `GateOptions` with the
same precedence everywhere: command line, then environment, then defaults.
Kept import-light: the pytest plugin imports it at every start.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

#: The source name of ``--input-junit GLOB`` given without ``NAME=`` (``junit:default``).
DEFAULT_JUNIT_NAME = "default"
_JUNIT_NAME_RE = re.compile(r"[A-Za-z0-9_.-]+")


@dataclass
class GateOptions:
    """Run options; the pytest flags and `releasegate evaluate` options map 1:1."""

    policy: str | None = None
    profile: str | None = None
    json: str | None = None
    junit: str | None = None
    markdown: str | None = None
    input_junit: list[str] = field(default_factory=list)  # "[NAME=]GLOB"
    input_coverage: list[str] = field(default_factory=list)  # "[NAME=]GLOB"
    coverage: str | None = None
    base_url: str | None = None
    baseline: str | None = None
    save_baseline: str | None = None
    codepipeline_job_id: str | None = None
    dry_run: bool = False
    quiet: bool = False
    export_env: str | None = None
    history: str | None = None
    html: str | None = None

    def problems(self, prefix: str = "--gate-") -> list[str]:
        """Mistakes in the options themselves, one line each (`prefix` names the flags)."""
        out = []
        for spec in self.input_junit:
            try:
                parse_input_spec(spec)
            except ValueError as exc:
                out.append(f"bad option {prefix}input-junit {spec!r}: {exc}")
        for spec in self.input_coverage:
            try:
                parse_input_spec(spec)
            except ValueError as exc:
                out.append(f"bad option {prefix}input-coverage {spec!r}: {exc}")
        out.extend(self.aws_problems(prefix))
        return out

    def aws_problems(self, prefix: str = "--gate-") -> list[str]:
        """AWS features asked for without boto3 (the `aws` extra): one line each."""
        from ._aws import boto3_missing

        wanted = []
        if self.codepipeline_job_id and not self.dry_run:
            wanted.append(f"publishing to CodePipeline ({prefix}codepipeline-job-id)")
        for name in ("baseline", "save_baseline"):
            if str(getattr(self, name) or "").startswith("s3://"):
                wanted.append(f"{prefix}{name.replace('_', '-')} s3://")
        return [p for feature in wanted if (p := boto3_missing(feature)) is not None]


def parse_input_spec(spec: str) -> tuple[str, str]:
    """Split ``[NAME=]GLOB`` into ``(NAME, GLOB)``; NAME defaults to ``default``.

    Text before the first ``=`` is a NAME only when it looks like one
    (letters, digits, ``_.-``), so a glob containing ``=`` still works.
    Raises ValueError for an empty glob or an empty NAME.
    """
    name, sep, pattern = spec.partition("=")
    if not sep or not _JUNIT_NAME_RE.fullmatch(name):
        if sep and not name:
            raise ValueError(f"empty source NAME in {spec!r}: use NAME=GLOB or just GLOB")
        name, pattern = DEFAULT_JUNIT_NAME, spec
    if not pattern.strip():
        raise ValueError(f"empty glob in {spec!r}: use [NAME=]GLOB, e.g. ui=reports/**/*.xml")
    return name, pattern


class OptionSpec(NamedTuple):
    name: str  # GateOptions field; the flag is --NAME (dashes) after the adapter's prefix
    help: str
    metavar: str | None = None
    kind: str = "value"  # "value", "list" (repeatable) or "flag"
    env: str | None = None
    path: bool = False  # a local path, made absolute against the invocation directory


SPECS = (
    OptionSpec(
        "policy",
        "policy file (default: releasegate.toml or [tool.releasegate] in pyproject.toml)",
        "PATH",
        path=True,
    ),
    OptionSpec("profile", "policy profile to run", "NAME", env="RELEASEGATE_PROFILE"),
    OptionSpec("json", "write the verdict as JSON", "PATH", path=True),
    OptionSpec(
        "junit", "write the verdict as JUnit XML (one testcase per rule)", "PATH", path=True
    ),
    OptionSpec("markdown", "write the verdict as Markdown", "PATH", path=True),
    OptionSpec(
        "input_junit",
        "JUnit XML files from other tools to gate on (repeatable; source junit:NAME)",
        "[NAME=]GLOB",
        kind="list",
    ),
    OptionSpec(
        "input_coverage",
        "coverage reports from other tools: Cobertura, Clover, JaCoCo, LCOV, Go profiles, "
        "coverage.py JSON (repeatable; source coverage:NAME)",
        "[NAME=]GLOB",
        kind="list",
    ),
    OptionSpec(
        "coverage", "coverage data file (default: pytest-cov's, else .coverage)", "PATH", path=True
    ),
    OptionSpec("base_url", "base URL of smoke checks", "URL", env="RELEASEGATE_BASE_URL"),
    OptionSpec(
        "baseline", "baseline verdict to compare with (path or s3://bucket/key)", "PATH", path=True
    ),
    OptionSpec(
        "save_baseline", "save this verdict as a baseline (path or s3://)", "PATH", path=True
    ),
    OptionSpec(
        "codepipeline_job_id",
        "publish the verdict on this InProgress CodePipeline job",
        "ID",
        env="RELEASEGATE_CODEPIPELINE_JOB_ID",
    ),
    OptionSpec("dry_run", "evaluate and print; publish nothing remote", kind="flag"),
    OptionSpec(
        "export_env",
        "write RELEASEGATE_* variables for POSIX sh (a CodePipeline V2 Commands action)",
        "PATH",
        path=True,
    ),
    OptionSpec(
        "history",
        "append this run to a history (JSON lines; path or s3://bucket/key)",
        "PATH",
        path=True,
    ),
    OptionSpec(
        "html", "write a self-contained HTML report (trends with a history)", "PATH", path=True
    ),
)


def flag(spec: OptionSpec, prefix: str) -> str:
    return "--" + prefix + spec.name.replace("_", "-")


def add_options(add: Callable[..., Any], prefix: str) -> None:
    """Declare every option through `add` (argparse's `add_argument`, pytest's `addoption`)."""
    for spec in SPECS:
        help_text = spec.help + (f" (env {spec.env})" if spec.env else "")
        if spec.kind == "flag":
            add(flag(spec, prefix), action="store_true", default=False, help=help_text)
        elif spec.kind == "list":
            add(
                flag(spec, prefix),
                metavar=spec.metavar,
                action="append",
                default=[],
                help=help_text,
            )
        else:
            add(flag(spec, prefix), metavar=spec.metavar, help=help_text)


def absolute(value: str | None) -> str | None:
    """Local paths from the command line are relative to the invocation directory."""
    if not value or value.startswith("s3://"):
        return value
    return str(Path(value).absolute())


def gate_options(
    get: Callable[[str], Any],
    *,
    environ: Mapping[str, str] | None = None,
    quiet: bool = False,
    **overrides: Any,
) -> GateOptions:
    """`GateOptions` from parsed values (`get(name)`), the environment, then defaults."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for spec in SPECS:
        value = overrides[spec.name] if spec.name in overrides else get(spec.name)
        if spec.kind == "list":
            value = list(value or [])
        elif spec.kind == "flag":
            value = bool(value)
        else:
            value = value or (env.get(spec.env) if spec.env else None) or None
            if spec.path and not (spec.name == "baseline" and value == "history"):
                value = absolute(value)
        values[spec.name] = value
    return GateOptions(**values, quiet=quiet)
