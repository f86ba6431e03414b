"""The job worker's own cost per job, and the throughput of a small fleet.

Runs `releasegate worker` processes against the in-process CodePipeline
emulator and a moto S3 server on loopback, with trivial jobs (a zipped project
with one passing test and a two-rule pyproject policy).

    python benchmarks/bench_worker.py                    # 20 jobs for overhead, 100 for throughput
    python benchmarks/bench_worker.py --overhead-jobs 50 --queue 200 --workers 4

1. overhead: one worker, --concurrency 1, jobs queued one at a time. Per job,
   the worker logs (JSON) its time from the acknowledgement to the recorded
   result and the gate child's wall time; overhead = the difference
   (acknowledge, artifact download and safe unzip, environment, spawn, verdict
   read, output zip and upload, publish). Printed: median, p90, max; the
   child's median for scale. Target: ≤ 150 ms.
2. fleet: --queue jobs queued at once, --workers worker processes (each
   --concurrency N); wall time from the workers' start to the last result,
   and jobs per second.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pytest_releasegate.codepipeline.action_type import create_request, register  # noqa: E402
from pytest_releasegate.codepipeline.artifacts import output_zip  # noqa: E402
from pytest_releasegate.testing.emulator import CodePipelineEmulator, S3Artifact  # noqa: E402

PROVIDER = "ReleaseGate"
BUCKET = "bench-artifacts"
POLICY = """
[tool.releasegate]
[[tool.releasegate.rule]]
name = "no failing tests"
metric = "tests.failed"
max = 0

[[tool.releasegate.rule]]
name = "tests ran"
metric = "tests.total"
min = 1
"""
PROJECT = output_zip(
    {"pyproject.toml": POLICY.encode(), "tests/test_app.py": b"def test_ok():\n    pass\n"}
)


def start_moto() -> tuple[Any, str]:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    return server, f"http://{host}:{port}"


def worker_env(emu: CodePipelineEmulator, moto_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTEST_"))}
    env.update(emu.env())
    env.update(
        {
            "AWS_ENDPOINT_URL_S3": moto_url,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
            "PYTHONPATH": str(REPO),
        }
    )
    return env


def enqueue(emu: CodePipelineEmulator, s3: Any, n: int) -> None:
    key = f"in/{n}.zip"
    s3.put_object(Bucket=BUCKET, Key=key, Body=PROJECT)
    emu.enqueue_job(
        PROVIDER,
        configuration={"GateId": "bench"},
        input_artifacts=[S3Artifact("Source", BUCKET, key)],
        output_artifacts=[S3Artifact("Verdict", BUCKET, f"out/{n}.zip")],
    )


def spawn(env: dict[str, str], log: Path, concurrency: int) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "pytest_releasegate.codepipeline.worker",
        "--provider",
        PROVIDER,
    ]
    command += ["--query", "GateId=bench", "--concurrency", str(concurrency)]
    command += ["--poll-interval", "0.05", "--log-format", "json"]
    # The children share the worker's uid here: this interpreter may live where other
    # uids cannot run it (pyenv under /root). Give --python/--child-uids to measure that.
    command += ["--child-uids", "off", "--allow-shared-uid"]
    with open(log, "wb") as out:
        return subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)


def stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        proc.wait(timeout=120)


def finished_events(log: Path) -> list[dict[str, Any]]:
    events = []
    for line in log.read_text().splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if record.get("event") == "job.finished":
                events.append(record)
    return events


def wait_results(emu: CodePipelineEmulator, n: int, timeout: float = 1800) -> None:
    deadline = time.monotonic() + timeout
    while len(emu.results()) < n:
        if time.monotonic() > deadline:
            raise SystemExit(f"only {len(emu.results())} of {n} results after {timeout} s")
        time.sleep(0.02)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def bench_overhead(s3: Any, moto_url: str, jobs: int, tmp: Path) -> None:
    with CodePipelineEmulator() as emu:
        register(emu.client(), create_request(PROVIDER))
        log = tmp / "overhead.log"
        proc = spawn(worker_env(emu, moto_url), log, concurrency=1)
        for n in range(jobs):
            enqueue(emu, s3, n)
            wait_results(emu, n + 1)
        stop([proc])
    events = finished_events(log)[1:]  # the first job also warms the worker up
    overhead = [e["overhead_ms"] for e in events]
    child = [e["child_ms"] for e in events]
    assert all(e["outcome"] == "success" for e in events), events
    print(f"overhead per job ({len(events)} jobs after one warm-up, concurrency 1):")
    median = statistics.median(overhead)
    verdict = "met" if median <= 150 else "MISSED"
    print(
        f"  worker overhead  median {median:7.1f} ms   "
        f"p90 {pct(overhead, 90):7.1f} ms   max {max(overhead):7.1f} ms   "
        f"(target <= 150 ms: {verdict})"
    )
    print(f"  pytest child     median {statistics.median(child):7.1f} ms   (for scale)")


def bench_fleet(
    s3: Any, moto_url: str, queue: int, workers: int, concurrency: int, tmp: Path
) -> None:
    with CodePipelineEmulator() as emu:
        register(emu.client(), create_request(PROVIDER))
        for n in range(queue):
            enqueue(emu, s3, 10_000 + n)
        env = worker_env(emu, moto_url)
        started = time.monotonic()
        procs = [spawn(env, tmp / f"fleet-{i}.log", concurrency) for i in range(workers)]
        wait_results(emu, queue)
        elapsed = time.monotonic() - started
        stop(procs)
        results = emu.results()
        acks = [c.params["jobId"] for c in emu.calls("AcknowledgeJob")]
    assert len({r.job_id for r in results}) == queue == len(results) == len(acks)
    events = [finished_events(tmp / f"fleet-{i}.log") for i in range(workers)]
    slots = min(workers * concurrency, os.cpu_count() or 1)
    floor = sum(e["child_ms"] for es in events for e in es) / 1000 / slots
    print(
        f"{queue} queued trivial jobs, {workers} workers x concurrency {concurrency} "
        f"on {os.cpu_count()} CPUs: {elapsed:.1f} s ({queue / elapsed:.2f} jobs/s); "
        f"jobs per worker {[len(es) for es in events]}; every job one result, one "
        f"acknowledgement; the pytest children alone: {floor:.1f} s over {slots} slots"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--overhead-jobs", type=int, default=20)
    parser.add_argument("--queue", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--only", choices=("overhead", "fleet"))
    args = parser.parse_args()

    import boto3

    server, moto_url = start_moto()
    try:
        s3 = boto3.client(
            "s3",
            endpoint_url=moto_url,
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
        )
        s3.create_bucket(Bucket=BUCKET)
        with tempfile.TemporaryDirectory(prefix="bench-worker-") as tmp:
            if args.only in (None, "overhead"):
                bench_overhead(s3, moto_url, args.overhead_jobs, Path(tmp))
            if args.only in (None, "fleet"):
                bench_fleet(s3, moto_url, args.queue, args.workers, args.concurrency, Path(tmp))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
