"""Coverage reports from other tools as gate sources (``coverage:NAME``), alone or with coverage.py.

``--gate-input-coverage [NAME=]GLOB`` (``releasegate evaluate --input-coverage``)
reads every matching report (format detected from the content) into source
``coverage:NAME`` (``coverage:default`` without a NAME); coverage.py's own
data is source ``coverage.py``. Reports of one source merge file by file (a
line is covered if any report covers it). Every ``coverage.*`` metric works
over them: a rule with ``select.source`` judges that source alone; a rule
without judges every coverage source present together (coverage.py's data
only when the run has some or asked for it). File names are mapped to
project paths by :mod:`.covreport_paths`; files that map to nothing are
listed in the verdict (``coverage_unmapped``) and make a path-selected or
diff rule over them an ``error``, never a pass. A broken report makes only
the rules covering its source ``error``. See ``docs/coverage.md``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import hookimpl
from ..bounds import clip_id
from ..model import Measurement, Rule, Selection
from ..sections import CoverageConfig
from .coverage import DIFF_METRICS, WHOLE_METRICS
from .covreport import FileData, ReportError, merge_into, read_report

if TYPE_CHECKING:
    from ..engine import Gate
    from .coverage import CoverageState, Diff, Report

COVERAGE_PY = "coverage.py"
PREFIX = "coverage:"
DEFAULT_NAME = "default"
#: Where the verdict's ``coverage_unmapped`` entries are collected (``list[dict]``).
UNMAPPED_KEY = "coverage_unmapped"
_STATE_KEY = "polycov"
#: Unmapped file names listed per report in the verdict.
_UNMAPPED_LISTED = 20
# Whole-file branch totals of coverage.py data sit on this pseudo-line (no real line is 0).
_FILE_BRANCHES = 0


@dataclass
class SourceData:
    """One ``coverage:NAME`` source: its reports merged, by project path."""

    name: str
    files: dict[str, FileData] = field(default_factory=dict)
    origin: dict[str, str] = field(default_factory=dict)  # path → first report naming it
    reports: list[str] = field(default_factory=list)
    unmapped: dict[str, list[str]] = field(default_factory=dict)  # report → names
    problem: str | None = None


@dataclass
class PolyState:
    sources: dict[str, SourceData] = field(default_factory=dict)
    #: (source names, with coverage.py) → the combined per-file report, built once per run.
    reports: dict[tuple[tuple[str, ...], bool], Report] = field(default_factory=dict)


def input_specs(gate: Gate) -> list[str]:
    return list(getattr(gate.options, "input_coverage", None) or ())


def state_of(gate: Gate) -> PolyState:
    """Read every ``--gate-input-coverage`` report once per run."""
    state: PolyState | None = gate.data.get(_STATE_KEY)
    if state is None:
        state = gate.data[_STATE_KEY] = _collect(gate)
    return state


def _collect(gate: Gate) -> PolyState:
    from ..options import parse_input_spec
    from .covreport_paths import PathMapper
    from .junit import _display, expand_glob

    state = PolyState()
    config = gate.policy.coverage or CoverageConfig()
    mapper = PathMapper(gate.rootdir, config.paths, config.source_roots)
    patterns: dict[str, list[str]] = {}
    for spec in input_specs(gate):
        try:
            name, pattern = parse_input_spec(spec)
        except ValueError as exc:
            src = state.sources.setdefault(PREFIX + DEFAULT_NAME, SourceData(PREFIX + DEFAULT_NAME))
            src.problem = f"--input-coverage: {exc}"
            continue
        patterns.setdefault(PREFIX + name, []).append(pattern)
    root = gate.rootdir
    unmapped_out: list[dict[str, Any]] = gate.data.setdefault(UNMAPPED_KEY, [])
    for source, globs in patterns.items():
        src = state.sources.setdefault(source, SourceData(source))
        problems: list[str] = [src.problem] if src.problem else []
        seen: set[Path] = set()
        for pattern in globs:
            found = expand_glob(root, pattern)
            if not found:
                problems.append(f"no coverage report matches {pattern!r}")
            for path in found:
                if path in seen:
                    continue
                seen.add(path)
                label = _display(path, Path(root))
                try:
                    report = read_report(path, display=label)
                except ReportError as exc:
                    problems.append(str(exc))
                    gate.warnings.append(f"coverage report {exc}")
                    continue
                src.reports.append(label)
                here = str(path.parent)
                for fname, data in report.files.items():
                    rel, ok = mapper.map(report.kind, fname, report.sources, here)
                    if not ok:
                        src.unmapped.setdefault(label, []).append(clip_id(fname))
                    known = src.files.get(rel)
                    if known is None:
                        src.files[rel] = data
                        src.origin[rel] = label
                    else:
                        merge_into(known, data)
        for label, names in src.unmapped.items():
            names.sort()
            example = names[0]
            gate.warnings.append(
                f"coverage report {label} ({source}): {len(names)} of its files map to no file "
                f"in the project (e.g. {example!r}); path selections and diff coverage cannot "
                "see them: set [tool.releasegate.coverage] paths or source-roots"
            )
            unmapped_out.append(
                {
                    "source": source,
                    "report": label,
                    "count": len(names),
                    "paths": names[:_UNMAPPED_LISTED],
                }
            )
        if problems:
            src.problem = "; ".join(problems)
    return state


# -- which data a rule judges ---------------------------------------------------


@dataclass
class _Scope:
    sources: list[SourceData]
    coverage_py: bool
    problem: str | None = None


def _scope(gate: Gate, sel: Selection) -> _Scope:
    from .coverage import state_of as coverage_state

    state = state_of(gate)
    source = sel.source
    if source is not None:
        found = state.sources.get(source)
        if found is None:
            name = source[len(PREFIX) :]
            hint = f"is --gate-input-coverage / --input-coverage {name}=GLOB given?"
            return _Scope([], False, f"no coverage reports for source {source!r} ({hint})")
        return _Scope([found], False, found.problem)
    cov = coverage_state(gate)
    use_py = cov.explicit or cov.problem is None
    sources = list(state.sources.values())
    problems = [f"{s.name}: {s.problem}" for s in sources if s.problem]
    return _Scope(sources, use_py, "; ".join(problems) or None)


def _combined(scope: _Scope, py_files: Iterable[Any]) -> tuple[dict[str, FileData], bool]:
    """Files by path over the scope's sources (copies where several sources name one file)."""
    out: dict[str, FileData] = {}
    shared: set[str] = set()
    for fc in py_files:
        out[fc.path] = _from_coveragepy(fc)
    for src in scope.sources:
        for path, data in src.files.items():
            known = out.get(path)
            if known is None:
                out[path] = data
                continue
            if path not in shared:
                copy = FileData(known.name)
                merge_into(copy, known)
                if known.counters is not None:
                    copy.counters = known.counters
                out[path] = known = copy
                shared.add(path)
            merge_into(known, data)
    has_branches = any(f.branch_totals()[0] for f in out.values())
    return out, has_branches


def _from_coveragepy(fc: Any) -> FileData:
    data = FileData(fc.abspath)
    data.measured = set(fc.statements)
    data.covered = data.measured - set(fc.missing)
    n = fc.numbers
    if n.n_branches:
        data.branch_counts[_FILE_BRANCHES] = (n.n_branches - n.n_missing_branches, n.n_branches)
    return data


def _unmapped_in(scope: _Scope) -> str | None:
    parts = [
        f"{len(names)} files of {label} ({src.name}) map to no project file, e.g. {names[0]!r}"
        for src in scope.sources
        for label, names in src.unmapped.items()
    ]
    if not parts:
        return None
    return (
        "; ".join(parts) + ": a path selection or diff over them cannot be judged; "
        "set [tool.releasegate.coverage] paths or source-roots"
    )


# -- hooks -------------------------------------------------------------------------


@hookimpl
def releasegate_measure(gate: Gate, rule: Rule) -> Measurement | None:
    """Coverage rules when the run has reports from other tools (``select.source =
    "coverage.py"`` stays with :mod:`.coverage`)."""
    if rule.metric not in WHOLE_METRICS and rule.metric not in DIFF_METRICS:
        return None
    if rule.select.source == COVERAGE_PY or not input_specs(gate):
        return None
    return measure(gate, rule)


@hookimpl
def releasegate_metrics(gate: Gate) -> dict[str, float]:
    return whole_metrics(gate) if input_specs(gate) else {}


# -- measuring -------------------------------------------------------------------


def measure(gate: Gate, rule: Rule) -> Measurement:
    """A coverage rule over the report sources (and coverage.py's data where in scope)."""
    from .coverage import CoverageProblem, whole_report
    from .coverage import state_of as coverage_state

    other = sorted(k for k in rule.select.to_json() if k not in ("path", "source"))
    if other:
        return Measurement.absent(
            f"coverage metrics select source files by `path` only, not by {', '.join(other)}"
        )
    scope = _scope(gate, rule.select)
    if scope.problem is not None:
        return Measurement.absent(scope.problem)
    if rule.select.path is not None or rule.metric in DIFF_METRICS:
        unmapped = _unmapped_in(scope)
        if unmapped is not None:
            return Measurement.absent(unmapped)
    cov_state = coverage_state(gate)
    try:
        if rule.metric in DIFF_METRICS:
            return _measure_diff(gate, rule, scope, cov_state)
        py_files = whole_report(gate, cov_state).files if scope.coverage_py else []
    except CoverageProblem as exc:
        return Measurement.absent(str(exc))
    if not scope.sources and not py_files:
        return Measurement.absent("no coverage data: no coverage.py data and no coverage reports")
    key = (tuple(s.name for s in scope.sources), scope.coverage_py)
    report = state_of(gate).reports.get(key)
    if report is None:
        files, has_branches = _combined(scope, py_files)
        report = state_of(gate).reports[key] = _report(cov_state, files, has_branches)
    if not report.files:
        reports = ", ".join(r for s in scope.sources for r in s.reports)
        return Measurement.absent(f"the coverage reports ({reports}) name no source file")
    return _measure_whole(cov_state, rule, report, scope)


def _report(cov_state: CoverageState, files: dict[str, FileData], has_branches: bool) -> Report:
    """Per-file coverage.py ``Numbers`` for the combined files (what the reporting needs)."""
    from coverage.results import Numbers

    from .coverage import FileCoverage, Report

    p = cov_state.precision
    entries = []
    for path, data in files.items():
        lines, covered = data.line_totals()
        branches, taken = data.branch_totals()
        numbers = Numbers(
            precision=p,
            n_files=1,
            n_statements=lines,
            n_missing=lines - covered,
            n_branches=branches,
            n_missing_branches=branches - taken,
        )
        entries.append(FileCoverage(path, data.name, numbers, frozenset(), frozenset()))
    entries.sort(key=lambda f: f.path)
    return Report(files=entries, has_arcs=has_branches)


def _measure_whole(
    cov_state: CoverageState, rule: Rule, report: Report, scope: _Scope
) -> Measurement:
    from .coverage import BRANCH_PERCENT
    from .coverage import _measure_whole as measure_report

    if rule.metric == BRANCH_PERCENT and not report.has_arcs:
        names = ", ".join(s.name for s in scope.sources) or COVERAGE_PY
        return Measurement.absent(
            f"the coverage data ({names}) has no branch measurements: Go profiles have none, "
            "and other tools write them only when asked (see docs/coverage.md)"
        )
    return measure_report(cov_state, rule, report)


def _measure_diff(gate: Gate, rule: Rule, scope: _Scope, cov_state: CoverageState) -> Measurement:
    from ..select import path_matches
    from .coverage import DEFAULT_BASE, _any_measured, diff_coverage, measurement_of_diff

    base = rule.base or DEFAULT_BASE
    diff = _report_diff(gate, base, rule.select.path, scope)
    if scope.coverage_py:
        py = diff_coverage(gate, base, rule.select.path, cov_state)
        _merge_diffs(diff, py)
    elif not scope.sources:
        return Measurement.absent("no coverage data: no coverage.py data and no coverage reports")

    def any_measured(glob: str) -> bool:
        if any(path_matches(p, glob) for s in scope.sources for p in s.files):
            return True
        return scope.coverage_py and _any_measured(gate, cov_state, glob)

    return measurement_of_diff(rule, diff, cov_state.precision, any_measured)


def _report_diff(gate: Gate, base: str, path_glob: str | None, scope: _Scope) -> Diff:
    from ..select import path_matches
    from .coverage import CoverageProblem, Diff, changed_lines

    root = os.path.realpath(gate.rootdir)
    toplevel, merge_base, changed = changed_lines(root, base)
    wanted: dict[str, set[int]] = {}
    for name, lines in changed.items():
        abspath = os.path.realpath(os.path.join(toplevel, name))
        if not abspath.startswith(root + os.sep):
            continue
        rel = abspath[len(root) + 1 :].replace(os.sep, "/")
        if path_glob is None or path_matches(rel, path_glob):
            wanted[rel] = lines
    diff = Diff(
        base=base,
        merge_base=merge_base,
        changed_files=len(wanted),
        changed_lines=sum(len(v) for v in wanted.values()),
    )
    for src in scope.sources:
        for rel, lines in wanted.items():
            data = src.files.get(rel)
            if data is None:
                continue
            if not data.has_lines:
                raise CoverageProblem(
                    f"{src.origin.get(rel, src.name)} has no per-line data for {rel} "
                    "(only per-file counters, as gcovr's JaCoCo XML): diff coverage cannot be "
                    "judged from it; use a report with lines (Cobertura, LCOV, JaCoCo's own)"
                )
            executable = lines & data.measured
            if not executable:
                continue
            covered = executable & data.covered
            known = diff.files.get(rel)
            if known is not None:
                executable |= known[0]
                covered |= known[0] - known[1]
            diff.files[rel] = (executable, executable - covered)
    return diff


def _merge_diffs(target: Diff, other: Diff) -> None:
    for path, (executable, uncovered) in other.files.items():
        known = target.files.get(path)
        if known is None:
            target.files[path] = (set(executable), set(uncovered))
            continue
        ex = known[0] | executable
        covered = (known[0] - known[1]) | (executable - uncovered)
        target.files[path] = (ex, ex - covered)


def whole_metrics(gate: Gate) -> dict[str, float]:
    """The unselected whole-run values over every coverage source (for ``metrics``)."""
    out: dict[str, float] = {}
    for name in sorted(WHOLE_METRICS):
        m = measure(gate, Rule(name=name, metric=name))
        if m.value is not None:
            out[name] = m.value
    return out
