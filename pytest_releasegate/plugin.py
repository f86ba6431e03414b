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
    from .model import Verdict

gate_key = pytest.StashKey["GatePlugin"]()
_MARKERS_ATTR = "releasegate_markers"
_EXTRAS_ATTR = "releasegate_extras"
_WORKERINPUT_KEY = "releasegate_markers"
_WORKERINPUT_EXTRAS = "releasegate_extras"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("releasegate", "release gate (pytest-releasegate)")
    group.addoption("--gate", action="store_true", default=None, help="turn the release gate on")
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
    plugin = GatePlugin(config, gate)
    config.stash[gate_key] = plugin
    config.pluginmanager.register(plugin, "releasegate-gate")
    if plugin.wants_extras:
        # Per-test work only when a rule needs it: most policies need none.
        config.pluginmanager.register(ExtrasTagger(), "releasegate-extras")


def make_gate(config: pytest.Config) -> Gate:
    """Load the policy and build the gate, or stop the run with a usage error (exit 4)."""
    from .engine import Gate
    from .manager import get_plugin_manager, known_metrics
    from .policy import PolicyError, load_policy
    from .sinks.codepipeline import report_bad_configuration

    options = build_options(config)
    problems = options.problems()
    if problems:
        report_bad_configuration(options, "; ".join(problems))
        raise pytest.UsageError("\n".join(f"releasegate: {p}" for p in problems))
    pm = get_plugin_manager()
    try:
        policy = load_policy(options.policy, rootdir=config.rootpath, metrics=known_metrics(pm))
        gate = Gate(policy, options, rootdir=config.rootpath, pm=pm)
    except PolicyError as exc:
        report_bad_configuration(options, str(exc))
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


class GatePlugin:
    """The controller side: records results, evaluates at session end, reports."""

    def __init__(self, config: pytest.Config, gate: Gate) -> None:
        smoke = any(r.metric.startswith("smoke.") for r in gate.rules)
        markers = {r.select.marker for r in gate.rules if r.select.marker}
        if smoke:
            markers.add("smoke")
        self.markers = tuple(sorted(markers))
        self.wants_extras = smoke
        #: Without xdist: the wanted markers of each collected test.
        self.item_markers: dict[str, tuple[str, ...]] = {}
        self.config = config
        self.gate = gate
        self.records = gate.results.bucket("pytest")
        from .model import TestRecord

        self.new_record = TestRecord
        self.interrupted: str | None = None
        self.ctrl_c = False
        self.publish_problems: list[str] = []

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
            from .model import TestRecord

            record = TestRecord(report.nodeid or "<collection>", "error")
            record.message = _crash_message(report)
            self.records[record.nodeid] = record

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # Runs three times per test: keep it to a dict lookup and a few attribute writes.
        record = self.records.get(report.nodeid)
        if record is None:
            markers = getattr(report, _MARKERS_ATTR, None) or self.item_markers.get(
                report.nodeid, ()
            )
            record = self.new_record(report.nodeid, "passed", markers=markers)
            self.records[report.nodeid] = record
        record.duration += report.duration
        when: str = report.when  # type: ignore[assignment]
        outcome: str = report.outcome
        if outcome == "rerun":  # pytest-rerunfailures: this attempt failed, another follows
            record.flaky = True
            record.outcome = "passed"
            return
        if when == "call":
            if outcome == "passed":
                record.outcome = "xpassed" if hasattr(report, "wasxfail") else "passed"
            elif outcome == "failed":
                record.outcome = "failed"
                record.message = _crash_message(report)
            else:
                record.outcome = "xfailed" if hasattr(report, "wasxfail") else "skipped"
        elif when == "setup":
            if outcome == "failed":
                record.outcome = "error"
                record.message = _crash_message(report)
            elif outcome == "skipped":
                record.outcome = "xfailed" if hasattr(report, "wasxfail") else "skipped"
        elif outcome == "failed" and record.outcome not in ("failed", "error"):
            record.outcome = "error"  # teardown error after a pass
            record.message = _crash_message(report)
        if when == "teardown":
            if record.flaky and record.outcome != "passed":
                record.flaky = False  # failed every attempt: a failure, not a flake
            extras = getattr(report, _EXTRAS_ATTR, None)
            if extras:
                for key, values in extras.items():
                    self.gate.data.setdefault(f"extras:{key}", []).extend(values)

    @pytest.hookimpl(tryfirst=True)
    def pytest_keyboard_interrupt(self, excinfo: Any) -> None:
        if excinfo.type is KeyboardInterrupt:  # not pytest's own Session.Interrupted
            self.ctrl_c = True
            self.interrupted = "the pytest run was interrupted"

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if exitstatus == pytest.ExitCode.USAGE_ERROR or self.config.option.collectonly:
            return  # nothing ran: there is nothing to judge
        if exitstatus == pytest.ExitCode.INTERRUPTED and self.interrupted is None:
            self.interrupted = "the pytest run stopped early (collection errors or a stop)"
        elif exitstatus == pytest.ExitCode.INTERNAL_ERROR:
            self.interrupted = "pytest hit an internal error"
        cov = self.config.pluginmanager.getplugin("_cov")
        if cov is not None:
            self.gate.data["pytest_cov_plugin"] = cov
            self.gate.wanted_sources.add("coverage")
        if self.interrupted:
            self.gate.run_errors.append(self.interrupted)
        tr = self.config.pluginmanager.get_plugin("terminalreporter")
        if tr is not None:
            self.gate.data["smoke:progress"] = tr.write_line  # bake rounds, one line each
        from .engine import exit_code

        verdict = self.gate.run()
        self.publish_problems = self.gate.publish(verdict)
        # Ctrl-C keeps pytest's own status.
        session.exitstatus = (
            exitstatus if self.ctrl_c else exit_code(verdict, self.publish_problems)
        )

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
        color = {"pass": "green", "warn": "yellow"}.get(verdict.verdict.value, "red")
        tr.write_line(lines[0], **{color: True, "bold": True})
        for line in lines[1:]:
            tr.write_line(line)
        for problem in self.publish_problems:
            tr.write_line(f"releasegate: could not publish: {problem}", red=True)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        config.pluginmanager.unregister(self)
