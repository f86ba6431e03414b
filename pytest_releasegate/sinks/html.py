"""The HTML report: one self-contained file, readable offline and in print.

:func:`render` turns a verdict (its JSON form) and, optionally, the runs of
its branch and profile into one HTML page: the verdict, the rules (actual vs
threshold and baseline, outcome, message), the failing and flaky tests, the
metrics, any evidence the verdict carries, and a trend chart per metric used
by a rule.

What the page promises:

* No external reference of any kind: no script (no JavaScript at all), no
  stylesheet, font or image from elsewhere; the only links are in-page
  (``#...``). A Content-Security-Policy meta tag forbids every fetch, so even
  a browser that found something to load would not load it.
* Every string from the verdict or history is escaped (``html.escape``).
* Charts are inline SVG with ``<title>`` and ``<desc>`` as their text
  alternative, and a data table beside each; colours follow the reader's
  light or dark scheme; print gets black on white.

Stdlib only; importing this module is cheap.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..model import format_value
from ..trends import Trend, trends

#: Top-level verdict keys this page renders in its own sections; any other key
#: holding an object or a list is shown as evidence, generically.
KNOWN_KEYS = frozenset(
    {
        "schema",
        "verdict",
        "profile",
        "policy",
        "warn_as",
        "rules",
        "metrics",
        "context",
        "warnings",
        "started_at",
        "finished_at",
        "tool_version",
        "failures",
        "failures_omitted",
        "flaky",
        "flaky_omitted",
        "history_error",
    }
)
_OUTCOME_WORD = {
    "pass": "pass",
    "warn": "WARN",
    "fail": "FAIL",
    "error": "ERROR",
    "waived": "waived",
    "skipped": "skipped",
}
_CONTEXT_LABELS = {
    "git_branch": "branch",
    "git_sha": "commit",
    "codebuild_build_id": "CodeBuild build",
    "codebuild_source_version": "source version",
    "codepipeline_pipeline": "pipeline",
    "codepipeline_execution_id": "pipeline execution",
    "codepipeline_job_id": "CodePipeline job",
}
# Chart geometry (SVG user units).
_W, _H = 720, 200
_LEFT, _RIGHT, _TOP, _BOTTOM = 56, 96, 14, 30

CSS = """
:root{color-scheme:light dark;--bg:#fff;--fg:#1f2328;--muted:#59636e;--border:#d1d9e0;
--panel:#f6f8fa;--line:#0969da;--grid:#e6eaef;--pass:#1a7f37;--warn:#9a6700;--fail:#cf222e;
--error:#8250df;--other:#59636e}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9198a1;
--border:#3d444d;--panel:#151b23;--line:#4493f8;--grid:#262c36;--pass:#3fb950;--warn:#d29922;
--fail:#f85149;--error:#ab7df8;--other:#9198a1}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);
font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif}
main{max-width:1100px;margin:0 auto;padding:20px}
h1{font-size:1.5rem;margin:0 0 4px}h2{font-size:1.15rem;margin:28px 0 8px;
border-bottom:1px solid var(--border);padding-bottom:4px}
h3{font-size:1rem;margin:18px 0 4px}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.9em}
.muted{color:var(--muted)}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-weight:600;
font-size:.85em;border:1px solid currentColor;white-space:nowrap}
.verdict{font-size:1.1rem;padding:3px 14px}
.o-pass{color:var(--pass)}.o-warn{color:var(--warn)}.o-fail{color:var(--fail)}
.o-error{color:var(--error)}.o-waived,.o-skipped{color:var(--other)}
.banner{border:2px solid var(--fail);color:var(--fail);padding:8px 12px;border-radius:6px;
margin:12px 0;font-weight:600}
.warnings{border-left:4px solid var(--warn);padding:4px 12px;margin:12px 0;background:var(--panel)}
dl.meta{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:12px 0}
dl.meta dt{color:var(--muted)}dl.meta dd{margin:0;overflow-wrap:anywhere}
table{border-collapse:collapse;width:100%;margin:6px 0}
th,td{border-bottom:1px solid var(--border);padding:5px 8px;text-align:left;vertical-align:top}
th{background:var(--panel);font-weight:600}td.num{text-align:right;
font-variant-numeric:tabular-nums;white-space:nowrap}
td.msg{overflow-wrap:anywhere}
tr.bad td:first-child{box-shadow:inset 3px 0 var(--fail)}
figure{margin:12px 0 20px;break-inside:avoid}
figcaption{font-weight:600;margin-bottom:4px}
svg.chart{width:100%;height:auto;max-width:900px;display:block;background:var(--panel);
border:1px solid var(--border);border-radius:6px}
svg .grid{stroke:var(--grid);stroke-width:1}
svg .axis{fill:var(--muted);font-size:11px}
svg .series{fill:none;stroke:var(--line);stroke-width:2}
svg .pt-pass{fill:var(--line)}svg .pt-warn{fill:var(--warn)}
svg .pt-bad{stroke:var(--fail);stroke-width:2.5;fill:none}
svg .th-fail{stroke:var(--fail);stroke-width:1.5;stroke-dasharray:6 4}
svg .th-warn{stroke:var(--warn);stroke-width:1.5;stroke-dasharray:2 3}
svg .th-label-fail{fill:var(--fail);font-size:11px}
svg .th-label-warn{fill:var(--warn);font-size:11px}
.legend{font-size:.85em;color:var(--muted)}
details{margin:4px 0}summary{cursor:pointer;color:var(--muted);font-size:.9em}
footer{margin-top:32px;font-size:.85em;color:var(--muted)}
@media print{:root{--bg:#fff;--fg:#000;--muted:#444;--border:#999;--panel:#fff;--grid:#ddd;
--line:#000;--pass:#000;--warn:#6b4e00;--fail:#b00;--error:#5a2ea6;--other:#444}
body{font-size:11pt}main{max-width:none;padding:0}summary{display:none}
details>table{display:table}h2{break-after:avoid}tr,figure{break-inside:avoid}}
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _outcome(outcome: Any) -> str:
    word = str(outcome)
    return f'<span class="badge o-{_e(word)}">{_e(_OUTCOME_WORD.get(word, word))}</span>'


def _number(value: Any, precision: int | None = None) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if isinstance(value, float) and not math.isfinite(value):
            return str(value)
        return format_value(value, precision)
    return "-" if value is None else str(value)


def _headline(verdict: Mapping[str, Any]) -> str:
    from ..model import Verdict

    try:
        return Verdict.from_json(verdict).headline()
    except (ValueError, KeyError, TypeError):
        return f"releasegate: {str(verdict.get('verdict', '?')).upper()}"


def render(
    verdict: Mapping[str, Any],
    runs: Sequence[Mapping[str, Any]] | None = None,
    *,
    title: str | None = None,
) -> str:
    """The report page for `verdict` (its JSON form), with trends over `runs` when given.

    `runs` are the history records of the verdict's branch and profile, oldest
    first, ending with this verdict (see
    :func:`pytest_releasegate.history.series_for`).
    """
    kind = str(verdict.get("verdict", "error"))
    profile = str(verdict.get("profile", ""))
    page_title = title or f"Release gate: {kind.upper()} ({profile})"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        # Nothing may be fetched, no script may run: the page is complete as it is.
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="referrer" content="no-referrer">',
        f"<title>{_e(page_title)}</title>",
        f"<style>{CSS}</style></head><body><main>",
        '<header><h1>Release gate <span class="badge verdict o-'
        f'{_e(kind)}">{_e(kind.upper())}</span></h1>',
        f'<p class="muted">{_e(_headline(verdict))}</p></header>',
    ]
    if verdict.get("history_error"):
        parts.append(
            '<p class="banner" role="alert">This run was NOT added to the history: '
            f"{_e(verdict['history_error'])}</p>"
        )
    warnings = [w for w in verdict.get("warnings") or () if w]
    if warnings:
        parts.append('<div class="warnings" role="note"><strong>Warnings</strong><ul>')
        parts.extend(f"<li>{_e(w)}</li>" for w in warnings)
        parts.append("</ul></div>")
    parts.append(_meta(verdict))
    parts.append(_rules(verdict))
    runs = list(runs or [])
    charts = trends(verdict, runs) if len(runs) >= 2 else []
    if charts:
        parts.append(_trends(charts, verdict, len(runs)))
    parts.append(_failures(verdict))
    parts.append(_metrics(verdict))
    parts.append(_evidence(verdict))
    parts.append(
        f"<footer>pytest-releasegate {_e(verdict.get('tool_version', ''))} \u00b7 "
        f"{_e(verdict.get('finished_at', ''))}</footer>"
    )
    parts.append("</main></body></html>\n")
    return "\n".join(p for p in parts if p)


def _meta(verdict: Mapping[str, Any]) -> str:
    rows: list[tuple[str, Any]] = [
        ("profile", verdict.get("profile")),
        ("policy", verdict.get("policy")),
        ("started", verdict.get("started_at")),
        ("finished", verdict.get("finished_at")),
    ]
    context = verdict.get("context") if isinstance(verdict.get("context"), Mapping) else {}
    assert isinstance(context, Mapping)
    for key, value in context.items():
        if isinstance(value, (str, int, float)) and value != "":
            rows.append((_CONTEXT_LABELS.get(str(key), str(key)), value))
    items = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in rows if v not in (None, ""))
    return f'<dl class="meta">{items}</dl>'


def _threshold(threshold: Any) -> str:
    if not isinstance(threshold, Mapping) or not threshold:
        return "-"
    return ", ".join(f"{k} {_number(v)}" for k, v in threshold.items())


def _rules(verdict: Mapping[str, Any]) -> str:
    rules = [r for r in verdict.get("rules") or () if isinstance(r, Mapping)]
    out = [
        f'<h2 id="rules">Rules ({len(rules)})</h2>',
        "<table><thead><tr><th>rule</th><th>metric</th><th>actual</th><th>threshold</th>"
        "<th>baseline</th><th>outcome</th><th>message</th></tr></thead><tbody>",
    ]
    for index, rule in enumerate(rules):
        precision = rule.get("precision") if isinstance(rule.get("precision"), int) else None
        select = rule.get("select") or {}
        sel = (
            f'<br><span class="muted">{_e(", ".join(f"{k}={v}" for k, v in select.items()))}</span>'
            if isinstance(select, Mapping) and select
            else ""
        )
        level = rule.get("level", "fail")
        name = _e(rule.get("name", ""))
        if level and level != "fail":
            name += f' <span class="muted">({_e(level)})</span>'
        outcome = str(rule.get("outcome", ""))
        bad = ' class="bad"' if outcome in ("fail", "error") else ""
        waiver = rule.get("waiver")
        message = _e(rule.get("message", ""))
        if isinstance(waiver, Mapping):
            message += (
                f'<br><span class="muted">waiver until {_e(waiver.get("expires", ""))}: '
                f"{_e(waiver.get('reason', ''))}</span>"
            )
        out.append(
            f'<tr id="rule-{index}"{bad}><td>{name}</td><td><code>{_e(rule.get("metric", ""))}'
            f"</code>{sel}</td>"
            f'<td class="num">{_e(_number(rule.get("actual"), precision))}</td>'
            f"<td>{_e(_threshold(rule.get('threshold')))}</td>"
            f'<td class="num">{_e(_number(rule.get("baseline"), precision))}</td>'
            f'<td>{_outcome(outcome)}</td><td class="msg">{message}</td></tr>'
        )
    out.append("</tbody></table>")
    return "\n".join(out)


def _trends(charts: list[Trend], verdict: Mapping[str, Any], runs: int) -> str:
    context = verdict.get("context") if isinstance(verdict.get("context"), Mapping) else {}
    branch = context.get("git_branch") if isinstance(context, Mapping) else None
    where = f"branch {branch}" if branch else "runs with no known branch"
    shown = min(runs, len(charts[0].points)) if charts else 0
    of = f"of branch {branch}" if branch else "with no known branch"
    out = [
        '<h2 id="trends">Trends</h2>',
        f'<p class="muted">The last {shown} runs {_e(of)}, profile '
        f"{_e(verdict.get('profile', ''))}; the rightmost point is this run. "
        "Dashed lines are thresholds; a cross marks a run whose verdict was fail or error.</p>",
    ]
    for index, trend in enumerate(charts):
        out.append(_chart(trend, index, where, str(verdict.get("profile", ""))))
    return "\n".join(out)


def _scale(values: Iterable[float]) -> tuple[float, float]:
    values = list(values)
    lo, hi = min(values), max(values)
    if hi == lo:
        pad = abs(hi) * 0.05 or 1.0
        return lo - pad, hi + pad
    pad = (hi - lo) * 0.08
    return lo - pad, hi + pad


def _ticks(lo: float, hi: float, count: int = 4) -> list[tuple[float, str]]:
    """Round grid values (steps of 1, 2, 2.5 or 5 times a power of ten) between lo and hi."""
    raw = (hi - lo) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    decimals = max(0, -math.floor(math.log10(step) + 1e-9)) + (1 if step / magnitude == 2.5 else 0)
    out = []
    v = math.ceil(lo / step) * step
    while v <= hi + step * 1e-9:
        out.append((v, f"{v:.{decimals}f}"))
        v += step
    return out


def _chart(trend: Trend, index: int, where: str, profile: str) -> str:
    points = trend.points
    p = trend.precision
    thresholds = trend.thresholds()
    values = trend.values
    title_id, desc_id = f"chart-{index}-title", f"chart-{index}-desc"
    title = f"Trend of {trend.label} over the last {len(points)} runs"
    failing = [(i, pt) for i, pt in enumerate(points, 1) if pt.verdict in ("fail", "error")]
    desc = [f"{where}, profile {profile}."]
    if values:
        first = next(pt for pt in points if pt.value is not None)
        desc.append(
            f"Oldest value {_number(first.value, p)} ({first.time}), this run "
            f"{_number(points[-1].value, p)}; lowest {_number(min(values), p)}, "
            f"highest {_number(max(values), p)}."
        )
    else:
        desc.append("No run has a value for this metric.")
    if thresholds:
        desc.append("Thresholds: " + ", ".join(f"{k} {_number(v)}" for k, v, _ in thresholds) + ".")
    if failing:
        desc.append(
            f"{len(failing)} failing run{'s' * (len(failing) > 1)}: "
            + ", ".join(f"#{i} ({pt.time})" for i, pt in failing[:10])
            + (" and more" if len(failing) > 10 else "")
            + "."
        )
    else:
        desc.append("No failing run.")

    x0, x1 = _LEFT, _W - _RIGHT
    y0, y1 = _TOP, _H - _BOTTOM
    lo, hi = _scale([*values, *(v for _, v, _ in thresholds)] or [0.0])

    def x(i: int) -> float:
        return x0 + (x1 - x0) * (i / (len(points) - 1) if len(points) > 1 else 0.5)

    def y(v: float) -> float:
        return y1 - (y1 - y0) * (v - lo) / (hi - lo)

    svg = [
        f'<svg class="chart" viewBox="0 0 {_W} {_H}" role="img" '
        f'aria-labelledby="{title_id} {desc_id}">',
        f'<title id="{title_id}">{_e(title)}</title>',
        f'<desc id="{desc_id}">{_e(" ".join(desc))}</desc>',
    ]
    for v, label in _ticks(lo, hi):
        yy = y(v)
        svg.append(f'<line class="grid" x1="{x0}" x2="{x1}" y1="{yy:.1f}" y2="{yy:.1f}"/>')
        svg.append(
            f'<text class="axis" x="{x0 - 6}" y="{yy + 4:.1f}" text-anchor="end">{label}</text>'
        )
    if points:
        svg.append(
            f'<text class="axis" x="{x0}" y="{_H - 8}">{_e(points[0].time[:16])}</text>'
            f'<text class="axis" x="{x1}" y="{_H - 8}" text-anchor="end">this run</text>'
        )
    for key, value, blocking in thresholds:
        kind = "fail" if blocking else "warn"
        yy = y(value)
        svg.append(
            f'<line class="th-{kind}" x1="{x0}" x2="{x1}" y1="{yy:.1f}" y2="{yy:.1f}">'
            f"<title>{_e(key)} {_e(_number(value))}</title></line>"
            f'<text class="th-label-{kind}" x="{x1 + 6}" y="{yy + 4:.1f}">'
            f"{_e(key)} {_e(_number(value))}</text>"
        )
    segment: list[str] = []
    segments: list[list[str]] = []
    for i, pt in enumerate(points):
        if pt.value is None:
            if segment:
                segments.append(segment)
            segment = []
            continue
        segment.append(f"{x(i):.1f},{y(pt.value):.1f}")
    if segment:
        segments.append(segment)
    for seg in segments:
        if len(seg) > 1:
            svg.append(f'<polyline class="series" points="{" ".join(seg)}"/>')
    for i, pt in enumerate(points):
        if pt.value is None:
            continue
        cx, cy = x(i), y(pt.value)
        tip = (
            f"run {i + 1} \u00b7 {pt.time} \u00b7 {_number(pt.value, p)} \u00b7 verdict "
            f"{pt.verdict}" + (f" \u00b7 rule {pt.outcome}" if pt.outcome else "")
        )
        if pt.verdict in ("fail", "error"):
            d = 5
            svg.append(
                f'<path class="pt-bad" d="M{cx - d:.1f},{cy - d:.1f}L{cx + d:.1f},{cy + d:.1f}'
                f'M{cx - d:.1f},{cy + d:.1f}L{cx + d:.1f},{cy - d:.1f}"><title>{_e(tip)}</title>'
                "</path>"
            )
        elif pt.verdict == "warn":
            d = 5
            svg.append(
                f'<path class="pt-warn" d="M{cx:.1f},{cy - d:.1f}L{cx + d:.1f},{cy:.1f}'
                f'L{cx:.1f},{cy + d:.1f}L{cx - d:.1f},{cy:.1f}Z"><title>{_e(tip)}</title></path>'
            )
        else:
            svg.append(
                f'<circle class="pt-pass" cx="{cx:.1f}" cy="{cy:.1f}" r="3.5">'
                f"<title>{_e(tip)}</title></circle>"
            )
    svg.append("</svg>")

    rows = "".join(
        f"<tr><td>{i}</td><td>{_e(pt.time)}</td><td><code>{_e((pt.sha or '')[:12])}</code></td>"
        f'<td class="num">{_e(_number(pt.value, p))}</td><td>{_outcome(pt.verdict)}</td></tr>'
        for i, pt in enumerate(points, 1)
    )
    rules = ", ".join(str(r.get("name", "")) for r in trend.rules)
    return (
        f'<figure id="trend-{index}"><figcaption><code>{_e(trend.label)}</code> '
        f'<span class="muted">(rule{"s" * (len(trend.rules) > 1)}: {_e(rules)})</span>'
        f"</figcaption>{''.join(svg)}"
        f"<details><summary>Data of this chart</summary><table><thead><tr><th>run</th>"
        f"<th>time</th><th>commit</th><th>value</th><th>verdict</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></details></figure>"
    )


def _failures(verdict: Mapping[str, Any]) -> str:
    failures = [f for f in verdict.get("failures") or () if isinstance(f, Mapping)]
    omitted = verdict.get("failures_omitted") or 0
    flaky = [f for f in verdict.get("flaky") or () if isinstance(f, Mapping)]
    flaky_omitted = verdict.get("flaky_omitted") or 0
    out = []
    if failures or omitted:
        out.append(f'<h2 id="failures">Failing tests ({len(failures) + int(omitted)})</h2>')
        out.append(
            "<table><thead><tr><th>test</th><th>source</th><th>outcome</th><th>message</th>"
            "</tr></thead><tbody>"
        )
        for f in failures:
            note = ' <span class="muted">(quarantined)</span>' if f.get("quarantined") else ""
            out.append(
                f'<tr><td class="mono msg">{_e(f.get("nodeid", ""))}{note}</td>'
                f"<td>{_e(f.get('source', ''))}</td><td>{_outcome(_test_outcome(f))}</td>"
                f'<td class="msg">{_e(f.get("message") or "")}</td></tr>'
            )
        out.append("</tbody></table>")
        if omitted:
            out.append(f'<p class="muted">and {_e(omitted)} more not listed</p>')
    if flaky or flaky_omitted:
        out.append(f'<h2 id="flaky">Flaky tests ({len(flaky) + int(flaky_omitted)})</h2>')
        out.append('<p class="muted">Failed, then passed on a rerun.</p><ul>')
        out.extend(
            f'<li><span class="mono">{_e(f.get("nodeid", ""))}</span> '
            f'<span class="muted">({_e(f.get("source", ""))})</span></li>'
            for f in flaky
        )
        out.append("</ul>")
        if flaky_omitted:
            out.append(f'<p class="muted">and {_e(flaky_omitted)} more not listed</p>')
    return "\n".join(out)


def _test_outcome(failure: Mapping[str, Any]) -> str:
    return "error" if failure.get("outcome") == "error" else "fail"


def _metrics(verdict: Mapping[str, Any]) -> str:
    metrics = verdict.get("metrics")
    if not isinstance(metrics, Mapping) or not metrics:
        return ""
    rows = "".join(
        f'<tr><td><code>{_e(k)}</code></td><td class="num">{_e(_number(v))}</td></tr>'
        for k, v in metrics.items()
    )
    return (
        f'<h2 id="metrics">Metrics ({len(metrics)})</h2><details open><summary>All metrics of '
        "this run</summary><table><thead><tr><th>metric</th><th>value</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></details>"
    )


def _evidence(verdict: Mapping[str, Any]) -> str:
    """Whatever else the verdict carries (smoke checks, runtime metrics, ...), generically."""
    out = []
    for key, value in verdict.items():
        if key in KNOWN_KEYS or not isinstance(value, (Mapping, list)) or not value:
            continue
        out.append(f"<h2>Evidence: {_e(key)}</h2>")
        if isinstance(value, Mapping):
            for name, item in value.items():
                out.append(f"<h3><code>{_e(name)}</code></h3>")
                out.append(_value(item))
        else:
            out.append(_value(value))
    return "\n".join(out)


def _value(value: Any, depth: int = 0) -> str:
    """A JSON value as HTML: objects as definition lists, lists of objects as tables."""
    if depth > 4:
        return f"<code>{_e(value)}</code>"
    if isinstance(value, Mapping):
        items = "".join(
            f"<dt>{_e(k)}</dt><dd>{_value(v, depth + 1)}</dd>" for k, v in value.items()
        )
        return f'<dl class="meta">{items}</dl>'
    if isinstance(value, list):
        if value and all(isinstance(v, Mapping) for v in value):
            columns: list[str] = []
            for row in value:
                columns.extend(str(k) for k in row if str(k) not in columns)
            head = "".join(f"<th>{_e(c)}</th>" for c in columns)
            body = "".join(
                "<tr>" + "".join(f"<td>{_scalar(row.get(c))}</td>" for c in columns) + "</tr>"
                for row in value[:1000]
            )
            more = f'<p class="muted">and {len(value) - 1000} more</p>' if len(value) > 1000 else ""
            return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}"
        return ", ".join(_scalar(v) for v in value) or "-"
    return _scalar(value)


def _scalar(value: Any) -> str:
    if isinstance(value, (Mapping, list)):
        import json

        return f"<code>{_e(json.dumps(value, default=str))}</code>"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _e(_number(value))
    return _e("-" if value is None else value)
