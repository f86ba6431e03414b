"""The gate's options, declared once for both adapters.

`pytest --gate-NAME` and `releasegate evaluate --NAME` take the same options;
this table defines them, and turns parsed values into `GateOptions` with the
same precedence everywhere: command line, then environment, then defaults.
Kept import-light: the pytest plugin imports it at every start.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple


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
        "input_tests",
        "test reports from other tools, any format CodeBuild reads: JUnit, TestNG, NUnit 2/3,"
        " TRX, Cucumber JSON (repeatable; source tests:NAME)",
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
) -> Any:
    """`GateOptions` from parsed values (`get(name)`), the environment, then defaults."""
    from .engine import GateOptions

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
            if spec.path:
                value = absolute(value)
        values[spec.name] = value
    return GateOptions(**values, quiet=quiet)
