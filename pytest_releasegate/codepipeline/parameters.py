"""What a job asks of the gate, and the gate child's command line.

A Lambda *Invoke* action says it in ``UserParameters`` (an optional JSON
object); the worker's custom action in its configuration properties
(``Policy``, ``Profile``, ``PytestArgs``, ``BaseUrl``). Both become one
:class:`JobParameters`; a bad one is a ``ConfigurationError`` naming the key.
"""

from __future__ import annotations

import difflib
import json
import os
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from .artifacts import VERDICT_JSON
from .confine import confine_pytest_args
from .results import FailureType, JobFailure

USER_PARAMETER_KEYS = ("policy", "profile", "pytest_args", "base_url")
#: Custom-action configuration property → JobParameters field (the worker's action type).
CONFIGURATION_KEYS = {
    "Policy": "policy",
    "Profile": "profile",
    "PytestArgs": "pytest_args",
    "BaseUrl": "base_url",
}


def config_error(message: str) -> JobFailure:
    return JobFailure(FailureType.CONFIGURATION_ERROR, message)


def _suggest(key: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    return f"; did you mean {close[0]!r}?" if close else f" (known: {', '.join(known)})"


@dataclass(frozen=True)
class JobParameters:
    """What a job asks of the gate; every field optional (the artifact's own policy)."""

    policy: str | None = None
    profile: str | None = None
    pytest_args: tuple[str, ...] = ()
    base_url: str | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], where: str) -> JobParameters:
        values: dict[str, Any] = {}
        for key in ("policy", "profile", "base_url"):
            value = data.get(key)
            if value is None or value == "":
                continue
            if not isinstance(value, str):
                raise config_error(f"{where}: {key!r} must be a string, not {value!r}")
            values[key] = value
        args = data.get("pytest_args")
        if isinstance(args, str):
            try:
                values["pytest_args"] = tuple(shlex.split(args))
            except ValueError as exc:
                raise config_error(f"{where}: 'pytest_args' cannot be split: {exc}") from None
        elif isinstance(args, list) and all(isinstance(a, str) for a in args):
            values["pytest_args"] = tuple(args)
        elif args is not None:
            raise config_error(
                f"{where}: 'pytest_args' must be a list of strings or one string, not {args!r}"
            )
        return cls(**values)

    @classmethod
    def from_user_parameters(cls, text: object) -> JobParameters:
        """The Lambda action's ``UserParameters``: empty, or a JSON object with optional
        ``policy``, ``profile``, ``pytest_args`` (list or string), ``base_url``."""
        if text is None or (isinstance(text, str) and not text.strip()):
            return cls()
        if not isinstance(text, str):
            raise config_error("UserParameters must be a JSON string")
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise config_error(f"UserParameters is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise config_error(
                "UserParameters must be a JSON object with the optional keys "
                + ", ".join(USER_PARAMETER_KEYS)
            )
        for key in data:
            if key not in USER_PARAMETER_KEYS:
                raise config_error(
                    f"UserParameters: unknown key {key!r}{_suggest(key, USER_PARAMETER_KEYS)}"
                )
        return cls.from_mapping(data, "UserParameters")

    @classmethod
    def from_configuration(cls, configuration: Mapping[str, str]) -> JobParameters:
        """A custom action's configuration (``Policy``, ``Profile``, ``PytestArgs``,
        ``BaseUrl``; other properties such as ``GateId`` are not the gate's)."""
        data = {field_: configuration.get(prop) for prop, field_ in CONFIGURATION_KEYS.items()}
        return cls.from_mapping(data, "action configuration")

    def policy_path(self, srcdir: Path) -> str | None:
        """The policy file inside the unpacked artifact; it may not point outside it."""
        if not self.policy:
            return None
        rel = PurePosixPath(self.policy.replace("\\", "/"))
        if rel.is_absolute() or ".." in rel.parts:
            raise config_error(f"policy {self.policy!r} must be a path inside the input artifact")
        return str(srcdir.joinpath(*rel.parts))


def _configuration(data: Mapping[str, Any]) -> Mapping[str, Any]:
    return (data.get("actionConfiguration") or {}).get("configuration") or {}


def lambda_parameters(data: Mapping[str, Any]) -> JobParameters:
    """The parameters of a Lambda Invoke action's job (``UserParameters`` JSON)."""
    return JobParameters.from_user_parameters(_configuration(data).get("UserParameters"))


def action_parameters(data: Mapping[str, Any]) -> JobParameters:
    """The parameters of a custom action's job (its configuration properties)."""
    return JobParameters.from_configuration(_configuration(data))


def gate_command(
    srcdir: Path, outdir: Path, params: JobParameters, base: Sequence[str]
) -> list[str]:
    """The child's command line: the job's pytest args first, the gate's own options last.

    The job's pytest args are confined to the job (:func:`.confine.confine_pytest_args`:
    the directory ``srcdir`` and ``outdir`` share); an escape is a ConfigurationError.
    """
    job_dir = Path(os.path.commonpath([srcdir, outdir]))
    pytest_args = confine_pytest_args(params.pytest_args, cwd=srcdir, job_dir=job_dir)
    command = [*base, *pytest_args, "--gate", "-p", "no:cacheprovider"]
    # Only the JSON verdict: the worker renders the JUnit verdict and the report itself.
    command += ["--gate-json", str(outdir / VERDICT_JSON)]
    policy = params.policy_path(srcdir)
    if policy:
        command += ["--gate-policy", policy]
    if params.profile:
        command += ["--gate-profile", params.profile]
    if params.base_url:
        command += ["--gate-base-url", params.base_url]
    return command
