"""The `coverage.*` metrics, computed through coverage.py's own reporting API.

Totals, line and branch percents, per-path and per-file floors come from one
analysis of the data file per gate run, done the way `coverage report` and
`coverage json` do it (same files, same include/omit, same `[paths]`
remapping, same `Numbers`), so every value equals coverage.py's for the same
data and selection. Diff coverage (`coverage.diff_*`) asks git which lines
changed since the merge-base with the rule's `base` and analyses only the
changed files. See ``docs/coverage.md``.

Which data file: ``--gate-coverage PATH``, else the one pytest-cov wrote in
this session (the pytest adapter puts pytest-cov's plugin object in
``gate.data["pytest_cov_plugin"]``), else coverage.py's configured data file
(``.coverage``, ``[run] data_file`` or ``$COVERAGE_FILE``) in the project root.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import re
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import catalogue, hookimpl
from ..model import Measurement, MetricInfo, Rule

if TYPE_CHECKING:
    import subprocess

    from coverage import Coverage
    from coverage.results import Numbers

    from ..engine import Gate

PERCENT = "coverage.percent"
LINE_PERCENT = "coverage.line_percent"
BRANCH_PERCENT = "coverage.branch_percent"
MIN_FILE_LINE_PERCENT = "coverage.min_file_line_percent"
MISSING_LINES = "coverage.missing_lines"
DIFF_PERCENT = "coverage.diff_percent"
DIFF_UNCOVERED_LINES = "coverage.diff_uncovered_lines"

METRICS = catalogue.COVERAGE
WHOLE_METRICS = frozenset(
    {PERCENT, LINE_PERCENT, BRANCH_PERCENT, MIN_FILE_LINE_PERCENT, MISSING_LINES}
)
DIFF_METRICS = frozenset({DIFF_PERCENT, DIFF_UNCOVERED_LINES})

#: The base of diff coverage when a rule sets none (diff-cover's default compare branch).
DEFAULT_BASE = "origin/main"
#: How many uncovered ranges or below-floor files a message names before "and N more".
_MESSAGE_ITEMS = 5
_GIT_TIMEOUT = 60.0
_STATE_KEY = "coverage"
#: The coverage.py versions whose internals :func:`internal` reaches (pyproject's
#: dependency range; CI runs the coverage tests on the oldest and the newest).
SUPPORTED_COVERAGE = ">=7.12,<8"


def internal(obj: Any, name: str, *default: Any) -> Any:
    """The one door to what coverage.py and pytest-cov do not publish.

    Public API is used wherever one exists (``Coverage.load``, ``get_data``,
    ``coverage.results``, ``report_core.get_analysis_to_report``); what has
    none goes through here: ``Coverage._prepare_data_for_reporting`` (the
    ``[paths]`` remapping every report does first), ``Coverage._file_mapper``,
    ``Coverage._get_file_reporters``, ``Coverage._data_to_close``,
    ``coverage.files.RELATIVE_DIR`` / ``CANONICAL_FILENAME_CACHE``, and
    pytest-cov's ``_disabled`` and ``cov_controller.topdir``. A coverage.py
    outside :data:`SUPPORTED_COVERAGE` that lacks one is a clear error, not an
    AttributeError deep in a measurement. ``default`` (optional) is returned
    instead when the attribute may legitimately be absent.
    """
    try:
        return getattr(obj, name)
    except AttributeError:
        if default:
            return default[0]
        import coverage

        raise CoverageProblem(
            f"coverage.py {coverage.__version__} has no {type(obj).__name__}.{name}, which "
            f"the gate needs: install coverage{SUPPORTED_COVERAGE}"
        ) from None


class CoverageProblem(Exception):
    """Coverage data could not be had; the message says why and what to do."""


@dataclass(frozen=True)
class FileCoverage:
    """One reported source file: coverage.py's numbers and line sets for it."""

    path: str  # relative to the project root, `/`-separated; absolute when outside it
    abspath: str  # coverage.py's canonical file name
    numbers: Numbers
    statements: frozenset[int] | set[int]
    missing: frozenset[int] | set[int]


@dataclass
class Report:
    """The whole-run analysis: every file coverage.py would report on."""

    files: list[FileCoverage]
    has_arcs: bool


@dataclass
class Diff:
    """Diff coverage against one base."""

    base: str
    merge_base: str
    changed_files: int  # files with added/changed lines (after the selection)
    changed_lines: int
    #: path → (executable changed lines, uncovered ones), for files coverage.py reports on
    files: dict[str, tuple[set[int], set[int]]] = field(default_factory=dict)


@dataclass
class CoverageState:
    """One gate run's coverage source state, kept on ``gate.data["coverage"]``."""

    data_file: Path | None
    origin: str  # where the data file name came from, for messages
    explicit: bool  # the run asked for coverage (--gate-coverage or pytest-cov)
    config_file: str | bool = True
    precision_override: int | None = None
    precision: int = 0
    problem: str | None = None
    report: Report | CoverageProblem | None = None
    diffs: dict[tuple[str, str | None], Diff | CoverageProblem] = field(default_factory=dict)


# -- hooks ---------------------------------------------------------------------


@hookimpl
def releasegate_add_metrics() -> list[MetricInfo]:
    return list(METRICS)


@hookimpl
def releasegate_measure(gate: Gate, rule: Rule) -> Measurement | None:
    if rule.metric not in WHOLE_METRICS and rule.metric not in DIFF_METRICS:
        return None
    source = rule.select.source
    if source == "coverage.py":
        return measure_coveragepy(gate, rule._replace(select=rule.select._replace(source=None)))
    if gate.options.input_coverage:
        return None  # other tools' reports in the run: sources.polycov answers
    if source is not None:
        hint = f"is --gate-input-coverage / --input-coverage {source.partition(':')[2]}=GLOB given?"
        return Measurement.absent(f"no coverage reports for source {source!r} ({hint})")
    return measure_coveragepy(gate, rule)


def measure_coveragepy(gate: Gate, rule: Rule) -> Measurement:
    """A coverage rule over coverage.py's data alone (source ``coverage.py``)."""
    other = sorted(k for k in rule.select.to_json() if k != "path")
    if other:
        # A test selection (marker, nodeid, ...) cannot narrow coverage data:
        # answering with the whole run's value would mislead.
        return Measurement.absent(
            f"coverage metrics select source files by `path` only, not by {', '.join(other)}"
        )
    state = state_of(gate)
    try:
        if rule.metric in DIFF_METRICS:
            return _measure_diff(gate, state, rule)
        return _measure_whole(state, rule, whole_report(gate, state))
    except CoverageProblem as exc:
        return Measurement.absent(str(exc))


@hookimpl
def releasegate_metrics(gate: Gate) -> dict[str, float]:
    """Whole-run coverage values, when this run measured coverage or a rule needs them.

    A policy whose only coverage rules are diff rules does not pay for a
    whole-project analysis here (diff coverage stays proportional to the
    change); its unselected diff values are reported instead.
    """
    metrics = {r.metric for r in gate.rules}
    asked = (
        gate.options.coverage
        or gate.options.input_coverage
        or pytest_cov_facts(gate.data.get("pytest_cov_plugin"))
    )
    if not asked and not metrics & (WHOLE_METRICS | DIFF_METRICS):
        return {}  # no coverage in this run: not even an import of coverage.py
    if gate.options.input_coverage:
        return {}  # sources.polycov reports the values over every coverage source
    state = state_of(gate)
    out: dict[str, float] = {}
    wants_whole = bool(metrics & WHOLE_METRICS) or (state.explicit and not metrics & DIFF_METRICS)
    if wants_whole and state.problem is None:
        try:
            report = whole_report(gate, state)
        except CoverageProblem:
            report = None
        if report is not None:
            for name in sorted(WHOLE_METRICS):
                m = _measure_whole(state, Rule(name=name, metric=name), report)
                if m.value is not None:
                    out[name] = m.value
    for rule in gate.rules:
        if rule.metric in DIFF_METRICS and rule.select.is_empty:
            found = state.diffs.get((rule.base or DEFAULT_BASE, None))
            if isinstance(found, Diff):
                executable, uncovered = _diff_counts(found)
                out[DIFF_UNCOVERED_LINES] = uncovered
                if executable:
                    out[DIFF_PERCENT] = 100.0 * (executable - uncovered) / executable
            break
    return out


# -- locating the data ---------------------------------------------------------


def state_of(gate: Gate) -> CoverageState:
    """The run's coverage state: which data file and configuration, found once."""
    state: CoverageState | None = gate.data.get(_STATE_KEY)
    if state is None:
        state = _locate(gate)
        gate.data[_STATE_KEY] = state
    return state


def pytest_cov_facts(plugin: Any) -> dict[str, Any]:
    """What pytest-cov used in this session: data file, config file and precision.

    ``plugin`` is ``config.pluginmanager.getplugin("_cov")`` (pytest-cov 4 to
    7), read after pytest-cov combined its data (``pytest_sessionfinish`` or
    later). Returns ``{}`` when pytest-cov was disabled or measured nothing.
    """
    if plugin is None or internal(plugin, "_disabled", False):
        return {}
    controller = getattr(plugin, "cov_controller", None)
    cov = getattr(controller, "cov", None)
    if cov is None:
        return {}
    facts: dict[str, Any] = {}
    data_file = getattr(getattr(cov, "config", None), "data_file", None)
    if isinstance(data_file, str):
        topdir = internal(controller, "topdir", None) or os.getcwd()
        facts["data_file"] = os.path.join(topdir, data_file)
    config = getattr(controller, "cov_config", None)
    if isinstance(config, str) and config not in ("", ".coveragerc"):
        topdir = internal(controller, "topdir", None) or os.getcwd()
        facts["config_file"] = os.path.join(topdir, config)
    elif isinstance(config, bool):
        facts["config_file"] = config
    precision = getattr(getattr(plugin, "options", None), "cov_precision", None)
    if isinstance(precision, int):
        facts["precision"] = precision
    return facts


def _locate(gate: Gate) -> CoverageState:
    facts = pytest_cov_facts(gate.data.get("pytest_cov_plugin"))
    config_file: str | bool = facts.get("config_file", True)
    if gate.options.coverage:
        path = Path(gate.options.coverage)
        if not path.is_absolute():
            path = gate.rootdir / path
        state = CoverageState(path, "--gate-coverage", explicit=True, config_file=config_file)
    elif "data_file" in facts:
        state = CoverageState(
            Path(facts["data_file"]), "pytest-cov", explicit=True, config_file=config_file
        )
    else:
        state = CoverageState(None, "coverage.py's configuration", explicit=False)
    state.precision_override = facts.get("precision")
    try:
        with _coverage_env(gate):
            cov = _new_coverage(state)
            state.precision = _precision(state, cov)
            if state.data_file is None:
                state.data_file = Path(os.path.abspath(cov.config.data_file))
    except CoverageProblem as exc:
        state.problem = str(exc)
        return state
    kind = _not_regular(state.data_file)
    if kind is not None:
        # Never opened: a FIFO would block coverage.py's sqlite forever.
        state.problem = (
            f"no coverage data: {state.data_file} is {kind}, not a coverage data file "
            f"(from {state.origin})"
        )
    elif not state.data_file.is_file():
        state.problem = _no_data_message(state, pytest_run=gate.pytest_run)
    elif not state.explicit and gate.pytest_run:
        _warn_if_stale(gate, state.data_file)
    return state


def _under_coverage_run() -> bool:
    """Whether this process is measured by a Coverage object of its own (`coverage run`)."""
    import coverage

    return coverage.Coverage.current() is not None


def _not_regular(path: Path) -> str | None:
    """'a directory', 'a FIFO (named pipe)', ... for a path that exists but is no file."""
    import stat

    from ..bounds import file_kind

    try:
        mode = path.stat().st_mode
    except OSError:
        return None
    return None if stat.S_ISREG(mode) else file_kind(mode)


def _no_data_message(state: CoverageState, *, pytest_run: bool) -> str:
    assert state.data_file is not None
    where = state.data_file
    if not pytest_run:
        hint = "run the tests under coverage first (coverage run -m pytest, or pytest --cov=PKG)"
    elif _under_coverage_run():
        # `coverage run -m pytest --gate`: the data is saved when the process exits,
        # after the gate; nothing inside this run can see it.
        hint = (
            "this pytest runs under `coverage run`, which writes its data only when pytest "
            "exits: use pytest-cov (pytest --cov=PKG --gate), or run `releasegate evaluate` "
            "after `coverage run -m pytest`"
        )
    else:
        hint = "run the tests under coverage with pytest-cov (pytest --cov=PKG --gate)"
    if state.origin == "--gate-coverage":
        hint = "check --gate-coverage / --coverage"
    parallel = sorted(where.parent.glob(where.name + ".*"))
    if parallel:
        hint = (
            f"found {len(parallel)} parallel data files ({parallel[0].name}, ...): "
            "run `coverage combine` first"
        )
    return f"no coverage data: {where} does not exist (from {state.origin}); {hint}"


def _warn_if_stale(gate: Gate, path: Path) -> None:
    import datetime as _dt

    try:
        started = _dt.datetime.fromisoformat(gate.started_at).timestamp()
        mtime = path.stat().st_mtime
    except (OSError, ValueError):
        return
    if mtime < started - 1:
        gate.warnings.append(
            f"coverage data {path} predates this run (pytest-cov did not write it): "
            "the coverage rules judge an earlier run"
        )


# -- coverage.py ---------------------------------------------------------------


@contextlib.contextmanager
def _coverage_env(gate: Gate) -> Iterator[None]:
    """Run coverage.py as if started in the project root, its warnings collected.

    coverage.py resolves its configuration file, relative `source`/`omit`
    patterns, `[paths]` and report file names against the current directory,
    so analysis happens there (the way pytest-cov's ``ensure_topdir`` does it).
    Changing directory is process-wide: don't evaluate two gates with
    different roots on two threads at once.
    """
    import coverage.files

    root = os.path.realpath(gate.rootdir)
    here = os.getcwd()
    moved = os.path.realpath(here) != root
    files = coverage.files
    saved = (internal(files, "RELATIVE_DIR"), internal(files, "CANONICAL_FILENAME_CACHE"))
    with warnings.catch_warnings(record=True) as records:
        warnings.simplefilter("always")
        if moved:
            os.chdir(root)
        try:
            yield
        finally:
            if moved:
                os.chdir(here)
                files.RELATIVE_DIR, files.CANONICAL_FILENAME_CACHE = saved
    for rec in records:
        text = f"coverage: {rec.message}"
        if text not in gate.warnings:
            gate.warnings.append(text)


def _new_coverage(state: CoverageState) -> Coverage:
    import coverage
    from coverage.exceptions import CoverageException

    try:
        return coverage.Coverage(
            data_file=str(state.data_file) if state.data_file is not None else None,
            config_file=state.config_file,
        )
    except CoverageException as exc:
        raise CoverageProblem(f"coverage configuration: {exc}") from None


def _precision(state: CoverageState, cov: Coverage) -> int:
    if state.precision_override is not None:
        return state.precision_override
    return int(cov.config.precision)


@contextlib.contextmanager
def _loaded(gate: Gate, state: CoverageState) -> Iterator[Coverage]:
    """A Coverage object with the data loaded and remapped, closed afterwards."""
    from coverage.exceptions import CoverageException

    if state.problem is not None:
        raise CoverageProblem(state.problem)
    with _coverage_env(gate):
        cov = _new_coverage(state)
        try:
            try:
                cov.load()
                # What Coverage.report() does first: apply `[paths]` remapping.
                internal(cov, "_prepare_data_for_reporting")()
                cov.get_data().set_query_contexts(cov.config.report_contexts)
            except CoverageException as exc:
                raise CoverageProblem(f"coverage data {state.data_file}: {exc}") from None
            # One database connection for the whole analysis instead of one per
            # query, as coverage.py's HTML report does (coverage >= 7.10).
            keep_open = getattr(cov.get_data(), "keep_db_open", contextlib.nullcontext)
            with keep_open():
                yield cov
        finally:
            for data in internal(cov, "_data_to_close", ()):
                data.close(force=True)


def _analyses(cov: Coverage, morfs: Sequence[str] | None) -> Iterator[tuple[Any, Any]]:
    """(FileReporter, Analysis) pairs exactly as coverage.py's reporters get them."""
    from coverage.report_core import get_analysis_to_report

    return iter(get_analysis_to_report(cov, morfs))


def whole_report(gate: Gate, state: CoverageState | None = None) -> Report:
    """Analyse every reported file once per run (cached); raises CoverageProblem."""
    from coverage.exceptions import CoverageException, NoDataError

    state = state or state_of(gate)
    if isinstance(state.report, Report):
        return state.report
    if isinstance(state.report, CoverageProblem):
        raise state.report
    root = os.path.realpath(gate.rootdir)
    try:
        with _loaded(gate, state) as cov:
            has_arcs = cov.get_data().has_arcs()
            try:
                files = [_file(root, fr.filename, a) for fr, a in _analyses(cov, None)]
            except NoDataError:
                files = []
            except CoverageException as exc:
                raise CoverageProblem(f"coverage report on {state.data_file}: {exc}") from None
    except CoverageProblem as exc:
        state.report = exc
        raise
    if not files:
        state.report = CoverageProblem(
            f"coverage data {state.data_file} has no measured files to report on "
            "(nothing was measured, or include/omit leaves nothing)"
        )
        raise state.report
    state.report = Report(files=files, has_arcs=has_arcs)
    return state.report


def _file(root: str, filename: str, analysis: Any) -> FileCoverage:
    return FileCoverage(
        path=_relative(root, filename),
        abspath=filename,
        numbers=analysis.numbers,
        statements=analysis.statements,
        missing=analysis.missing,
    )


def _relative(root: str, filename: str) -> str:
    if filename.startswith(root + os.sep):
        filename = filename[len(root) + 1 :]
    return filename.replace(os.sep, "/")


# -- whole-run metrics ---------------------------------------------------------


def _selected(files: Iterable[FileCoverage], rule: Rule) -> list[FileCoverage]:
    from ..select import path_matches

    pattern = rule.select.path
    if pattern is None:
        return list(files)
    return [f for f in files if path_matches(f.path, pattern)]


def _measure_whole(state: CoverageState, rule: Rule, report: Report) -> Measurement:
    from coverage.results import Numbers, display_covered

    p = state.precision
    files = _selected(report.files, rule)
    if not files:
        sample = ", ".join(f.path for f in report.files[:3])
        return Measurement.absent(
            f"no measured source file matches path={rule.select.path!r} "
            f"({len(report.files)} files measured, e.g. {sample})"
        )
    total = sum((f.numbers for f in files), Numbers(precision=p))
    where = _plural(len(files), "file")
    lines = f"{total.n_executed} of {total.n_statements} statements"
    branches = f"{total.n_executed_branches} of {total.n_branches} branches"
    metric = rule.metric
    if metric == PERCENT:
        detail = f"{lines} and {branches}" if report.has_arcs else lines
        return Measurement(total.pc_covered, f"{detail} covered in {where}", precision=p)
    if metric == LINE_PERCENT:
        return Measurement(total.pc_statements, f"{lines} covered in {where}", precision=p)
    if metric == BRANCH_PERCENT:
        if not report.has_arcs:
            return Measurement.absent(
                f"coverage data {state.data_file} has no branch measurements: "
                "measure with branch = true ([tool.coverage.run]) or pytest --cov-branch"
            )
        return Measurement(total.pc_branches, f"{branches} covered in {where}", precision=p)
    if metric == MISSING_LINES:
        return Measurement(total.n_missing, f"of {total.n_statements} statements in {where}")
    # MIN_FILE_LINE_PERCENT
    ranked = sorted(files, key=lambda f: (f.numbers.pc_statements, f.path))
    worst = ranked[0]
    message = (
        f"worst file {worst.path} at {display_covered(worst.numbers.pc_statements, p)}% of {where}"
    )
    floor = rule.min if rule.min is not None else rule.warn_below
    if floor is not None:
        below = [f for f in ranked if _fails_floor(f.numbers.pc_statements, floor, p)]
        if below:
            shown = ", ".join(
                f"{f.path} {display_covered(f.numbers.pc_statements, p)}%"
                for f in below[:_MESSAGE_ITEMS]
            )
            more = f" and {len(below) - _MESSAGE_ITEMS} more" if len(below) > _MESSAGE_ITEMS else ""
            message += f"; {len(below)} below {floor:g}: {shown}{more}"
    return Measurement(worst.numbers.pc_statements, message, precision=p)


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _fails_floor(value: float, floor: float, precision: int) -> bool:
    from coverage.results import should_fail_under

    if not 0 <= floor <= 100:
        return value < floor
    return should_fail_under(value, floor, precision)


# -- diff coverage -------------------------------------------------------------


def _measure_diff(gate: Gate, state: CoverageState, rule: Rule) -> Measurement:
    diff = diff_coverage(gate, rule.base or DEFAULT_BASE, rule.select.path, state)
    return measurement_of_diff(
        rule, diff, state.precision, lambda glob: _any_measured(gate, state, glob)
    )


def measurement_of_diff(
    rule: Rule, diff: Diff, precision: int, any_measured: Callable[[str], bool]
) -> Measurement:
    """The rule's diff metric from a computed :class:`Diff`; ``any_measured(glob)`` says
    whether the data measured any file the rule's path selects."""
    executable, uncovered = _diff_counts(diff)
    against = f"against {diff.base} (merge-base {diff.merge_base[:12]})"
    # No changed line in the selection passes only if the selection names
    # measured files at all: a misspelt path is not "nothing changed".
    if executable == 0 and rule.select.path is not None and not any_measured(rule.select.path):
        return Measurement.absent(
            f"select path={rule.select.path!r} matches no measured source file"
        )
    if executable == 0:
        message = (
            f"no coverable changed lines {against}: {_plural(diff.changed_lines, 'changed line')} "
            f"in {_plural(diff.changed_files, 'file')}, none executable in the measured source"
        )
        # SPEC §2: no coverable changed lines passes, and says so.
        if rule.metric == DIFF_PERCENT:
            return Measurement(100.0, message, precision=precision)
        return Measurement(0, message)
    message = f"{executable - uncovered} of {executable} changed executable lines covered {against}"
    if uncovered:
        message += "; uncovered: " + _describe_uncovered(diff)
    if rule.metric == DIFF_PERCENT:
        pct = 100.0 * (executable - uncovered) / executable
        return Measurement(pct, message, precision=precision)
    return Measurement(uncovered, message)


def _any_measured(gate: Gate, state: CoverageState, path_glob: str) -> bool:
    """Whether a file the coverage data measured matches ``path_glob`` (no analysis needed)."""
    from ..select import path_matches

    if isinstance(state.report, Report):
        return any(path_matches(f.path, path_glob) for f in state.report.files)
    root = os.path.realpath(gate.rootdir)
    with _loaded(gate, state) as cov:
        files = cov.get_data().measured_files()
    return any(path_matches(_relative(root, os.path.realpath(f)), path_glob) for f in files)


def _diff_counts(diff: Diff) -> tuple[int, int]:
    executable = sum(len(e) for e, _ in diff.files.values())
    uncovered = sum(len(u) for _, u in diff.files.values())
    return executable, uncovered


def _describe_uncovered(diff: Diff) -> str:
    from coverage.results import format_lines

    parts = [
        f"{path}:{format_lines(executable, uncovered)}"
        for path, (executable, uncovered) in sorted(diff.files.items())
        if uncovered
    ]
    more = f" and {len(parts) - _MESSAGE_ITEMS} more files" if len(parts) > _MESSAGE_ITEMS else ""
    return "; ".join(parts[:_MESSAGE_ITEMS]) + more


def diff_coverage(
    gate: Gate, base: str, path_glob: str | None = None, state: CoverageState | None = None
) -> Diff:
    """Coverage of the lines added or changed since the merge-base of HEAD and `base`.

    Changed lines are those `git diff --unified=0 -M <merge-base>` shows as
    added in the working tree (committed, staged or not; untracked files are
    not part of the diff). Only lines coverage.py counts as statements in a
    file it reports on count; renamed files count only their changed lines.
    Cached per (base, path glob); raises CoverageProblem.
    """
    state = state or state_of(gate)
    key = (base, path_glob)
    cached = state.diffs.get(key)
    if isinstance(cached, Diff):
        return cached
    if isinstance(cached, CoverageProblem):
        raise cached
    try:
        result = _compute_diff(gate, state, base, path_glob)
    except CoverageProblem as exc:
        state.diffs[key] = exc
        raise
    state.diffs[key] = result
    return result


def _compute_diff(gate: Gate, state: CoverageState, base: str, path_glob: str | None) -> Diff:
    from ..select import path_matches

    if state.problem is not None:
        raise CoverageProblem(state.problem)
    root = os.path.realpath(gate.rootdir)
    toplevel, merge_base, changed = changed_lines(root, base)
    # Changed files by their canonical absolute name, selected by the rule's glob.
    wanted: dict[str, set[int]] = {}
    for name, lines in changed.items():
        abspath = os.path.realpath(os.path.join(toplevel, name))
        if path_glob is not None and not path_matches(_relative(root, abspath), path_glob):
            continue
        wanted[abspath] = lines
    diff = Diff(
        base=base,
        merge_base=merge_base,
        changed_files=len(wanted),
        changed_lines=sum(len(v) for v in wanted.values()),
    )
    if not wanted:
        return diff
    if isinstance(state.report, Report):  # already analysed: reuse it
        analysed = [
            (f.path, f.abspath, f.statements, f.missing)
            for f in state.report.files
            if f.abspath in wanted
        ]
    else:
        analysed = _analyse_changed(gate, state, root, set(wanted))
    for path, abspath, statements, missing in analysed:
        executable = wanted[abspath] & set(statements)
        if executable:
            diff.files[path] = (executable, executable & set(missing))
    return diff


def _analyse_changed(
    gate: Gate, state: CoverageState, root: str, wanted: set[str]
) -> list[tuple[str, str, Any, Any]]:
    """Statements and missed lines of the measured files among `wanted`.

    The line half of coverage.py's per-file analysis, over the same files its
    reporters take (report include/omit, ignore_errors), without the branch
    analysis that diff coverage does not use: parsing is most of the cost.
    """
    from coverage.exceptions import CoverageException
    from coverage.files import canonical_filename

    out = []
    with _loaded(gate, state) as cov:
        data = cov.get_data()
        morfs = [m for m in data.measured_files() if canonical_filename(m) in wanted]
        try:
            for fr in _reported(cov, morfs):
                try:
                    statements = fr.lines()
                except CoverageException:
                    if cov.config.ignore_errors:
                        continue
                    raise
                lines = data.lines(internal(cov, "_file_mapper")(fr.filename)) or []
                missing = statements - fr.translate_lines(lines)
                out.append((_relative(root, fr.filename), fr.filename, statements, missing))
        except CoverageException as exc:
            raise CoverageProblem(f"coverage report on {state.data_file}: {exc}") from None
    return out


def _reported(cov: Coverage, morfs: list[str]) -> list[Any]:
    """The file reporters coverage.py's reports would use for `morfs` (include/omit applied)."""
    from coverage.files import GlobMatcher, prep_patterns

    if not morfs:
        return []
    reporters = [fr for fr, _ in internal(cov, "_get_file_reporters")(morfs)]
    config = cov.config
    if config.report_include:
        include = GlobMatcher(prep_patterns(config.report_include), "report_include")
        reporters = [fr for fr in reporters if include.match(fr.filename)]
    if config.report_omit:
        omit = GlobMatcher(prep_patterns(config.report_omit), "report_omit")
        reporters = [fr for fr in reporters if not omit.match(fr.filename)]
    return reporters


# -- git -----------------------------------------------------------------------

_HUNK = re.compile(rb"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")
_HUNK_OLD = re.compile(rb"^@@ -\d+(?:,(\d+))? ")


def _git(cwd: str, *args: str) -> subprocess.CompletedProcess[bytes]:
    import subprocess

    try:
        return subprocess.run(
            ["git", "-c", "core.quotepath=off", *args],
            cwd=cwd,
            capture_output=True,
            timeout=_GIT_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        raise CoverageProblem("diff coverage needs git, and git is not installed") from None
    except (OSError, subprocess.SubprocessError) as exc:
        raise CoverageProblem(f"git {args[0]} failed: {exc}") from None


def _out(proc: subprocess.CompletedProcess[bytes]) -> str:
    return proc.stdout.decode("utf-8", "surrogateescape").strip()


def changed_lines(cwd: str, base: str) -> tuple[str, str, dict[str, set[int]]]:
    """(git toplevel, merge-base sha, {path relative to toplevel: added line numbers}).

    Raises CoverageProblem with a fix when `base` is missing or the clone is
    too shallow to find the merge-base.
    """
    top = _git(cwd, "rev-parse", "--show-toplevel")
    if top.returncode != 0:
        raise CoverageProblem(
            f"diff coverage needs a git work tree, and {cwd} is not in one "
            f"({_err(top) or 'git rev-parse failed'})"
        )
    toplevel = _out(top)
    if base.startswith("-"):
        raise CoverageProblem(f"base {base!r} is not a git revision")
    ref = _git(toplevel, "rev-parse", "--verify", "--quiet", "--end-of-options", base + "^{commit}")
    if ref.returncode != 0:
        raise CoverageProblem(
            f"base ref {base!r} does not exist in this clone: {_fetch_hint(toplevel, base)}, "
            "or set `base` on the rule"
        )
    found = _git(toplevel, "merge-base", "HEAD", _out(ref))
    if found.returncode != 0:
        shallow = _out(_git(toplevel, "rev-parse", "--is-shallow-repository")) == "true"
        if shallow:
            raise CoverageProblem(
                f"this clone is shallow and its history does not reach the merge-base of "
                f"HEAD and {base!r}: fetch more history with `git fetch --unshallow` "
                f"(or `git fetch --deepen=200`), then {_fetch_hint(toplevel, base)}"
            )
        raise CoverageProblem(
            f"HEAD and {base!r} have no common history ({_err(found) or 'no merge-base'})"
        )
    merge_base = _out(found)
    proc = _git(
        toplevel,
        "diff",
        "--no-color",
        "--no-ext-diff",
        "--no-textconv",
        "--no-relative",
        "--unified=0",
        "-M",
        "--diff-filter=AMR",
        "--src-prefix=a/",
        "--dst-prefix=b/",
        merge_base,
        "--",
    )
    if proc.returncode != 0:
        raise CoverageProblem(f"git diff {merge_base[:12]} failed: {_err(proc)}")
    return toplevel, merge_base, parse_unified_diff(proc.stdout)


def parse_unified_diff(patch: bytes) -> dict[str, set[int]]:
    """Added line numbers per new-side path of a `git diff --unified=0` patch.

    A line whose only change is the newline at the end of the file (git shows
    it removed and added again, with "\\ No newline at end of file") is not a
    changed line: its content is the same, as diff-cover counts it.
    """
    out: dict[str, set[int]] = {}
    current: set[int] | None = None
    hunk = _Hunk()
    for line in patch.splitlines():
        if line.startswith(b"+++ "):
            hunk.close(current)
            name = _unquote(line[4:])
            # "/dev/null" on the new side: the file was deleted.
            current = out.setdefault(name[2:], set()) if name.startswith("b/") else None
        elif line.startswith(b"@@ ") and current is not None:
            hunk.close(current)
            match = _HUNK.match(line)
            if match:
                start = int(match.group(1))
                count = int(match.group(2)) if match.group(2) is not None else 1
                current.update(range(start, start + count))
                old = _HUNK_OLD.match(line)
                hunk.start(start, count, int(old.group(1) or 1) if old else 0)
        elif line.startswith(b"+") and hunk.to_add:
            hunk.added.append((hunk.next_line, line[1:]))
            hunk.next_line += 1
            hunk.to_add -= 1
        elif line.startswith(b"-") and hunk.to_remove:
            hunk.removed.append(line[1:])
            hunk.to_remove -= 1
        elif line.startswith(b"\\") and hunk.open:  # "\ No newline at end of file"
            hunk.newline_marks += 1
    hunk.close(current)
    return {name: lines for name, lines in out.items() if lines}


class _Hunk:
    """The body of one `--unified=0` hunk, read to spot a newline-only change."""

    def __init__(self) -> None:
        self.open = False
        self.next_line = 0
        self.to_add = self.to_remove = 0  # body lines still to come, from the header
        self.removed: list[bytes] = []
        self.added: list[tuple[int, bytes]] = []
        self.newline_marks = 0

    def start(self, new_start: int, new_count: int, old_count: int) -> None:
        self.open = True
        self.next_line = new_start
        self.to_add, self.to_remove = new_count, old_count

    def close(self, lines: set[int] | None) -> None:
        """Drop from `lines` the line whose only change was the newline at EOF; start afresh."""
        if lines is not None and self.newline_marks:
            # git shows the last line removed and added again; its content is the same.
            removed = set(self.removed)
            same = next((n for n, text in self.added if text in removed), None)
            if same is not None:
                lines.discard(same)
        self.open = False
        self.to_add = self.to_remove = 0
        self.removed = []
        self.added = []
        self.newline_marks = 0


def _unquote(raw: bytes) -> str:
    raw = raw.rstrip(b"\t")  # git appends a tab to names with spaces
    if raw.startswith(b'"') and raw.endswith(b'"'):
        raw = codecs.escape_decode(raw[1:-1])[0]
    return raw.decode("utf-8", "surrogateescape")


def _err(proc: subprocess.CompletedProcess[bytes]) -> str:
    text = proc.stderr.decode("utf-8", "replace").strip()
    return text.splitlines()[-1] if text else ""


def _fetch_hint(toplevel: str, base: str) -> str:
    remotes = _out(_git(toplevel, "remote")).split()
    remote, _, branch = base.partition("/")
    if remote in remotes and branch:
        return f"fetch it with `git fetch {remote} {branch}`"
    if remotes:
        return f"fetch it with `git fetch {remotes[0]} {base}`"
    return "fetch it, or create it"
