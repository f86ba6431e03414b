"""Policy loading and validation: one line per mistake, naming file, rule and key."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from pytest_releasegate.manager import get_plugin_manager, known_metrics
from pytest_releasegate.model import Level, OnMissing, Relative
from pytest_releasegate.policy import PolicyError, default_policy, load_policy, parse_duration

METRICS = set(known_metrics(get_plugin_manager(entry_points=False)))


def load(tmp_path: Path, body: str, name: str = "pyproject.toml") -> object:
    text = ("[tool.releasegate]\n" if name == "pyproject.toml" else "") + body
    (tmp_path / name).write_text(text)
    return load_policy(rootdir=tmp_path, metrics=METRICS)


def problems(tmp_path: Path, body: str) -> list[str]:
    with pytest.raises(PolicyError) as info:
        load(tmp_path, body)
    return info.value.problems


def test_full_spec_example_loads(tmp_path: Path) -> None:
    policy = load(
        tmp_path,
        """
default-profile = "ci"
baseline = ".releasegate/baseline.json"
warn-as = "success"
[[tool.releasegate.rule]]
name = "line coverage"
metric = "coverage.line_percent"
min = 85
warn-below = 90
max-drop = 0.5
[[tool.releasegate.rule]]
name = "rel"
metric = "tests.pass_rate"
max-drop = "5%"
[[tool.releasegate.rule]]
name = "few skips"
metric = "tests.skipped"
max = 5
level = "info"
on-missing = "skip"
profiles = ["ci"]
waiver = { reason = "TICKET-12", expires = 2026-12-31 }
[[tool.releasegate.quarantine]]
nodeid = "tests/test_sync.py::test_remote_clock"
reason = "TICKET-40"
expires = 2027-01-15
[tool.releasegate.profiles.ci]
[tool.releasegate.profiles.pre-push]
rules = ["line coverage"]
""",
    )
    assert policy.default_profile == "ci"  # type: ignore[attr-defined]
    rules = {r.name: r for r in policy.rules}  # type: ignore[attr-defined]
    assert rules["line coverage"].max_drop == Relative(0.5)
    assert rules["rel"].max_drop == Relative(5.0, percent=True)
    assert rules["few skips"].level is Level.INFO
    assert rules["few skips"].on_missing is OnMissing.SKIP
    assert rules["few skips"].waiver.expires == dt.date(2026, 12, 31)  # type: ignore[union-attr]
    assert [r.name for r in policy.rules_for("pre-push")] == ["line coverage"]  # type: ignore[attr-defined]
    assert [r.name for r in policy.rules_for("default")] == ["line coverage", "rel"]  # type: ignore[attr-defined]


def test_unknown_metric_suggests_the_closest(tmp_path: Path) -> None:
    (msg,) = problems(
        tmp_path, '[[tool.releasegate.rule]]\nname = "r"\nmetric = "tests.faild"\nmax = 0\n'
    )
    assert msg.startswith("pyproject.toml, rule 'r', key 'metric'")
    assert "unknown metric 'tests.faild'" in msg
    assert "did you mean 'tests.failed'" in msg


def test_unknown_key_suggests_the_closest(tmp_path: Path) -> None:
    (msg,) = problems(
        tmp_path,
        '[[tool.releasegate.rule]]\nname = "r"\nmetric = "tests.failed"\nmax = 0\nwarn_below = 3\n',
    )
    assert "rule 'r', key 'warn_below'" in msg
    assert "did you mean 'warn-below'" in msg


def test_min_greater_than_max(tmp_path: Path) -> None:
    (msg,) = problems(
        tmp_path,
        '[[tool.releasegate.rule]]\nname = "r"\nmetric = "tests.total"\nmin = 5\nmax = 1\n',
    )
    assert "rule 'r', key 'min'" in msg and "greater than max" in msg


def test_duplicate_rule_name(tmp_path: Path) -> None:
    body = '[[tool.releasegate.rule]]\nname = "r"\nmetric = "tests.total"\nmin = 1\n' * 2
    (msg,) = problems(tmp_path, body)
    assert "rule 'r', key 'name'" in msg and "duplicate" in msg


def test_unknown_profile_in_rule(tmp_path: Path) -> None:
    (msg,) = problems(
        tmp_path,
        '[[tool.releasegate.rule]]\nname = "r"\nmetric = "tests.total"\nmin = 1\nprofiles = ["deplyo"]\n'
        "[tool.releasegate.profiles.deploy]\n",
    )
    assert "rule 'r', key 'profiles'" in msg and "did you mean 'deploy'" in msg


def test_waiver_without_expires(tmp_path: Path) -> None:
    (msg,) = problems(
        tmp_path,
        '[[tool.releasegate.rule]]\nname = "r"\nmetric = "tests.total"\nmin = 1\nwaiver = { reason = "x" }\n',
    )
    assert "rule 'r', key 'waiver.expires'" in msg


def test_waiver_without_reason(tmp_path: Path) -> None:
    (msg,) = problems(
        tmp_path,
        '[[tool.releasegate.rule]]\nname = "r"\nmetric = "tests.total"\nmin = 1\nwaiver = { expires = 2030-01-01 }\n',
    )
    assert "key 'waiver.reason'" in msg


def test_every_mistake_is_reported_once(tmp_path: Path) -> None:
    msgs = problems(
        tmp_path,
        '[[tool.releasegate.rule]]\nname = "a"\nmetric = "tests.nope"\nmax = 0\n'
        '[[tool.releasegate.rule]]\nname = "b"\nmetric = "tests.total"\nmin = "one"\n',
    )
    assert len(msgs) == 2
    assert any("rule 'a'" in m for m in msgs) and any("rule 'b', key 'min'" in m for m in msgs)


def test_wrong_types_and_unknown_top_level_key(tmp_path: Path) -> None:
    msgs = problems(
        tmp_path,
        'warn_as = "failure"\n[[tool.releasegate.rule]]\nname = "r"\nmetric = "tests.total"\nmin = 1\nlevel = "fatal"\n',
    )
    assert any(
        "key 'tool.releasegate.warn_as'" in m and "did you mean 'warn-as'" in m for m in msgs
    )
    assert any("key 'level'" in m and "fail, warn, info" in m for m in msgs)


def test_rule_without_threshold_is_an_error(tmp_path: Path) -> None:
    (msg,) = problems(tmp_path, '[[tool.releasegate.rule]]\nname = "r"\nmetric = "tests.total"\n')
    assert "no threshold" in msg


def test_profile_resolution(tmp_path: Path) -> None:
    policy = load(
        tmp_path,
        '[[tool.releasegate.rule]]\nname = "r"\nmetric = "tests.total"\nmin = 1\nprofiles = ["deploy"]\n'
        "[tool.releasegate.profiles.deploy]\n[tool.releasegate.profiles.empty]\nrules = []\n",
    )
    assert policy.resolve_profile("deploy") == "deploy"  # type: ignore[attr-defined]
    with pytest.raises(PolicyError, match="unknown profile 'deplyo'; did you mean 'deploy'"):
        policy.resolve_profile("deplyo")  # type: ignore[attr-defined]
    with pytest.raises(PolicyError, match="profile 'default' has no rules"):
        policy.resolve_profile(None)  # type: ignore[attr-defined]
    with pytest.raises(PolicyError, match="profile 'empty' has no rules"):
        policy.resolve_profile("empty")  # type: ignore[attr-defined]


def test_standalone_file_has_keys_at_top_level(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.releasegate]\n")  # loses to releasegate.toml
    policy = load(
        tmp_path, '[[rule]]\nname = "r"\nmetric = "tests.total"\nmin = 1\n', name="releasegate.toml"
    )
    assert policy.source == "releasegate.toml"  # type: ignore[attr-defined]
    assert [r.name for r in policy.rules] == ["r"]  # type: ignore[attr-defined]


def test_no_policy_means_the_builtin_default(tmp_path: Path) -> None:
    policy = load_policy(rootdir=tmp_path, metrics=METRICS)
    assert policy == default_policy()
    assert {r.metric for r in policy.rules} == {"tests.failed", "tests.errors", "tests.total"}


def test_bad_toml_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "gate.toml").write_text("[[rule]\n")
    with pytest.raises(PolicyError, match=r"gate.toml: not valid TOML"):
        load_policy(tmp_path / "gate.toml", rootdir=tmp_path, metrics=METRICS)


def test_missing_explicit_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match=r"nope\.toml: policy file not found"):
        load_policy("nope.toml", rootdir=tmp_path, metrics=METRICS)


def test_all_advisory_policy_is_flagged(tmp_path: Path) -> None:
    policy = load(
        tmp_path,
        '[[tool.releasegate.rule]]\nname = "r"\nmetric = "tests.total"\nmin = 1\nlevel = "warn"\n',
    )
    (warning,) = policy.warnings_for("default")  # type: ignore[attr-defined]
    assert "cannot block a release" in warning


def test_bake_block_adds_the_bake_rule(tmp_path: Path) -> None:
    smoke = '[[tool.releasegate.smoke]]\nname = "health"\nurl = "{base_url}/health"\n'
    policy = load(
        tmp_path,
        smoke
        + '[tool.releasegate.bake]\nduration = "10m"\ninterval = "30s"\nprofiles = ["deploy"]\n'
        "[tool.releasegate.profiles.deploy]\n",
    )
    (bake,) = policy.rules  # type: ignore[attr-defined]
    assert bake.name == "bake" and bake.max == 0 and bake.profiles == ("deploy",)
    assert policy.bake is not None and policy.bake.duration == 600
    assert policy.rules_for("default") == ()  # type: ignore[attr-defined]
    (msg,) = problems(tmp_path, '[tool.releasegate.bake]\nduration = "10m"\n')
    assert "none are declared" in msg


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("10m", 600),
        ("30s", 30),
        ("1h30m", 5400),
        ("250ms", 0.25),
        (12, 12),
        ("ten", None),
        ("5x", None),
    ],
)
def test_parse_duration(text: object, seconds: float | None) -> None:
    assert parse_duration(text) == seconds


def test_coverage_rules_select_by_path_only(tmp_path: Path) -> None:
    (msg,) = problems(
        tmp_path,
        '[[tool.releasegate.rule]]\nname = "r"\nmetric = "coverage.percent"\nmin = 80\n'
        'select = { marker = "critical" }\n',
    )
    assert "rule 'r', key 'select.marker'" in msg and "by `path` only" in msg


@pytest.mark.parametrize(
    "name", ["smoke latency", "bake time", "alarms quiet", "quarantine budget"]
)
def test_a_rule_is_named_as_a_rule_whatever_its_name(tmp_path: Path, name: str) -> None:
    (msg,) = problems(
        tmp_path,
        f'[[tool.releasegate.rule]]\nname = "{name}"\nmetric = "tests.total"\nmin = 1\nmaxx = 2\n',
    )
    assert msg.startswith(f"pyproject.toml, rule '{name}', key 'maxx'")
