"""The gate_http fixture and smoke-marked tests in real pytest runs (subprocess; xdist)."""

from __future__ import annotations

import importlib.util
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import pytest_releasegate.plugin

ROOT = Path(__file__).resolve().parents[2]
SERVICE = ROOT / "examples" / "smoke" / "service.py"


def _load_service_module() -> Any:
    spec = importlib.util.spec_from_file_location("smoke_example_service", SERVICE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def service() -> Iterator[Any]:
    """The example service from examples/smoke, on a free loopback port."""
    svc = _load_service_module().Service(0)
    thread = threading.Thread(target=svc.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield svc
    finally:
        svc.shutdown()
        svc.server_close()


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.delenv("RELEASEGATE_BASE_URL", raising=False)
    pytester.makeini("[pytest]\nmarkers =\n    smoke: a smoke test\n")
    pytester.makepyfile(
        test_app="""
        import pytest

        @pytest.mark.smoke
        @pytest.mark.parametrize("i", range(6))
        def test_health(gate_http, i):
            assert gate_http.get("/health").json() == {"status": "ok"}
            gate_http.get("api/items")  # 401: answered, so not a failed request

        @pytest.mark.smoke
        def test_down(gate_http):
            assert gate_http.get("/nope").status_code == 200

        def test_unit():
            pass
        """
    )
    return pytester


def _plugin_args() -> list[str]:
    # The plugin itself loads through its pytest11 entry point (the package is installed).
    if hasattr(pytest_releasegate.plugin, "gate_http"):
        return []
    return ["-p", "pytest_releasegate.fixtures"]  # until the adapter exports the fixture


def _run(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, dict[str, Any]]:
    out = pytester.path / "verdict.json"
    result = pytester.runpytest_subprocess(*_plugin_args(), "--gate", f"--gate-json={out}", *args)
    return result, json.loads(out.read_text())


SMOKE_RULES = """
[[rule]]
metric = "smoke.requests"
min = 1

[[rule]]
metric = "smoke.failed"
max = 1
"""


def test_smoke_tests_count_the_same_serially_and_under_xdist(project: Any, service: Any) -> None:
    project.makefile(".toml", releasegate=SMOKE_RULES)
    serial, v1 = _run(project, f"--gate-base-url={service.url}")
    parallel, v2 = _run(project, f"--gate-base-url={service.url}", "-n", "2")
    assert serial.ret == parallel.ret == 0, serial.stdout.str() + parallel.stdout.str()
    parallel.stdout.fnmatch_lines(["*2 workers*"])
    keys = ("smoke.passed", "smoke.failed", "smoke.requests", "smoke.error_rate")
    assert {k: v1["metrics"][k] for k in keys} == {
        "smoke.passed": 6,
        "smoke.failed": 1,
        "smoke.requests": 13,
        "smoke.error_rate": 0.0,
    }
    assert {k: v2["metrics"][k] for k in keys} == {k: v1["metrics"][k] for k in keys}
    assert v2["metrics"]["smoke.latency_ms.max"] > 0


def test_base_url_from_the_environment(project: Any, service: Any, monkeypatch: Any) -> None:
    project.makefile(".toml", releasegate=SMOKE_RULES)
    monkeypatch.setenv("RELEASEGATE_BASE_URL", service.url)
    _result, verdict = _run(project)
    assert verdict["metrics"]["smoke.requests"] == 13


def test_without_a_base_url_smoke_tests_skip_and_the_rule_has_no_data(project: Any) -> None:
    project.makefile(".toml", releasegate=SMOKE_RULES)
    result, verdict = _run(project, "-rs")
    result.stdout.fnmatch_lines(["*no base URL for smoke tests: pass --gate-base-url*"])
    assert verdict["verdict"] == "error"
    assert result.ret == 3


def test_env_header_values_never_appear_in_any_output(
    project: Any, service: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "demo-token"  # the example service accepts it on /api/items
    project.makefile(
        ".toml",
        releasegate=SMOKE_RULES
        + """
[[smoke]]
name = "items"
url = "{base_url}/api/items"
headers = { Authorization = "Bearer ${DEMO_TOKEN}" }
expect-json = { items = [{ name = "coffee" }] }
retries = 1

[bake]
duration = 0.2
interval = 0.05
consecutive-failure-limit = 2
""",
    )
    monkeypatch.setenv("DEMO_TOKEN", secret)
    result, verdict = _run(
        project,
        f"--gate-base-url={service.url}",
        "--gate-junit=v.xml",
        "--gate-markdown=v.md",
        "-n",
        "2",
    )
    assert verdict["verdict"] == "fail"
    bake = next(r for r in verdict["rules"] if r["name"] == "bake")
    assert "2 bad rounds in a row" in bake["message"]
    texts = [
        result.stdout.str(),
        result.stderr.str(),
        (project.path / "verdict.json").read_text(),
        (project.path / "v.xml").read_text(),
        (project.path / "v.md").read_text(),
    ]
    assert "JSON mismatch at $.items[0]" in texts[2]  # the check ran with the header
    for text in texts:
        assert secret not in text
