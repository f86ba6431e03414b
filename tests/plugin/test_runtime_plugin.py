"""`pytest --gate` with a runtime metric: samples in the terminal summary, the env file written."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

POLICY = """
[tool.releasegate]
[[tool.releasegate.rule]]
name = "no failing tests"
metric = "tests.failed"
max = 0

[[tool.releasegate.metric]]
name = "api.queue_depth"
provider = "prometheus"
url = "{url}"
query = 'scalar(vector(7))'

[[tool.releasegate.rule]]
name = "queue short"
metric = "api.queue_depth"
max = 5
"""


def test_a_runtime_rule_fails_the_gate_and_the_env_file_says_so(
    pytester: pytest.Pytester, prometheus: Any
) -> None:
    (pytester.path / "pyproject.toml").write_text(POLICY.format(url=prometheus.url))
    pytester.makepyfile(test_a="def test_ok():\n    pass\n")
    result = pytester.runpytest_subprocess("--gate", "--gate-export-env", "out/gate.env")
    assert result.ret == 1
    result.stdout.fnmatch_lines(
        [
            "releasegate: FAIL — 1 of 2 rules failed*",
            "*queue short*7*max 5*FAIL*",
            "*samples api.queue_depth (prometheus): 7 ?1 sample?",  # ? for the brackets
        ]
    )
    sourced = subprocess.run(
        [
            "sh",
            "-c",
            "set -a; . out/gate.env; set +a; echo $RELEASEGATE_VERDICT $RELEASEGATE_API_QUEUE_DEPTH",
        ],
        cwd=pytester.path,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout.split()
    assert sourced == ["fail", "7"]
