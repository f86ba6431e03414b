"""The ``alarms.in_alarm`` metric: CloudWatch alarm states (``DescribeAlarms``).

The ``[alarms]`` table names alarms (``names``), a name prefix (``prefix``),
or both; the watched set is their union, metric and composite alarms alike.
boto3 is imported only when a rule of the active profile measures
``alarms.in_alarm``; the client follows the standard AWS configuration chain
(region, credentials, profiles, retry mode, ``AWS_ENDPOINT_URL`` /
``AWS_ENDPOINT_URL_CLOUDWATCH``), with ``region`` from the table when given.

The states are read after every other source has collected (``trylast``),
so after a bake window, not before it.

What the rule sees:

* one or more watched alarms in ``ALARM``: their number, and the message
  names them (this wins over missing data: an alarm firing is a finding);
* else any watched alarm in ``INSUFFICIENT_DATA``, a name in ``names`` that
  does not exist, a ``prefix`` that matches nothing, or CloudWatch that
  cannot be reached or refuses: missing data, so the rule's ``on-missing``
  decides (``fail``, the default: outcome ``error``; ``warn``: ``warn``;
  ``skip``: ``skipped``), and the message names the alarms or the error;
* else 0, every watched alarm ``OK``.

A rule may narrow the watched set with ``select = { name = "api-*" }``.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import catalogue, hookimpl
from ..model import Measurement, MetricInfo, Rule, Selection
from ..sections import AlarmsConfig

if TYPE_CHECKING:
    from ..engine import Gate

METRIC = "alarms.in_alarm"
DATA_KEY = "alarms:snapshot"
#: An adapter may put a ready CloudWatch client here (else one is made from the AWS config).
CLIENT_KEY = "alarms:client"
#: DescribeAlarms takes at most this many names per call.
NAMES_PER_CALL = 100
CONNECT_TIMEOUT = 5
READ_TIMEOUT = 15


@dataclass
class AlarmSnapshot:
    """What DescribeAlarms said: alarm name → state, or why it could not be asked."""

    states: dict[str, str] = field(default_factory=dict)
    missing_names: list[str] = field(default_factory=list)
    prefix_empty: str | None = None
    error: str | None = None


@hookimpl
def releasegate_add_metrics() -> list[MetricInfo]:
    return list(catalogue.ALARMS)


def _needed(gate: Gate) -> bool:
    return any(r.metric == METRIC for r in gate.rules)


def fetch_alarms(config: AlarmsConfig, client: Any = None) -> AlarmSnapshot:
    """Ask CloudWatch for the alarms of an ``[alarms]`` table (every page)."""
    out = AlarmSnapshot()
    names = list(config.names)
    prefix = config.prefix
    from .._aws import boto3_missing

    problem = boto3_missing("CloudWatch alarms")
    if problem is not None:
        out.error = problem
        return out
    from botocore.exceptions import BotoCoreError, ClientError

    calls: list[dict[str, Any]] = [
        {"AlarmNames": names[i : i + NAMES_PER_CALL]} for i in range(0, len(names), NAMES_PER_CALL)
    ]
    if prefix:
        # DescribeAlarms refuses AlarmNames and AlarmNamePrefix together.
        calls.append({"AlarmNamePrefix": prefix})
    prefixed = 0
    try:
        if client is None:
            client = make_client(config.region)
        paginator = client.get_paginator("describe_alarms")
        for params in calls:
            for page in paginator.paginate(AlarmTypes=["MetricAlarm", "CompositeAlarm"], **params):
                for alarm in (*page.get("MetricAlarms", ()), *page.get("CompositeAlarms", ())):
                    out.states[alarm["AlarmName"]] = alarm["StateValue"]
                    prefixed += "AlarmNamePrefix" in params
    except (BotoCoreError, ClientError) as exc:
        out.error = f"CloudWatch DescribeAlarms failed: {exc}"
        return out
    out.missing_names = [n for n in names if n not in out.states]
    if prefix and not prefixed:
        out.prefix_empty = prefix
    return out


def make_client(region: str | None = None) -> Any:
    """A CloudWatch client from the standard configuration chain, with bounded timeouts."""
    import boto3
    from botocore.config import Config

    # Only timeouts here: retry mode and attempts stay with the user's AWS config.
    config = Config(connect_timeout=CONNECT_TIMEOUT, read_timeout=READ_TIMEOUT)
    return boto3.session.Session().client("cloudwatch", region_name=region, config=config)


@hookimpl(trylast=True)
def releasegate_collect(gate: Gate) -> None:
    config = gate.policy.alarms
    if config is None or not _needed(gate):
        return
    gate.data[DATA_KEY] = fetch_alarms(config, gate.data.get(CLIENT_KEY))


def _listing(names: list[str], limit: int = 5) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _selected(name: str, sel: Selection) -> bool:
    return sel.name is None or fnmatch.fnmatchcase(name, sel.name)


def judge(snapshot: AlarmSnapshot, sel: Selection) -> Measurement:
    """The measurement for one selection of the snapshot (see the module docstring)."""
    if snapshot.error:
        return Measurement.absent(snapshot.error)
    states = {n: s for n, s in snapshot.states.items() if _selected(n, sel)}
    firing = sorted(n for n, s in states.items() if s == "ALARM")
    if firing:
        return Measurement(float(len(firing)), message=f"in ALARM: {_listing(firing)}")
    problems = []
    insufficient = sorted(n for n, s in states.items() if s == "INSUFFICIENT_DATA")
    if insufficient:
        problems.append(f"INSUFFICIENT_DATA: {_listing(insufficient)}")
    missing = [n for n in snapshot.missing_names if _selected(n, sel)]
    if missing:
        problems.append(f"no such alarm: {_listing(missing)}")
    if snapshot.prefix_empty is not None:
        problems.append(f"no alarm name starts with {snapshot.prefix_empty!r}")
    if problems:
        return Measurement.absent("; ".join(problems))
    if not states:
        return Measurement.absent(f"no watched alarm matches {sel.name!r}")
    return Measurement(0.0, message=f"{len(states)} alarms OK")


@hookimpl
def releasegate_measure(gate: Gate, rule: Rule) -> Measurement | None:
    if rule.metric != METRIC:
        return None
    if gate.policy.alarms is None:
        return Measurement.absent("no [alarms] table in the policy: name the alarms to watch")
    unsupported = [k for k in rule.select.to_json() if k != "name"]
    if unsupported:
        return Measurement.absent(
            f"alarms.in_alarm selects by `name` only, not {', '.join(unsupported)}"
        )
    snapshot = gate.data.get(DATA_KEY)
    if not isinstance(snapshot, AlarmSnapshot):
        return Measurement.absent("the alarm states were not collected")
    return judge(snapshot, rule.select)


@hookimpl
def releasegate_metrics(gate: Gate) -> dict[str, float]:
    snapshot = gate.data.get(DATA_KEY)
    if not isinstance(snapshot, AlarmSnapshot):
        return {}
    m = judge(snapshot, Selection())
    return {} if m.value is None else {METRIC: m.value}
