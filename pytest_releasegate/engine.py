"""The gate: collect → measure → evaluate → verdict → publish.

One :class:`Gate` object holds one run's state; the pytest plugin, the CLI,
the Lambda handler and the job worker each build one and call
:meth:`Gate.run` and :meth:`Gate.publish`. Nothing here depends on a running
pytest session.
"""

from __future__ import annotations

import datetime as _dt
import os
import traceback
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from pathlib import Path
from typing import Any

import pluggy

from . import __version__
from .evaluate import evaluate, verdict_of
from .model import ExitCode, Measurement, Outcome, Rule, RuleResult, Selection, TestRecord, Verdict
from .options import GateOptions
from .policy import Policy

__all__ = ["Gate", "GateOptions", "TestResults", "exit_code"]


class TestResults:
    """The test records of a run: one bucket per source, keyed by nodeid; O(1) per update."""

    __test__ = False

    def __init__(self) -> None:
        #: source (``pytest``, ``junit:NAME``, ``tests:NAME``) → nodeid → record.
        self.by_source: dict[str, MutableMapping[str, TestRecord]] = {}
        #: Sources that were asked for but yielded nothing, with the reason.
        self.missing: dict[str, str] = {}

    @property
    def sources(self) -> set[str]:
        """Sources that delivered results (possibly zero tests)."""
        return set(self.by_source)

    def bucket(self, source: str) -> MutableMapping[str, TestRecord]:
        """The (live) record dict of one source; creating it marks the source as present."""
        return self.by_source.setdefault(source, {})

    def add(self, record: TestRecord) -> None:
        self.bucket(record.source)[record.nodeid] = record

    def __iter__(self) -> Iterator[TestRecord]:
        for bucket in self.by_source.values():
            yield from bucket.values()

    def __len__(self) -> int:
        return sum(map(len, self.by_source.values()))

    def failing_and_flaky(self) -> Iterator[TestRecord]:
        """Every failed, erroring or flaky record, in order (and possibly others)."""
        from .records import RecordTable

        for bucket in self.by_source.values():
            if isinstance(bucket, RecordTable):
                yield from bucket.failing_and_flaky()
            else:
                yield from bucket.values()


class Gate:
    """One gate run over one policy and profile."""

    def __init__(
        self,
        policy: Policy,
        options: GateOptions | None = None,
        *,
        rootdir: str | os.PathLike[str] | None = None,
        pm: pluggy.PluginManager | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        from .manager import get_plugin_manager

        self.policy = policy
        self.options = options or GateOptions()
        self.rootdir = Path(rootdir or os.getcwd())
        self.pm = pm or get_plugin_manager()
        self.environ: Mapping[str, str] = os.environ if environ is None else environ
        self.profile = policy.resolve_profile(self.options.profile)
        if (self.options.baseline or policy.baseline) == "history" and not (
            self.options.history or policy.history
        ):
            from .policy import PolicyError

            raise PolicyError(
                [
                    f"{policy.display_source}, key 'baseline': \"history\" needs a run history "
                    "(set `history` in the policy, or pass --gate-history PATH to pytest, "
                    "--history PATH to releasegate)"
                ]
            )
        self.rules: tuple[Rule, ...] = policy.rules_for(self.profile)
        self._families: tuple[tuple[Rule, ...], set[str]] | None = None
        #: Test results; a pytest run and JUnit inputs add to it.
        self.results = TestResults()
        #: Whether a pytest session is feeding ``results`` (else only JUnit inputs count).
        self.pytest_run = False
        #: Built-in sources an adapter asks for whatever the rules say (the pytest
        #: plugin asks for ``coverage`` when pytest-cov ran).
        self.wanted_sources: set[str] = set()
        #: Scratch space for sources, keyed by a name of their choosing.
        self.data: dict[str, Any] = {}
        #: Problems found while collecting, reported as verdict warnings.
        self.warnings: list[str] = []
        #: Problems that make the whole run untrustworthy (each becomes an `error` rule).
        self.run_errors: list[str] = []
        #: Facts for the verdict's context, added by the adapters (job ids, ...).
        self.context: dict[str, Any] = {}
        self.started_at = _now()
        self.verdict: Verdict | None = None

    # -- collection -----------------------------------------------------------

    def add_records(self, records: Iterable[TestRecord]) -> None:
        for record in records:
            self.results.add(record)

    def _call_each(self, hookname: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """Call every implementation separately so one broken plugin cannot hide the rest.

        Each call goes through pluggy (a subset hook caller holding that one
        plugin), so tracing and call monitoring see it; wrappers of these hooks
        are refused when registered (`manager.PluginManager`). Results come in
        pluggy's call order (tryfirst first, then latest registered first).
        """
        results: list[tuple[str, Any]] = []
        impls = getattr(self.pm.hook, hookname).get_hookimpls()
        plugins = [impl.plugin for impl in impls]
        for impl in reversed(impls):
            if impl.hookwrapper or impl.wrapper:  # a manager of our own refuses these
                self.warnings.append(
                    f"plugin {impl.plugin_name!r}: {hookname} wrapper ignored (not supported)"
                )
                continue
            others = [p for p in plugins if p is not impl.plugin]
            caller = self.pm.subset_hook_caller(hookname, remove_plugins=others)
            try:
                answers = caller(**kwargs)
                value = answers[0] if answers else None
            except Exception as exc:  # noqa: BLE001 - fail closed, keep the others
                self.warnings.append(f"plugin {impl.plugin_name!r} failed in {hookname}: {exc!r}")
                self.data.setdefault("_internal_errors", []).append(traceback.format_exc())
                results.append((impl.plugin_name, exc))
                continue
            results.append((impl.plugin_name, value))
        return results

    def load_sources(self) -> None:
        """Register the built-in sources this run needs (imported only then)."""
        from .manager import register_builtin

        # Called before every measurement: the metric families are worked out
        # once per rule set, so evaluation stays linear in the number of rules.
        if self._families is None or self._families[0] is not self.rules:
            self._families = (self.rules, {r.metric.partition(".")[0] for r in self.rules})
        metrics = self._families[1]
        wanted = {
            "coverage": "coverage" in metrics
            or bool(self.options.coverage)
            or bool(self.options.input_coverage),
            "polycov": bool(self.options.input_coverage),
            "junit": bool(self.options.input_junit),
            "reports": bool(self.options.input_tests),
            "smoke": "smoke" in metrics,
            "alarms": "alarms" in metrics,
            "runtime": bool(
                {r.metric for r in self.rules} & {m.name for m in self.policy.runtime_metrics}
            ),
        }
        for name, needed in wanted.items():
            if needed or name in self.wanted_sources:
                register_builtin(self.pm, f"pytest_releasegate.sources.{name}")

    def measure(self, rule: Rule) -> Measurement:
        self.load_sources()
        try:
            result = self.pm.hook.releasegate_measure(gate=self, rule=rule)
        except Exception as exc:  # noqa: BLE001 - a source's crash is an error outcome, not a traceback
            self.data.setdefault("_internal_errors", []).append(traceback.format_exc())
            return Measurement.absent(f"internal error measuring {rule.metric}: {exc!r}")
        if result is None:
            return Measurement.absent(f"no installed source measures {rule.metric!r}")
        return result  # type: ignore[no-any-return]

    @property
    def flag_prefix(self) -> str:
        """How messages spell the options: `--gate-NAME` in pytest, `--NAME` in the CLI."""
        return "--gate-" if self.pytest_run else "--"

    # -- the run --------------------------------------------------------------

    def run(self) -> Verdict:
        """Collect, measure every rule, evaluate; the verdict is also kept on ``self.verdict``."""
        from .baseline import BaselineError, read_baseline

        self.load_sources()
        self._call_each("releasegate_collect", gate=self)
        measurements = {rule.name: self.measure(rule) for rule in self.rules}

        context = self.run_context()
        baseline = None
        baseline_problem = None
        location = self.options.baseline or self.policy.baseline
        if location == "history":
            from .history import baseline_from_history

            baseline, baseline_problem = baseline_from_history(self, context)
        elif location:
            try:
                baseline = read_baseline(
                    location, rootdir=self.rootdir, flag_prefix=self.flag_prefix
                )
            except BaselineError as exc:
                baseline_problem = str(exc)
        elif any(r.is_relative for r in self.rules):
            baseline_problem = (
                "no baseline configured: set `baseline` in the policy or pass "
                f"{self.flag_prefix}baseline"
            )

        results = evaluate(
            self.rules,
            measurements,
            baseline=baseline,
            baseline_problem=baseline_problem,
            quarantine=self.policy.quarantine,
            today=_dt.datetime.now(_dt.timezone.utc).date(),
        )
        results.extend(
            RuleResult(
                name="run completed",
                metric="tests.total",
                select=Selection(),
                actual=None,
                threshold={},
                baseline=None,
                outcome=Outcome.ERROR,
                message=f"{problem}: the results are incomplete",
            )
            for problem in self.run_errors
        )
        metrics: dict[str, float] = {}
        for _name, part in self._call_each("releasegate_metrics", gate=self):
            if isinstance(part, Mapping):
                metrics.update(part)
        from .failures import list_tests

        listed = list_tests(self.results.failing_and_flaky(), self._live_quarantine())
        verdict_kind = verdict_of(results)
        self.verdict = Verdict(
            verdict=verdict_kind,
            profile=self.profile,
            policy=self.policy.display_source,
            rules=tuple(results),
            metrics=dict(sorted(metrics.items())),
            context=context,
            started_at=self.started_at,
            finished_at=_now(),
            tool_version=__version__,
            warnings=(*self.policy.warnings_for(self.profile), *self.warnings),
            warn_as=self.policy.warn_as,
            runtime=self.data.get("runtime:evidence"),
            failures=listed.failures,
            failures_omitted=listed.failures_omitted,
            flaky=listed.flaky,
            flaky_omitted=listed.flaky_omitted,
            coverage_unmapped=tuple(self.data.get("coverage_unmapped", ())),
        )
        if self.options.history or self.policy.history:
            from .history import record_run

            self.verdict = record_run(self, self.verdict)
        return self.verdict

    def run_context(self) -> dict[str, Any]:
        """The verdict's `context` (git, CI and pipeline facts), gathered once per run."""
        cached: dict[str, Any] | None = self.data.get("_context")
        if cached is not None:
            return cached
        context: dict[str, Any] = {}
        for _name, part in self._call_each("releasegate_context", gate=self):
            if isinstance(part, Mapping):
                context.update(part)
        context.update(self.context)
        if self.options.codepipeline_job_id:
            context.setdefault("codepipeline_job_id", self.options.codepipeline_job_id)
        self.data["_context"] = context
        return context

    def _live_quarantine(self) -> list[str]:
        today = _dt.datetime.now(_dt.timezone.utc).date()
        return [q.nodeid for q in self.policy.quarantine if q.expires >= today]

    def publish(self, verdict: Verdict) -> list[str]:
        """Hand the verdict to every sink; returns one line per sink that failed."""
        problems = []
        for name, value in self._call_each("releasegate_publish", gate=self, verdict=verdict):
            if isinstance(value, BaseException):
                problems.append(f"{name}: {value}")
        return problems


def exit_code(verdict: Verdict, publish_problems: Iterable[str] = ()) -> ExitCode:
    """The process exit code: the verdict's (SPEC §3), or 3 when a pass could not be published."""
    code = verdict.exit_code
    if code is ExitCode.OK and any(True for _ in publish_problems):
        return ExitCode.ERROR
    return code


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
