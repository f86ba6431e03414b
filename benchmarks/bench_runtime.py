"""A 10-round bake sampling 20 CloudWatch and 5 Prometheus runtime metrics on loopback:
the gate's own time per round beyond the backend calls.

    python benchmarks/bench_runtime.py [--rounds 10] [--cloudwatch 20] [--prometheus 5] [--repeat 5]

Backends: a moto server for CloudWatch (the metrics' data put first, so every
query has datapoints), and for Prometheus the real server when ``prometheus``
is installed (scraping itself), else a loopback stand-in answering a fixed
one-element vector. The whole gate runs (policy load, collect, the bake with
one ``GetMetricData`` request and five instant queries per round, per-round
judging of 25 rules, evaluation, evidence).

Method: the bake's clock is read once at the start of each round, so a
round's wall time is the gap between two readings; the backend calls are
timed where they leave the process (the boto3 client's ``get_metric_data``
and the requests session's ``post``, wrapped here, in the benchmark only).
Overhead per round = round wall time − time inside backend calls. The first
round also creates the boto3 client (a one-off, reported apart). Target:
≤ 5 ms per round.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGET_MS = 5.0


class Timed:
    """Accumulates the wall time spent inside wrapped backend calls."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.calls = 0

    def wrap(self, fn: Any) -> Any:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - start
                self.calls += 1

        return timed


def stand_in_prometheus() -> tuple[str, Any]:
    body = json.dumps(
        {
            "status": "success",
            "data": {"resultType": "vector", "result": [{"metric": {}, "value": [0, "0.5"]}]},
        }
    ).encode()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}", server


def real_prometheus() -> tuple[str, Any] | None:
    if not shutil.which("prometheus"):
        return None
    from tests.runtime_support import PrometheusServer, free_port

    server = PrometheusServer(free_port())  # scrapes a port nobody serves; `up` still answers
    server.wait_until_up = lambda timeout=60.0: None  # type: ignore[method-assign]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            server.query("vector(1)")
            return server.url, server
        except Exception:  # noqa: BLE001 - still starting
            time.sleep(0.2)
    server.stop()
    return None


def policy(cw: int, prom: int, rounds: int, prom_url: str) -> str:
    out = []
    for i in range(cw):
        out.append(
            f'[[metric]]\nname = "cw.m{i}"\nprovider = "cloudwatch"\nwindow = "5m"\n'
            f'queries = [{{ id = "e", namespace = "Bench", metric = "Errors{i}", stat = "Sum", return = false }}, '
            f'{{ id = "n", namespace = "Bench", metric = "Requests{i}", stat = "Sum", return = false }}, '
            '{ id = "rate", expression = "e" }]\n'
            f'[[rule]]\nmetric = "cw.m{i}"\nmax = 1000\n'
        )
    for i in range(prom):
        out.append(
            f'[[metric]]\nname = "prom.m{i}"\nprovider = "prometheus"\nurl = "{prom_url}"\n'
            f"query = 'scalar(vector({i}.5))'\n"
            f'[[rule]]\nmetric = "prom.m{i}"\nmax = 1000\n'
        )
    out.append(f'[bake]\nduration = "{rounds * 0.001}s"\ninterval = "0.001s"\n')
    return "".join(out)


def one_bake(folder: Path, text: str, rounds: int) -> dict[str, Any]:
    from pytest_releasegate.engine import Gate, GateOptions
    from pytest_releasegate.manager import get_plugin_manager, known_metrics
    from pytest_releasegate.policy import load_policy
    from pytest_releasegate.sources import cloudwatch_metrics, prometheus

    backend = Timed()
    real_client, real_session = cloudwatch_metrics.make_client, prometheus.make_session

    def client(region: str | None, timeout: float) -> Any:
        c = real_client(region, timeout)
        c.get_metric_data = backend.wrap(c.get_metric_data)
        return c

    def session(pool: int) -> Any:
        s = real_session(pool)
        s.post = backend.wrap(s.post)  # type: ignore[method-assign]
        return s

    cloudwatch_metrics.make_client = client  # type: ignore[assignment]
    prometheus.make_session = session  # type: ignore[assignment]
    try:
        path = folder / "releasegate.toml"
        path.write_text(text, encoding="utf-8")
        pm = get_plugin_manager(entry_points=False)
        gate = Gate(
            load_policy(path, rootdir=folder, metrics=known_metrics(pm)),
            GateOptions(),
            rootdir=folder,
            pm=pm,
            environ={},
        )
        marks: list[
            tuple[float, float]
        ] = []  # (wall clock at a round's start, backend seconds so far)

        def clock() -> float:
            marks.append((time.perf_counter(), backend.seconds))
            return time.time()

        gate.data["smoke:clock"] = clock
        gate.data["smoke:progress"] = None
        start = time.perf_counter()
        verdict = gate.run()
        total = time.perf_counter() - start
        marks.append((start + total, backend.seconds))  # after the last round (and evaluation)
    finally:
        cloudwatch_metrics.make_client = real_client  # type: ignore[assignment]
        prometheus.make_session = real_session  # type: ignore[assignment]
    if verdict.verdict.value != "pass" or any(
        len(m["samples"]) != rounds for m in verdict.runtime.values()
    ):
        raise SystemExit(f"the bake did not pass with {rounds} samples each: {verdict.headline()}")
    per_round = []
    for (t0, b0), (t1, b1) in itertools.pairwise(marks):
        per_round.append(((t1 - t0) * 1000, (b1 - b0) * 1000))
    return {"rounds": per_round, "total_ms": total * 1000, "calls": backend.calls}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--cloudwatch", type=int, default=20)
    parser.add_argument("--prometheus", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    import logging

    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)

    for k, v in {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        os.environ[k] = v
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    os.environ["AWS_ENDPOINT_URL_CLOUDWATCH"] = f"http://{host}:{port}"
    cw = boto3.client("cloudwatch", endpoint_url=os.environ["AWS_ENDPOINT_URL_CLOUDWATCH"])
    now = dt.datetime.now(dt.timezone.utc)
    for i in range(args.cloudwatch):
        cw.put_metric_data(
            Namespace="Bench",
            MetricData=[
                {"MetricName": name, "Timestamp": now - dt.timedelta(minutes=m), "Value": 1.0}
                for name in (f"Errors{i}", f"Requests{i}")
                for m in (1, 2, 3)
            ],
        )
    real = real_prometheus()
    prom_url, prom = real or stand_in_prometheus()
    kind = "real Prometheus" if real else "loopback stand-in"
    text = policy(args.cloudwatch, args.prometheus, args.rounds, prom_url)
    print(
        f"bench_runtime: {args.rounds}-round bake, {args.cloudwatch} CloudWatch metrics "
        f"({3 * args.cloudwatch} queries, moto), {args.prometheus} Prometheus metrics ({kind})"
    )
    overheads: list[float] = []
    firsts: list[float] = []
    lasts: list[float] = []
    backend_ms: list[float] = []
    round_ms: list[float] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            one_bake(Path(tmp), text, args.rounds)  # warm-up: imports, moto's first answers
            for _ in range(args.repeat):
                result = one_bake(Path(tmp), text, args.rounds)
                rounds = result["rounds"][: args.rounds]
                if result["calls"] != args.rounds * (1 + args.prometheus):
                    raise SystemExit(
                        f"expected {1 + args.prometheus} backend calls per round, got {result['calls']}"
                    )
                firsts.append(rounds[0][0] - rounds[0][1])
                lasts.append(rounds[-1][0] - rounds[-1][1])
                for wall, backend in rounds[1:-1]:
                    overheads.append(wall - backend)
                    backend_ms.append(backend)
                    round_ms.append(wall)
    finally:
        moto.stop()
        if real:
            prom.stop()
        else:
            prom.shutdown()
    overheads.sort()
    p90 = overheads[int(0.9 * (len(overheads) - 1))]
    print(
        f"  rounds measured: {len(overheads)} (rounds 2..{args.rounds - 1} of {args.repeat} bakes)"
    )
    print(f"  round wall time: median {statistics.median(round_ms):.2f} ms")
    print(
        f"  inside backend calls (1 GetMetricData + {args.prometheus} queries): median {statistics.median(backend_ms):.2f} ms"
    )
    print(
        f"  gate overhead per round: median {statistics.median(overheads):.2f} ms, p90 {p90:.2f} ms, max {overheads[-1]:.2f} ms"
    )
    print(
        f"  first round beyond backend calls (creates the boto3 client): median {statistics.median(firsts):.1f} ms"
    )
    print(
        f"  last round + judging 25 rules + evidence, beyond backend calls: median {statistics.median(lasts):.1f} ms"
    )
    met = statistics.median(overheads) <= TARGET_MS
    print(f"  target: overhead per round <= {TARGET_MS:g} ms: {'met' if met else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
