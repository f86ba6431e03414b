"""50 smoke checks against an endpoint that answers in 100 ms: ours vs a sequential client.

    python benchmarks/bench_smoke.py [--checks 50] [--latency-ms 100] [--repeat 3]

Runs the whole gate (policy load, the pooled concurrent checks, evaluation)
against the example service from ``examples/smoke`` in slow mode on a free
loopback port, then the same requests one after another through one plain
``requests.Session``. Prints the best time of each and their ratio. Target:
ours ≤ 0.5 s for 50 checks (a sequential client needs ≥ 5 s).
"""

from __future__ import annotations

import argparse
import importlib.util
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests

from pytest_releasegate.engine import Gate, GateOptions
from pytest_releasegate.manager import get_plugin_manager, known_metrics
from pytest_releasegate.policy import load_policy

SERVICE = Path(__file__).resolve().parents[1] / "examples" / "smoke" / "service.py"


def start_service(latency_ms: int) -> Any:
    spec = importlib.util.spec_from_file_location("smoke_example_service", SERVICE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    service = module.Service(0, "slow", slow_ms=latency_ms)
    threading.Thread(target=service.serve_forever, args=(0.05,), daemon=True).start()
    return service


def ours(url: str, checks: int, folder: Path) -> float:
    policy = '[[rule]]\nmetric = "smoke.failed"\nmax = 0\n' + "".join(
        f'[[smoke]]\nname = "c{i}"\nurl = "{{base_url}}/health"\n' for i in range(checks)
    )
    path = folder / "releasegate.toml"
    path.write_text(policy, encoding="utf-8")
    pm = get_plugin_manager(entry_points=False)
    gate = Gate(
        load_policy(path, rootdir=folder, metrics=known_metrics(pm)),
        GateOptions(base_url=url),
        rootdir=folder,
        pm=pm,
        environ={},
    )
    start = time.perf_counter()
    verdict = gate.run()
    elapsed = time.perf_counter() - start
    if verdict.metrics.get("smoke.passed") != checks:
        raise SystemExit(f"checks did not all pass: {verdict.metrics}")
    return elapsed


def sequential(url: str, checks: int) -> float:
    with requests.Session() as session:
        start = time.perf_counter()
        for _ in range(checks):
            session.get(f"{url}/health", timeout=5).raise_for_status()
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checks", type=int, default=50)
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    service = start_service(args.latency_ms)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            a = min(ours(service.url, args.checks, Path(tmp)) for _ in range(args.repeat))
        b = min(sequential(service.url, args.checks) for _ in range(args.repeat))
    finally:
        service.shutdown()
        service.server_close()
    print(f"{args.checks} checks, endpoint latency {args.latency_ms} ms, best of {args.repeat}")
    print(f"  releasegate (pooled, concurrent): {a:.3f} s")
    print(f"  sequential requests.Session:      {b:.3f} s")
    print(f"  ratio ours/sequential:            {a / b:.3f}")
    print(f"  target ours <= 0.5 s:             {'met' if a <= 0.5 else 'MISSED'}")


if __name__ == "__main__":
    main()
