"""``releasegate register-action-type``: the custom action type the job worker serves.

Creates ``Test/Custom/<provider>/<version>`` (CreateCustomActionType) with the
configuration properties the worker reads:

========== ======== ===== ========= ==========================================
property   required key   queryable meaning
========== ======== ===== ========= ==========================================
GateId     yes      yes   yes       which workers take the job (``--query GateId=…``)
Policy     no       no    no        policy file inside the input artifact
Profile    no       no    no        policy profile
PytestArgs no       no    no        extra pytest arguments (split like a shell, never run by one)
BaseUrl    no       no    no        base URL of the smoke checks
========== ======== ===== ========= ==========================================

one input artifact (the project to test), zero or one output artifact (the
verdict zip), and console links into the worker's CloudWatch Logs: the entity
link opens the log group, the execution link the log lines of one action
execution (the worker uses the first job's id as ``externalExecutionId`` and
logs it with every event).

Idempotent: an existing type is left alone (action types cannot be changed;
register a new ``--version`` to change one), found through ListActionTypes
first, and "already exists" from CreateCustomActionType counts as success.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from ..model import ExitCode

_PROVIDER = re.compile(r"[0-9A-Za-z_-]{1,35}")
_VERSION = re.compile(r"[0-9A-Za-z_-]{1,9}")
CATEGORIES = ("Source", "Build", "Deploy", "Test", "Invoke", "Approval", "Compute")
DEFAULT_LOG_GROUP = "/releasegate/worker"

CONFIGURATION_PROPERTIES: tuple[dict[str, Any], ...] = (
    {
        "name": "GateId",
        "required": True,
        "key": True,
        "secret": False,
        "queryable": True,
        "type": "String",
        "description": "Which workers take the job: those started with --query GateId=<this>",
    },
    {
        "name": "Policy",
        "required": False,
        "key": False,
        "secret": False,
        "type": "String",
        "description": "Policy file in the input artifact (default: its pyproject.toml)",
    },
    {
        "name": "Profile",
        "required": False,
        "key": False,
        "secret": False,
        "type": "String",
        "description": "Policy profile to run",
    },
    {
        "name": "PytestArgs",
        "required": False,
        "key": False,
        "secret": False,
        "type": "String",
        "description": "Extra pytest arguments, split like a shell command line",
    },
    {
        "name": "BaseUrl",
        "required": False,
        "key": False,
        "secret": False,
        "type": "String",
        "description": "Base URL of the policy's smoke checks",
    },
)


def check_type_id(provider: str, category: str = "Test", version: str = "1") -> str | None:
    """What is wrong with this action type id (the service's patterns), or None."""
    if not _PROVIDER.fullmatch(provider):
        return f"--provider {provider!r}: 1-35 of [0-9A-Za-z_-]"
    if not _VERSION.fullmatch(version):
        return f"--version {version!r}: 1-9 of [0-9A-Za-z_-]"
    if category not in CATEGORIES:
        return f"--category {category!r}: one of {', '.join(CATEGORIES)}"
    return None


def log_urls(region: str, log_group: str) -> dict[str, str]:
    """Console links into the worker's log group: the group, and one execution's lines."""
    console = f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
    # The CloudWatch console's fragment encoding: '%' becomes '$25' inside the hash.
    group = quote(quote(log_group, safe=""), safe="").replace("%", "$")
    entity = f"{console}#logsV2:log-groups/log-group/{group}"
    # A quoted filter term ($2522 is '"'): job ids hold hyphens.
    execution = f"{entity}/log-events$3FfilterPattern$3D$2522{{ExternalExecutionId}}$2522"
    return {"entityUrlTemplate": entity, "executionUrlTemplate": execution}


def create_request(
    provider: str,
    *,
    category: str = "Test",
    version: str = "1",
    settings: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The CreateCustomActionType parameters for the gate's action type."""
    request: dict[str, Any] = {
        "category": category,
        "provider": provider,
        "version": version,
        "configurationProperties": [dict(p) for p in CONFIGURATION_PROPERTIES],
        "inputArtifactDetails": {"minimumCount": 1, "maximumCount": 1},
        "outputArtifactDetails": {"minimumCount": 0, "maximumCount": 1},
    }
    if settings:
        request["settings"] = dict(settings)
    return request


def find_action_type(
    list_action_types: Callable[..., Mapping[str, Any]], type_id: Mapping[str, str]
) -> dict[str, Any] | None:
    """The custom action type with this id, or None (every page of ``list_action_types``,
    a client's method or a retrying stand-in)."""
    token: str | None = None
    while True:
        page = list_action_types(
            actionOwnerFilter="Custom", **({"nextToken": token} if token else {})
        )
        for item in page.get("actionTypes") or ():
            if dict(item.get("id") or {}) == dict(type_id):
                found: dict[str, Any] = item
                return found
        token = page.get("nextToken")
        if not token:
            return None


def _differences(existing: Mapping[str, Any], request: Mapping[str, Any]) -> list[str]:
    have = {p.get("name"): p for p in existing.get("actionConfigurationProperties") or ()}
    problems = []
    for prop in request["configurationProperties"]:
        other = have.get(prop["name"])
        if other is None:
            problems.append(f"no {prop['name']} property")
        elif bool(other.get("queryable")) != bool(prop.get("queryable")):
            problems.append(f"{prop['name']} queryable is {bool(other.get('queryable'))}")
    return problems


def register(client: Any, request: Mapping[str, Any]) -> tuple[str, dict[str, Any] | None]:
    """Create the type unless it exists; returns ("created" | "exists", the type)."""
    from .results import error_code

    type_id = {
        "category": request["category"],
        "owner": "Custom",
        "provider": request["provider"],
        "version": request["version"],
    }
    try:
        existing = find_action_type(client.list_action_types, type_id)
    except Exception as exc:
        code, _status = error_code(exc)
        if code not in ("AccessDeniedException", "AccessDenied"):
            raise
        existing = None  # may create without listing; "already exists" still counts
    if existing is not None:
        return "exists", existing
    try:
        answer = client.create_custom_action_type(**request)
    except Exception as exc:
        code, _status = error_code(exc)
        message = str(getattr(exc, "response", {}).get("Error", {}).get("Message", ""))
        if code in ("ValidationException", "InvalidActionDeclarationException") and (
            "already exist" in message.lower()
        ):
            return "exists", None
        raise
    created: dict[str, Any] = answer.get("actionType") or {}
    return "created", created


# -- the command -------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Create the CodePipeline custom action type that `releasegate worker` serves "
        "(GateId queryable; Policy, Profile, PytestArgs, BaseUrl optional), or leave an "
        "existing one alone."
    )
    a = parser.add_argument
    a("--provider", required=True, help="provider name, e.g. ReleaseGate (1-35 of [0-9A-Za-z_-])")
    a("--category", default="Test", choices=CATEGORIES, help="category (default: Test)")
    a("--version", default="1", help="version (default: 1)")
    a(
        "--log-group",
        default=DEFAULT_LOG_GROUP,
        help=f"the workers' CloudWatch Logs group, for the console links (default: "
        f"{DEFAULT_LOG_GROUP})",
    )
    a("--entity-url-template", metavar="URL", help="console link of the action (overrides)")
    a(
        "--execution-url-template",
        metavar="URL",
        help="console link of one execution; may use {ExternalExecutionId} and {Config:GateId}",
    )
    a("--region", help="AWS region (default: the standard configuration chain)")
    a("--dry-run", action="store_true", help="print the request, call nothing")


def _err(message: str) -> None:
    print(f"releasegate: {message}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    problem = check_type_id(args.provider, args.category, args.version)
    if problem:
        _err(problem)
        return ExitCode.USAGE
    try:
        from .results import describe_error, make_client

        client = None if args.dry_run else make_client(region=args.region)
        region = args.region or (client.meta.region_name if client else None) or "us-east-1"
    except Exception as exc:  # noqa: BLE001 - one line, no traceback
        _err(f"cannot make a CodePipeline client: {type(exc).__name__}: {exc}")
        return ExitCode.ERROR
    settings = log_urls(region, args.log_group)
    if args.entity_url_template:
        settings["entityUrlTemplate"] = args.entity_url_template
    if args.execution_url_template:
        settings["executionUrlTemplate"] = args.execution_url_template
    request = create_request(
        args.provider, category=args.category, version=args.version, settings=settings
    )
    name = f"{args.category}/Custom/{args.provider}/{args.version}"
    if args.dry_run:
        print(json.dumps(request, indent=2))
        return ExitCode.OK
    try:
        status, existing = register(client, request)
    except Exception as exc:  # noqa: BLE001 - one line, no traceback
        code = getattr(exc, "response", {}).get("Error", {}).get("Code", "")
        _err(f"cannot create {name}: {describe_error(exc)}")
        return (
            ExitCode.USAGE
            if code in ("ValidationException", "LimitExceededException")
            else ExitCode.ERROR
        )
    if status == "created":
        print(f"created custom action type {name}")
        return ExitCode.OK
    print(f"custom action type {name} exists; left as it is")
    problems = _differences(existing, request) if existing else []
    if problems:
        _err(
            f"{name} differs from what the worker expects ({'; '.join(problems)}): action types "
            "cannot be changed, register a new --version"
        )
    return ExitCode.OK


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m pytest_releasegate.codepipeline.action_type`` (``register-action-type``)."""
    parser = argparse.ArgumentParser(prog="releasegate register-action-type")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
