"""Text renderings of a verdict: the terminal table and Markdown."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..bounds import clip_message, clip_name, one_line
from ..model import Level, Outcome, RuleResult, Verdict, format_value

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
        outcome_mark(r),
    )


def outcome_mark(r: RuleResult) -> str:
    """The outcome as shown: an info rule that broke its bound shows `info`, never FAIL."""
    if r.level is Level.INFO and r.outcome in (Outcome.FAIL, Outcome.WARN, Outcome.ERROR):
        return "info"
    return _MARK[r.outcome]


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
    if verdict.runtime:
        shown = {r.metric for r in rules}
        lines.extend(
            f"  samples {name} ({where}): {text}"
            for name, where, text in runtime_lines(verdict)
            if name in shown
        )
    return lines


#: Samples shown in full; longer series show their first and last few.
_SAMPLES_SHOWN = 12


def _samples_text(samples: list[dict[str, Any]]) -> str:
    values = [format_value(s.get("value")) for s in samples]
    if len(values) > _SAMPLES_SHOWN:
        half = _SAMPLES_SHOWN // 2
        values = [*values[:half], "\u2026", *values[-half:]]
    return " ".join(values) or "none"


def runtime_lines(verdict: Verdict) -> list[tuple[str, str, str]]:
    """Per runtime metric: its name, "provider, window", and the samples compactly
    (``-`` = no data), with their number and the first reason for a missing one."""
    out = []
    for name, e in (verdict.runtime or {}).items():
        samples = list(e.get("samples") or ())
        where = e.get("provider", "?") + (f", {e['window']}" if e.get("window") else "")
        text = _samples_text(samples)
        n = len(samples) + int(e.get("samples_dropped") or 0)
        missing = [s for s in samples if s.get("value") is None]
        text += f" [{n} sample{'s' if n != 1 else ''}"
        if missing:
            text += f", {len(missing)} without data: {missing[0].get('reason', '')}"
        out.append((name, where, text + "]"))
    return out


def _md_cell(text: str) -> str:
    return one_line(clip_message(text)).replace("|", "\\|")


def markdown(verdict: Verdict, runs: Sequence[Mapping[str, Any]] | None = None) -> str:
    """A Markdown summary (for PR comments and CodeBuild/GitHub step summaries).

    With `runs` (the history of the verdict's branch and profile, ending with
    this run) a trend section follows: a sparkline per rule metric and the
    change since the previous run.
    """
    icon = {"pass": "\u2705", "warn": "\u26a0\ufe0f", "fail": "\u274c", "error": "\U0001f6d1"}
    out = [
        f"## {icon.get(verdict.verdict.value, '')} Release gate: {verdict.verdict.value.upper()}",
        "",
        f"{_md_cell(verdict.headline())}",
        "",
    ]
    out.extend(f"> **Warning:** {_md_cell(w)}" for w in verdict.warnings)
    if verdict.coverage_unmapped:
        n = sum(int(u.get("count", 0)) for u in verdict.coverage_unmapped)
        out.append(
            f"> **Hint:** {n} covered files map to no file in the project, so path selections "
            "and diff coverage cannot see them: map them with `[tool.releasegate.coverage] "
            "paths` (or `source-roots`), see docs/coverage.md."
        )
    if verdict.warnings or verdict.coverage_unmapped:
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
    if verdict.runtime:
        out += ["### Runtime metrics", "", "| metric | source | samples |", "| --- | --- | --- |"]
        for name, where, text in runtime_lines(verdict):
            out.append(f"| `{name}` | {_md_cell(where)} | {_md_cell(text)} |")
        out.append("")
    if runs:
        out.extend(markdown_trends(verdict, runs))
    return "\n".join(out)


def markdown_trends(verdict: Verdict, runs: Sequence[Mapping[str, Any]]) -> list[str]:
    """`### Trends`: per rule metric a sparkline over the runs and the change since the last."""
    from ..trends import TREND_RUNS, change, sparkline, trends, unit_of

    data = verdict.to_json()
    charts = trends(data, runs, TREND_RUNS)
    if not charts:
        return []
    branch = verdict.context.get("git_branch")
    where = f"branch `{_md_cell(str(branch))}`" if branch else "no known branch"
    count = len(charts[0].points)
    out = [
        f"### Trends (last {count} run{'s' * (count > 1)}, {where}, profile {verdict.profile})",
        "",
        "| metric | trend | now | change |",
        "| --- | --- | ---: | ---: |",
    ]
    for t in charts:
        values = [p.value for p in t.points]
        now = values[-1] if values else None
        previous = values[-2] if len(values) > 1 else None
        shown = format_value(now, t.precision)
        delta = change(now, previous, unit_of(t.metric), t.precision) if len(values) > 1 else "new"
        out.append(f"| `{_md_cell(t.label)}` | {sparkline(values)} | {shown} | {delta} |")
    out.append("")
    return out
