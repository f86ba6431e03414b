"""``--export-env``: RELEASEGATE_* lines that POSIX sh sources literally, executing nothing."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from pytest_releasegate.model import Outcome, Verdict
from pytest_releasegate.sinks.envfile import env_name, env_text, sh_quote

HOSTILE = (
    "it's a \"test\" $(touch pwned1) `touch pwned2` ${HOME} $HOME \\ \n; touch pwned3 &&'' end"
)


def verdict(profile: str = "ci", metrics: dict[str, float] | None = None) -> Verdict:
    return Verdict(
        verdict=Outcome.FAIL,
        profile=profile,
        policy="releasegate.toml",
        rules=(),
        metrics=metrics or {"tests.failed": 2, "api.error_rate": 1.25, "smoke.latency_ms.p95": 88},
        context={},
        started_at="2026-11-29T18:00:00+00:00",
        finished_at="2026-11-29T18:00:01+00:00",
        tool_version="1.0 'quoted' $(touch pwned4)",
    )


def source(path: Path, cwd: Path) -> dict[str, str]:
    """What sh sees after sourcing ``path`` (NUL-separated, so newlines survive)."""
    script = 'set -a; . "$1"; set +a; for v in $(env | sed -n "s/^\\(RELEASEGATE_[A-Z0-9_]*\\)=.*/\\1/p"); do printf "%s=" "$v"; eval "printf %s \\"\\$$v\\""; printf "\\0"; done'
    out = subprocess.run(
        ["sh", "-c", script, "sh", str(path)], cwd=cwd, capture_output=True, check=True, timeout=30
    ).stdout.decode()
    return dict(item.split("=", 1) for item in out.split("\0") if item)


def test_names_match_the_output_variables_upper_cased() -> None:
    assert env_name("verdict") == "RELEASEGATE_VERDICT"
    assert env_name("api_error-rate@x") == "RELEASEGATE_API_ERROR_RATE_X"


def test_sourcing_gives_every_value_literally_and_executes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "releasegate.env"
    path.write_text(env_text(verdict(profile=HOSTILE)), encoding="utf-8")
    env = source(path, tmp_path)
    assert env["RELEASEGATE_PROFILE"] == HOSTILE
    assert env["RELEASEGATE_TOOL_VERSION"] == "1.0 'quoted' $(touch pwned4)"
    assert env["RELEASEGATE_VERDICT"] == "fail"
    assert env["RELEASEGATE_RESULT"] == "failure"
    assert env["RELEASEGATE_TESTS_FAILED"] == "2"
    assert env["RELEASEGATE_API_ERROR_RATE"] == "1.25"
    assert env["RELEASEGATE_SMOKE_LATENCY_MS_P95"] == "88"
    assert not list(tmp_path.glob("pwned*"))


@pytest.mark.parametrize("value", ["", "'", "''", "a'b", "\n", "$", "`", "\\", " x ", "\t"])
def test_quoting_round_trips_through_sh(value: str, tmp_path: Path) -> None:
    out = subprocess.run(
        ["sh", "-c", f'X={sh_quote(value)}; printf %s "$X"'],
        capture_output=True,
        check=True,
        timeout=30,
    ).stdout.decode()
    assert out == value
