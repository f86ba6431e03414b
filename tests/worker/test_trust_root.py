"""Trust, worker as root (SPEC §13, issue acceptance 1): the code under test gains
nothing beyond its own job — no credential by any route, no forged result, no other
job's directory, no process that outlives the job, no way to stop the worker."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pytest_releasegate.testing.emulator import CodePipelineEmulator

from .conftest import WorldPython
from .probe import ReportServer, probe_files
from .support import SERVE, Artifacts, enqueue, worker_command

WORKER_KEY_ID = "AKIAWORKERPROBE00042"
WORKER_SECRET = "WorkerProbeSecret/Key+0000000000000000042"
WORKER_TOKEN = "WorkerProbeSessionToken" + "q" * 60
CONTAINER_URI = "http://127.0.0.1:9/v2/credentials/probe-container-uri-0042"
CONTAINER_TOKEN = "ContainerProbeAuthToken0042" + "z" * 30


def artifact_credentials(n: int) -> dict[str, str]:
    return {
        "accessKeyId": f"ASIAARTIFACTPROBE{n:03d}",
        "secretAccessKey": f"ArtifactProbeSecret/{n:03d}+" + "s" * 20,
        "sessionToken": f"ArtifactProbeToken{n:03d}" + "t" * 40,
    }


NEEDLES = [
    WORKER_KEY_ID,
    WORKER_SECRET,
    WORKER_TOKEN,
    CONTAINER_URI,
    CONTAINER_TOKEN,
    *artifact_credentials(1).values(),
    *artifact_credentials(2).values(),
]


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1][:1]
    except (OSError, IndexError):
        return True
    return state in ("Z", "X")


def test_worker_as_root_children_gain_nothing_beyond_their_job(
    emulator: CodePipelineEmulator,
    artifacts: Artifacts,
    env: dict[str, str],
    spawn: Any,
    world_python: WorldPython,
    report_server: ReportServer,
    child_uids: range,
    world_work_dir: Path,
) -> None:
    python = world_python.require()
    env.update(
        {
            "AWS_ACCESS_KEY_ID": WORKER_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": WORKER_SECRET,
            "AWS_SESSION_TOKEN": WORKER_TOKEN,
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": CONTAINER_URI,
            "AWS_CONTAINER_AUTHORIZATION_TOKEN": CONTAINER_TOKEN,
            "TMPDIR": str(world_work_dir),
        }
    )
    emulator.configure(access_key_ids=[WORKER_KEY_ID])  # a forged key is refused
    jobs = {}
    for n in (1, 2):
        token = f"probe{n}"
        files = probe_files(
            token,
            report=report_server.url,
            endpoint=emulator.endpoint_url,
            needles=NEEDLES,
            peers=1,
        )
        job_id, _out = enqueue(
            emulator, artifacts, files, artifact_credentials=artifact_credentials(n)
        )
        report_server.jobs[token] = job_id
        jobs[token] = job_id
    worker = spawn(
        *SERVE,
        "--once",
        "--concurrency",
        "2",
        "--log-format",
        "json",
        "--child-uids",
        f"{child_uids.start}-{child_uids.stop - 1}",
        "--python",
        python,
        "--work-dir",
        str(world_work_dir),
        env=env,
    )
    assert worker.wait(240) == 0, worker.text()

    reports = report_server.reports
    assert sorted(reports) == ["probe1", "probe2"], worker.text()
    uids = {r["uid"] for r in reports.values()}
    assert len(uids) == 2 and uids <= set(child_uids)  # a uid of its own per job slot
    for token, report in reports.items():
        assert report["found"] == {}, (token, report["found"])
        assert report["parent_environ_readable"] is False
        assert report["parent_mem_readable"] is False
        assert report["home"].startswith(str(world_work_dir))  # HOME inside its job
        # Its forged success was refused: it had no key, and a made-up one is unknown.
        assert (report["forge_status"], report["forge_error"]) == (
            403,
            "UnrecognizedClientException",
        )
        (peer,) = report["peers"].values()
        assert peer == {
            "list": "Permission denied",
            "read": "Permission denied",
            "write": "Permission denied",
        }
        # It could only signal its own uid's processes: never the worker.
        assert worker.proc.pid not in report["killed"]
        assert _gone(report["daemon"]), f"the daemon {report['daemon']} outlived its job"
    # Every job exactly one result, the gate's: the probe's own test failed.
    for job_id in jobs.values():
        (result,) = emulator.results(job_id)
        assert result.kind == "failure"
        assert result.params["failureDetails"]["type"] == "JobFailed"
        assert "no failing tests" in result.params["failureDetails"]["message"]
    assert not [p for p in os.listdir("/proc") if p.isdigit() and _runs_as(int(p), child_uids)]
    left = [p.name for p in world_work_dir.iterdir() if not p.name.startswith("releasegate-uids")]
    assert left == []  # job directories removed (the uid locks stay, in TMPDIR)


def _runs_as(pid: int, uids: range) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    line = next(x for x in status.splitlines() if x.startswith("Uid:"))
    return int(line.split()[1]) in uids and not _gone(pid)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--child-uids", "{uids}", "--concurrency", "20"], "fewer than --concurrency 20"),
        (["--child-uids", "12-40"], "system uids are refused"),
        (
            ["--child-uids", "{uids}", "--python", "/nonexistent/python", "--work-dir", "{world}"],
            "cannot run as uid",
        ),
        (["--child-uids", "{uids}", "--work-dir", "{private}/work"], "not traversable"),
    ],
)
def test_a_root_worker_that_cannot_keep_jobs_apart_refuses_to_start(
    emulator: CodePipelineEmulator,
    env: dict[str, str],
    child_uids: range,
    world_work_dir: Path,
    tmp_path: Path,
    extra: list[str],
    message: str,
) -> None:
    if os.geteuid() != 0:
        pytest.skip("a root worker's start-up checks")
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    uids = f"{child_uids.start}-{child_uids.stop - 1}"
    args = [a.format(uids=uids, private=private, world=world_work_dir) for a in extra]
    proc = subprocess.run(
        worker_command(*SERVE, "--once", *args),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 4, proc.stderr
    (line,) = proc.stderr.splitlines()
    assert line.startswith("releasegate: ") and message in line
    assert emulator.calls("PollForJobs") == []
