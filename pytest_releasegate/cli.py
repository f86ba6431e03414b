"""`releasegate …`: the gate without pytest, and its operational commands.

Exit codes (SPEC §3/§6): 0 pass/warn, 1 fail, 3 error, 4 bad policy or
options, 2 for a malformed command line (argparse). A user mistake is one
line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import shlex
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .model import ExitCode

#: Subcommands implemented in their own modules: name → (module, help).
#: Each module provides `add_arguments(parser)` and `run(args) -> int`.
EXTERNAL_COMMANDS: dict[str, tuple[str, str]] = {
    "emulator": (
        "pytest_releasegate.testing.emulator",
        "run a local CodePipeline job-API emulator",
    ),
    "publish": (
        "pytest_releasegate.codepipeline.publish",
        "put a verdict computed elsewhere on a CodePipeline job",
    ),
    "worker": (
        "pytest_releasegate.codepipeline.worker",
        "run the CodePipeline custom-action job worker",
    ),
    "register-action-type": (
        "pytest_releasegate.codepipeline.action_type",
        "create the job worker's custom action type (idempotent)",
    ),
    "report": (
        "pytest_releasegate.report_cmd",
        "write the HTML report of a verdict, with trends from the run history",
    ),
}


def _err(message: str) -> None:
    for line in message.splitlines() or [""]:
        print(f"releasegate: {line}", file=sys.stderr)


def _add_gate_options(p: argparse.ArgumentParser) -> None:
    from .options import add_options

    add_options(p.add_argument, prefix="")
    p.add_argument("--rootdir", metavar="DIR", help="project root for relative paths (default: .)")
    p.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="only the verdict line and rules that did not pass",
    )


def options_from_args(args: argparse.Namespace) -> Any:
    from .options import gate_options

    return gate_options(lambda name: getattr(args, name), quiet=bool(args.quiet))


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .engine import Gate, exit_code
    from .manager import get_plugin_manager, known_metrics
    from .policy import PolicyError, load_policy
    from .sinks.codepipeline import report_bad_configuration
    from .sinks.render import terminal_lines

    options = options_from_args(args)
    problems = options.problems(prefix="--")
    rootdir = Path(args.rootdir or ".").absolute()
    if problems:
        report_bad_configuration(options, "; ".join(problems), rootdir)
        for problem in problems:
            _err(problem)
        return ExitCode.USAGE
    pm = get_plugin_manager()
    try:
        policy = load_policy(options.policy, rootdir=rootdir, metrics=known_metrics(pm))
        gate = Gate(policy, options, rootdir=rootdir, pm=pm)
    except PolicyError as exc:
        report_bad_configuration(options, str(exc), rootdir)
        for problem in exc.problems:
            _err(f"bad policy: {problem}")
        return ExitCode.USAGE
    verdict = gate.run()
    problems = gate.publish(verdict)
    for line in terminal_lines(verdict, quiet=options.quiet):
        print(line)
    for problem in problems:
        _err(f"could not publish: {problem}")
    return exit_code(verdict, problems)


def cmd_check_policy(args: argparse.Namespace) -> int:
    from .manager import get_plugin_manager, known_metrics
    from .policy import PolicyError, load_policy

    pm = get_plugin_manager()
    metrics = known_metrics(pm)
    if args.metrics:
        width = max(map(len, metrics))
        for name in sorted(metrics):
            print(f"{name.ljust(width)}  {metrics[name]}")
        return ExitCode.OK
    rootdir = Path(args.rootdir or ".").absolute()
    try:
        policy = load_policy(args.path, rootdir=rootdir, metrics=metrics)
    except PolicyError as exc:
        for problem in exc.problems:
            _err(f"bad policy: {problem}")
        return ExitCode.USAGE
    problems = []
    print(f"policy: {policy.display_source}")
    default = policy.default_profile or "default"
    for profile in policy.known_profiles:
        rules = policy.rules_for(profile)
        mark = " (default)" if profile == default else ""
        print(f"profile {profile}{mark}: {len(rules)} rules")
        if not rules:
            if profile != "default" or profile == default:
                problems.append(f"{policy.display_source}: profile {profile!r} has no rules")
            continue
        for r in rules:
            sel = f" [{r.select.describe()}]" if not r.select.is_empty else ""
            level = f" level={r.level.value}" if r.level.value != "fail" else ""
            waiver = f" waiver until {r.waiver.expires}" if r.waiver else ""
            base = f" base {r.base}" if r.base else ""
            print(f"  - {r.name}: {r.metric}{sel} {r.describe_threshold()}{base}{level}{waiver}")
        for warning in policy.warnings_for(profile):
            print(f"  WARNING: {warning}")
    for q in policy.quarantine:
        print(f"quarantine: {q.nodeid} until {q.expires} ({q.reason})")
    for m in policy.runtime_metrics:
        how = f", window {m.window_text}, reduce {m.reduce}" if m.provider == "cloudwatch" else ""
        fill = f", fill {m.fill:g}" if m.fill is not None else ""
        about = f" — {m.description}" if m.description else ""
        print(f"metric {m.name}: {m.provider}{how}{fill}, aggregate {m.aggregate}{about}")
    for problem in problems:
        _err(f"bad policy: {problem}")
    return ExitCode.USAGE if problems else ExitCode.OK


HOOK_MARKER = "# installed by releasegate install-hook"


def cmd_install_hook(args: argparse.Namespace) -> int:
    from .policy import PolicyError, load_policy

    try:
        top = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"], capture_output=True, text=True, check=True
        ).stdout.strip()
        hooks = subprocess.run(
            ["git", "rev-parse", "--git-path", "hooks"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        _err("install-hook: not inside a git repository")
        return ExitCode.USAGE
    try:
        policy = load_policy(args.policy, rootdir=Path(top))
        policy.resolve_profile(args.profile)
    except PolicyError as exc:
        for problem in exc.problems:
            _err(f"bad policy: {problem}")
        return ExitCode.USAGE
    hook = Path(hooks) if Path(hooks).is_absolute() else Path.cwd() / hooks
    hook = hook / "pre-push"
    if hook.exists() and HOOK_MARKER not in hook.read_text(errors="replace") and not args.force:
        _err(f"install-hook: {hook} exists and is not ours; use --force to replace it")
        return ExitCode.USAGE
    # `--opt=value`: pytest reads a separate path argument as a test path when it picks its rootdir.
    command = [sys.executable, "-m", "pytest", "--gate", f"--gate-profile={args.profile}", "-q"]
    if args.policy:
        command.append(f"--gate-policy={Path(os.path.abspath(args.policy))}")
    hook.parent.mkdir(parents=True, exist_ok=True)
    hook.write_text(
        "#!/bin/sh\n"
        f"{HOOK_MARKER}\n"
        "# Runs the release gate's pre-push profile; skip once with `git push --no-verify`.\n"
        f'cd "$(git rev-parse --show-toplevel)" || exit 1\n'
        f"exec {shlex.join(command)}\n",
        encoding="utf-8",
    )
    hook.chmod(0o755)
    print(f"installed {hook} (profile {args.profile})")
    return ExitCode.OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="releasegate",
        description="Evaluate a release policy and publish one verdict.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("evaluate", help="the gate over existing files (no pytest run)")
    _add_gate_options(p)
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("check-policy", help="validate the policy and print its rules per profile")
    p.add_argument(
        "path", nargs="?", help="policy file (default: releasegate.toml or pyproject.toml)"
    )
    p.add_argument("--rootdir", metavar="DIR", help="project root (default: .)")
    p.add_argument(
        "--metrics", action="store_true", help="list every metric the installed sources provide"
    )
    p.set_defaults(func=cmd_check_policy)

    p = sub.add_parser("install-hook", help="install a git pre-push hook running the gate")
    p.add_argument(
        "--profile", default="pre-push", help="profile the hook runs (default: pre-push)"
    )
    p.add_argument("--policy", metavar="PATH", help="policy file")
    p.add_argument("--force", action="store_true", help="replace an existing pre-push hook")
    p.set_defaults(func=cmd_install_hook)

    for name, (module, help_text) in EXTERNAL_COMMANDS.items():
        p = sub.add_parser(name, help=help_text)
        mod = importlib.import_module(module)
        mod.add_arguments(p)
        p.set_defaults(func=mod.run, aws_feature=f"releasegate {name}")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    if getattr(args, "aws_feature", None):
        from ._aws import boto3_missing

        problem = boto3_missing(args.aws_feature)
        if problem is not None:
            _err(problem)
            return ExitCode.USAGE
    try:
        return func(args)
    except KeyboardInterrupt:
        _err("interrupted")
        return ExitCode.INTERRUPTED
    except BrokenPipeError:  # `releasegate … | head`
        sys.stderr.close()
        return ExitCode.OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
