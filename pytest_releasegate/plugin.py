"""The pytest adapter: options, per-test bookkeeping, the verdict at session end.

Installed but not asked for (`--gate` / ini `releasegate = true`), this module
only adds its options: nothing is registered, printed or changed. Heavy
modules (the engine, boto3, coverage) load only when the gate is on.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ._stash import REPORT_EXTRAS_KEY
from .fixtures import gate_http
from .options import add_options, gate_options

__all__ = [
    "gate_http",
    "pytest_addoption",
    "pytest_configure",
]

if TYPE_CHECKING:
    from .engine import Gate
    from .model import TestRecord, Verdict
    from .pytest_status import SigtermGuard, Stop

gate_key = pytest.StashKey["GatePlugin"]()
_MARKERS_ATTR = "releasegate_markers"
_EXTRAS_ATTR = "releasegate_extras"
_WORKERINPUT_KEY = "releasegate_markers"
_WORKERINPUT_EXTRAS = "releasegate_extras"
#: A test that has not reported its result yet: not counted (see model.TestRecord).
RUNNING = "running"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("releasegate", "release gate (pytest-releasegate)")
    group.addoption("--gate", action="store_true", default=None, help="turn the release gate on")
    group.addoption(
        "--no-gate",
        action="store_false",
        dest="gate",
        help="turn the release gate off for this run (over ini releasegate = true)",
    )
    add_options(group.addoption, prefix="gate-")
    parser.addini("releasegate", "turn the release gate on", type="bool", default=False)
    parser.addini("releasegate_policy", "release gate policy file", default="")


def _enabled(config: pytest.Config) -> bool:
    flag = config.getoption("gate", None)
    if flag is not None:
        return bool(flag)
    try:
        return bool(config.getini("releasegate"))
    except ValueError:
        return False


def build_options(config: pytest.Config) -> Any:
    policy = config.getoption("gate_policy") or None
    ini_policy = config.getini("releasegate_policy")
    if not policy and ini_policy:
        # ini paths are relative to the rootdir
        policy = str(Path(str(config.rootpath), ini_policy))
    return gate_options(
        lambda name: config.getoption(f"gate_{name}"),
        policy=policy,
        quiet=config.get_verbosity() < 0,
    )


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    # Registered even with the gate off, so `--strict-markers` accepts smoke tests.
    config.addinivalue_line(
        "markers", "smoke: a smoke test against the deployed service (smoke.* metrics)"
    )
    if not _enabled(config):
        return
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        # xdist worker: only tag reports; the controller evaluates.
        markers = tuple(workerinput.get(_WORKERINPUT_KEY, ()))
        if markers:
            config.pluginmanager.register(MarkerTagger(markers), "releasegate-markers")
        if workerinput.get(_WORKERINPUT_EXTRAS, False):
            config.pluginmanager.register(ExtrasTagger(), "releasegate-extras")
        return
    gate = make_gate(config)
    if gate.policy.smoke_marker != "smoke":
        config.addinivalue_line(
            "markers", f"{gate.policy.smoke_marker}: a smoke test (releasegate smoke-marker)"
        )
    plugin = GatePlugin(config, gate)
    config.stash[gate_key] = plugin
    config.pluginmanager.register(plugin, "releasegate-gate")
    if plugin.wants_extras:
        # Per-test work only when a rule needs it: most policies need none.
        config.pluginmanager.register(ExtrasTagger(), "releasegate-extras")


def make_gate(config: pytest.Config) -> Gate:
    """Load the policy and build the gate, or stop the run with a usage error (exit 4)."""
    from ._args import rootdir_problems
    from .engine import Gate
    from .manager import get_plugin_manager, known_metrics
    from .policy import PolicyError, load_policy
    from .sinks.codepipeline import report_bad_configuration

    options = build_options(config)
    problems = rootdir_problems(config) + options.problems()
    if problems:
        report_bad_configuration(options, "; ".join(problems), config.rootpath)
        raise pytest.UsageError("\n".join(f"releasegate: {p}" for p in problems))
    pm = get_plugin_manager()
    try:
        policy = load_policy(options.policy, rootdir=config.rootpath, metrics=known_metrics(pm))
        gate = Gate(policy, options, rootdir=config.rootpath, pm=pm)
    except PolicyError as exc:
        report_bad_configuration(options, str(exc), config.rootpath)
        raise pytest.UsageError(_policy_message(exc)) from None
    gate.pytest_run = True
    return gate


def _crash_message(report: pytest.TestReport | pytest.CollectReport) -> str | None:
    """The first line of a failure's message, for the verdict's `failures[]`.

    Called for failed reports only. Reads the crash line pytest already
    computed (also on reports sent by xdist workers) instead of rendering the
    whole traceback.
    """
    longrepr = report.longrepr
    crash = getattr(longrepr, "reprcrash", None)
    text = getattr(crash, "message", None)
    if text is None and longrepr is not None:
        text = str(longrepr)
        # A collection error: the exception is on the last `E   ` line.
        errors = [line[1:].strip() for line in text.splitlines() if line.startswith("E ")]
        if errors:
            text = errors[-1]
    if text is None:
        return None
    from .failures import first_line

    return first_line(text)


def _policy_message(exc: Exception) -> str:
    problems = getattr(exc, "problems", None) or [str(exc)]
    return "\n".join(f"releasegate: bad policy: {p}" for p in problems)


def markers_by_nodeid(
    items: list[pytest.Item], markers: tuple[str, ...]
) -> dict[str, tuple[str, ...]]:
    """Once per collection: which of the wanted markers each item carries."""
    out: dict[str, tuple[str, ...]] = {}
    for item in items:
        found = tuple(m for m in markers if item.get_closest_marker(m) is not None)
        if found:
            out[item.nodeid] = found
    return out


class MarkerTagger:
    """xdist worker: puts each test's wanted markers on its setup report before xdist sends it.

    Markers are looked up once at collection, not per report, so the cost per
    test is one dict lookup.
    """

    def __init__(self, markers: tuple[str, ...]) -> None:
        self.markers = markers
        self.found: dict[str, tuple[str, ...]] = {}

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        self.found = markers_by_nodeid(items, self.markers)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "setup":
            found = self.found.get(report.nodeid)
            if found:
                setattr(report, _MARKERS_ATTR, found)


class ExtrasTagger:
    """Copies fixture data (smoke samples) from the item's stash onto its teardown report."""

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, Any, Any]:
        report = yield
        if call.when == "teardown":
            extras = item.stash.get(REPORT_EXTRAS_KEY, None)
            if extras:
                setattr(report, _EXTRAS_ATTR, extras)
        return report


def count_subtest(record: TestRecord, report: pytest.TestReport) -> None:
    """Count one subtest report on its test's record (its time is part of the test's)."""
    counts = record.subtests
    if counts is None:
        counts = record.subtests = [0, 0, 0]
    counts[0 if report.passed else 1 if report.failed else 2] += 1
    record.duration -= report.duration


def remove_stale_outputs(gate: Gate) -> None:
    """An earlier run's verdict files, removed before any test runs; a file that is
    also this run's baseline input is kept (it is read at the end)."""
    from .sinks.files import remove_stale_outputs as remove

    keep = [Path(gate.options.baseline)] if gate.options.baseline else []
    if gate.policy.baseline:
        keep.append(gate.rootdir / gate.policy.baseline)
    remove(gate.options, keep)


class GatePlugin:
    """The controller side: records results, evaluates at session end, reports."""

    def __init__(self, config: pytest.Config, gate: Gate) -> None:
        smoke = any(r.metric.startswith("smoke.") for r in gate.rules)
        markers = {r.select.marker for r in gate.rules if r.select.marker}
        if smoke:
            markers.add(gate.policy.smoke_marker)
        self.markers = tuple(sorted(markers))
        self.wants_extras = smoke
        #: Without xdist: the wanted markers of each collected test.
        self.item_markers: dict[str, tuple[str, ...]] = {}
        self.config = config
        self.gate = gate
        self.records = gate.results.bucket("pytest")
        from .model import TestRecord

        self.new_record = TestRecord
        #: Why the run ended early, from `pytest_keyboard_interrupt` or pytest's stop flags.
        self.stop: Stop | None = None
        self.sigterm: SigtermGuard | None = None
        #: "pytest's exit status N stands: why", when the gate kept pytest's status.
        self.kept: str | None = None
        self.collect_errors = 0
        self.publish_problems: list[str] = []
        #: Failed reports pytest counts in `session.testsfailed` (to tell other failures apart).
        self.failed_reports = 0

    def pytest_report_header(self, config: pytest.Config) -> str:
        g = self.gate
        return f"releasegate: {g.policy.display_source}, profile {g.profile}, {len(g.rules)} rules"

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput[_WORKERINPUT_KEY] = list(self.markers)
        node.workerinput[_WORKERINPUT_EXTRAS] = self.wants_extras

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        if self.markers:  # under xdist the workers collect, and tag their reports instead
            self.item_markers = markers_by_nodeid(items, self.markers)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.failed_reports += 1
            self.collect_errors += 1
            record = self.new_record(report.nodeid or "<collection>", "error")
            record.message = _crash_message(report)
            self.records[record.nodeid] = record

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # Runs three times per test: keep it to a dict lookup and a few attribute writes.
        record = self.records.get(report.nodeid)
        if record is None:
            markers = getattr(report, _MARKERS_ATTR, None) or self.item_markers.get(
                report.nodeid, ()
            )
            record = self.new_record(report.nodeid, RUNNING, markers=markers)
            self.records[report.nodeid] = record
        record.duration += report.duration
        when: str = report.when  # type: ignore[assignment]
        outcome: str = report.outcome
        if outcome == "failed" and not hasattr(report, "wasxfail"):
            self.failed_reports += 1  # what pytest counts in session.testsfailed
        if outcome == "rerun":  # pytest-rerunfailures: this attempt failed, another follows
            record.flaky = True
            record.outcome = RUNNING
            record.call = record.subtests = None  # the next attempt's subtests count
            return
        if when == "call":
            if record.call is not None:
                # A second call-phase report of one attempt: the earlier one was a
                # subtest (pytest's `subtests`, unittest `subTest`), reported while
                # the test ran; the test's own call report comes last.
                count_subtest(record, record.call)
            record.call = report
            if outcome == "passed":
                record.outcome = "xpassed" if hasattr(report, "wasxfail") else "passed"
            elif outcome == "failed":
                record.outcome = "failed"
                record.message = _crash_message(report)
            else:
                record.outcome = "xfailed" if hasattr(report, "wasxfail") else "skipped"
            if record.subtests is not None and record.subtests[1]:
                record.outcome = "failed"  # a test with a failing subtest failed
        elif when == "setup":
            # (pytest-rerunfailures logs the setup report after the subtests of its call)
            if outcome == "failed":
                record.outcome = "error"
                record.message = _crash_message(report)
            elif outcome == "skipped":
                record.outcome = "xfailed" if hasattr(report, "wasxfail") else "skipped"
            else:
                record.outcome = RUNNING
        elif outcome == "failed" and record.outcome not in ("failed", "error"):
            record.outcome = "error"  # teardown error after a pass
            record.message = _crash_message(report)
        if when == "teardown":
            record.call = None  # finished
            if record.flaky and record.outcome not in ("passed", RUNNING):
                record.flaky = False  # failed every attempt: a failure, not a flake
            extras = getattr(report, _EXTRAS_ATTR, None)
            if extras:
                for key, values in extras.items():
                    self.gate.data.setdefault(f"extras:{key}", []).extend(values)

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        from .pytest_status import SigtermGuard

        remove_stale_outputs(self.gate)
        self.sigterm = SigtermGuard()
        self.sigterm.install()

    @pytest.hookimpl(tryfirst=True)
    def pytest_keyboard_interrupt(self, excinfo: Any) -> None:
        from .pytest_status import classify_interrupt

        self.stop = classify_interrupt(excinfo)

    @pytest.hookimpl(trylast=True)  # after conftests and plugins that set session.exitstatus
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        opt = self.config.option
        if exitstatus == pytest.ExitCode.USAGE_ERROR or opt.collectonly:
            return  # nothing ran: there is nothing to judge
        if getattr(opt, "setuponly", False) or getattr(opt, "setupplan", False):
            return  # fixtures only: no test ran
        from .engine import exit_code
        from .pytest_status import Stop, final_status, unjudged_status

        status = int(session.exitstatus)
        if status == pytest.ExitCode.INTERNAL_ERROR and self.stop is None:
            self.stop = Stop("pytest hit an internal error", external=True)
        self.gate.run_errors.extend(self.incomplete(session))
        unjudged = unjudged_status(
            status,
            argument=int(exitstatus),
            testsfailed=session.testsfailed,
            failed_reports=self.failed_reports,
            stop=self.stop,
        )
        if unjudged is not None:
            self.gate.context["pytest_exit_status"] = status
            self.gate.context["pytest_exit_reason"] = unjudged
        cov = self.config.pluginmanager.getplugin("_cov")
        if cov is not None:
            self.gate.data["pytest_cov_plugin"] = cov
            self.gate.wanted_sources.add("coverage")
        tr = self.config.pluginmanager.get_plugin("terminalreporter")
        if tr is not None:
            self.gate.data["smoke:progress"] = tr.write_line  # bake rounds, one line each

        verdict = self.gate.run()
        self.publish_problems = self.gate.publish(verdict)
        code = exit_code(verdict, self.publish_problems)
        session.exitstatus = final_status(status, code, unjudged, self.stop)
        if unjudged is not None and session.exitstatus == status:
            self.kept = f"pytest's exit status {status} stands: {unjudged}"

    def incomplete(self, session: pytest.Session) -> list[str]:
        """Why the run's results are incomplete (each becomes a 'run completed' error)."""
        stop = self.stop
        reason = session.shouldfail or session.shouldstop
        if stop is None and reason:
            from .pytest_status import Stop

            stop = self.stop = Stop(f"the pytest run stopped early: {reason}", external=False)
        running = []
        for record in self.records.values():
            if record.outcome == RUNNING or record.call is not None:
                record.outcome = RUNNING  # not counted: it never reported its result
                running.append(record.nodeid)
        finished = len(self.records) - len(running) - self.collect_errors
        missing = max(session.testscollected - finished, 0)
        if not (missing or running or self.collect_errors or (stop and stop.external)):
            return []  # e.g. -x after the last test: every test ran
        if stop is not None:
            problem = stop.reason
        elif self.collect_errors:
            n = self.collect_errors
            problem = f"{n} error{'s' if n != 1 else ''} during collection"
        else:
            problem = "not every collected test reported a result"
        if running:
            more = f" and {len(running) - 3} more" if len(running) > 3 else ""
            problem += f"; running: {', '.join(running[:3])}{more}"
        if missing:
            problem += f"; {missing} of {session.testscollected} tests did not run"
        return [problem]

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        verdict: Verdict | None = self.gate.verdict
        if verdict is None:
            if self.config.option.collectonly:
                terminalreporter.write_line("releasegate: not evaluated (--collect-only)")
            return
        from .sinks.render import terminal_lines

        tr = terminalreporter
        tr.write_sep("-", "releasegate")
        lines = terminal_lines(verdict, quiet=self.gate.options.quiet)
        if self.kept:
            lines[0] += f"; {self.kept}"
        color = {"pass": "green", "warn": "yellow"}.get(verdict.verdict.value, "red")
        tr.write_line(lines[0], **{color: True, "bold": True})
        for line in lines[1:]:
            tr.write_line(line)
        for problem in self.publish_problems:
            tr.write_line(f"releasegate: could not publish: {problem}", red=True)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if self.sigterm is not None:
            self.sigterm.restore()
        config.pluginmanager.unregister(self)
