"""`releasegate report --html PATH [--verdict v.json] [--history H]`.

Renders the HTML report (and optionally Markdown) of a verdict computed
elsewhere, with trend charts from the run history. Without ``--verdict`` the
report shows the last run in the history. ``--history`` defaults to the
policy's ``history`` (looked up as ``releasegate evaluate`` does).

Exit codes: 0 when written, 4 for bad input (an unreadable or malformed
verdict or history, nothing to report, an unwritable output), with one line
on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

EXIT_USAGE = 4


class _Bad(Exception):
    """Bad input: the message is the one line to print."""


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--html", metavar="PATH", required=True, help="write the HTML report here")
    p.add_argument("--markdown", metavar="PATH", help="also write the Markdown summary here")
    p.add_argument(
        "--verdict", metavar="PATH", help="verdict JSON to report (default: the history's last run)"
    )
    p.add_argument(
        "--history",
        metavar="PATH",
        help="run history for trends (path or s3://bucket/key; default: the policy's `history`)",
    )
    p.add_argument("--policy", metavar="PATH", help="policy file to take `history` from")
    p.add_argument("--rootdir", metavar="DIR", help="project root for relative paths (default: .)")


def _history_location(args: argparse.Namespace, rootdir: Path) -> tuple[str | None, Path | None]:
    """(location, the root it is relative to): the flag (relative to .), else the policy's."""
    if args.history:
        return args.history, Path.cwd()
    from .policy import PolicyError, find_policy_file, load_policy

    if find_policy_file(rootdir, args.policy) is None:
        return None, None
    try:
        policy = load_policy(args.policy, rootdir=rootdir)
    except PolicyError as exc:
        raise _Bad(f"bad policy: {exc.problems[0]}") from None
    return policy.history, rootdir


def _read_verdict(path: str) -> dict[str, Any]:
    """The verdict file's JSON, if it is a verdict whose verdict follows from its rules."""
    from .bounds import read_regular_text
    from .integrity import verified_verdict

    try:
        data = json.loads(read_regular_text(path))
    except FileNotFoundError:
        raise _Bad(f"--verdict {path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise _Bad(f"--verdict {path}: cannot read it: {exc}") from None
    except json.JSONDecodeError as exc:
        raise _Bad(f"--verdict {path}: not JSON ({exc})") from None
    except RecursionError:
        raise _Bad(f"--verdict {path}: nested too deep to be a verdict") from None
    try:
        verified_verdict(data)  # the IntegrityError (a ValueError) says why in one line
    except ValueError as exc:
        raise _Bad(f"--verdict {path}: {exc}") from None
    assert isinstance(data, dict)
    return data


def build(args: argparse.Namespace) -> tuple[str, int, list[str]]:
    """The report's verdict label, trend runs and warnings; writes the files. Raises _Bad."""
    from .history import HistoryError, as_verdict, open_history, series_for
    from .sinks.html import render

    rootdir = Path(args.rootdir or ".").absolute()
    warnings: list[str] = []
    try:
        location, base = _history_location(args, rootdir)
    except _Bad as exc:
        if not args.verdict:
            raise
        # The verdict alone makes a report: a broken policy only costs the trends.
        location, base = None, None
        warnings.append(f"no trends: {exc}")
    records: list[dict[str, Any]] = []
    if location:
        try:
            loaded = open_history(location, rootdir=base).read()
        except HistoryError as exc:
            raise _Bad(str(exc)) from None
        records = loaded.records
        warnings.extend(loaded.problems)
    if args.verdict:
        verdict = _read_verdict(args.verdict)
    elif not location:
        raise _Bad(
            "nothing to report: pass --verdict FILE or --history H (or set `history` in the policy)"
        )
    elif not records:
        raise _Bad(f"history {location} has no runs to report")
    else:
        verdict = as_verdict(records[-1]).to_json()
    runs = series_for(verdict, records) if records else None
    page = render(verdict, runs)
    _write(args.html, page, "--html")
    if args.markdown:
        from .model import Verdict
        from .sinks.render import markdown

        _write(args.markdown, markdown(Verdict.from_json(verdict), runs), "--markdown")
    return str(verdict.get("verdict", "?")), len(runs or ()), warnings


def _write(path: str, text: str, flag: str) -> None:
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise _Bad(f"{flag} {path}: cannot write it: {exc.strerror or exc}") from None


def run(args: argparse.Namespace) -> int:
    try:
        kind, runs, warnings = build(args)
    except _Bad as exc:
        print(f"releasegate: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for warning in warnings:
        print(f"releasegate: warning: {warning}", file=sys.stderr)
    trend = f", trends over {runs} runs" if runs > 1 else ""
    print(f"releasegate: wrote {args.html} (verdict {kind.upper()}{trend})")
    return 0
