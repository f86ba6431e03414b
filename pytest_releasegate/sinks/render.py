"""Text renderings of a verdict: the terminal table and Markdown."""

from __future__ import annotations

from ..bounds import clip_message, clip_name, one_line
from ..model import Outcome, RuleResult, Verdict

_MARK = {
    Outcome.PASS: "pass",
    Outcome.WARN: "WARN",
    Outcome.FAIL: "FAIL",
    Outcome.ERROR: "ERROR",
    Outcome.WAIVED: "waived",
    Outcome.SKIPPED: "skipped",
}


def _row(r: RuleResult) -> tuple[str, str, str, str, str]:
    threshold = ", ".join(f"{k} {v}" for k, v in r.threshold.items()) or "-"
    name = r.name if r.level.value == "fail" else f"{r.name} ({r.level.value})"
    # A verdict read back from a file may hold anything: no cell may start a line.
    return (
        one_line(clip_name(name)),
        r.display_actual(),
        one_line(threshold),
        r.display_baseline(),
        _MARK[r.outcome],
    )


def terminal_lines(verdict: Verdict, *, quiet: bool = False) -> list[str]:
    """The verdict line, warnings, then a rule table (`quiet`: only rules that did not pass)."""
    lines = [one_line(verdict.headline())]
    lines.extend(f"releasegate: WARNING: {one_line(clip_message(w))}" for w in verdict.warnings)
    rules = [r for r in verdict.rules if not quiet or r.outcome is not Outcome.PASS]
    if not rules:
        return lines
    header = ("rule", "actual", "threshold", "baseline", "outcome")
    rows = [header, *(_row(r) for r in rules)]
    widths = [min(max(len(row[i]) for row in rows), 48) for i in range(5)]
    for row in rows:
        cells = [
            c if len(c) <= widths[i] else c[: widths[i] - 1] + "\u2026" for i, c in enumerate(row)
        ]
        lines.append("  ".join(c.ljust(widths[i]) for i, c in enumerate(cells)).rstrip())
    for r in rules:
        if r.outcome is not Outcome.PASS and r.message:
            lines.append(f"  {one_line(clip_name(r.name))}: {one_line(clip_message(r.message))}")
    return lines


def _md_cell(text: str) -> str:
    return one_line(clip_message(text)).replace("|", "\\|")


def markdown(verdict: Verdict) -> str:
    """A Markdown summary (for PR comments and CodeBuild/GitHub step summaries)."""
    icon = {"pass": "\u2705", "warn": "\u26a0\ufe0f", "fail": "\u274c", "error": "\U0001f6d1"}
    out = [
        f"## {icon.get(verdict.verdict.value, '')} Release gate: {verdict.verdict.value.upper()}",
        "",
        f"{_md_cell(verdict.headline())}",
        "",
    ]
    out.extend(f"> **Warning:** {_md_cell(w)}" for w in verdict.warnings)
    if verdict.warnings:
        out.append("")
    out += [
        "| rule | metric | actual | threshold | baseline | outcome | message |",
        "| --- | --- | ---: | --- | ---: | --- | --- |",
    ]
    for r in verdict.rules:
        name, actual, threshold, baseline, outcome = _row(r)
        out.append(
            f"| {_md_cell(name)} | `{r.metric}` | {actual} | {_md_cell(threshold)} | {baseline} "
            f"| {outcome} | {_md_cell(r.message)} |"
        )
    out.append("")
    return "\n".join(out)
