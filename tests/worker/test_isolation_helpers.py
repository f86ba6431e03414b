"""The process-level guards of SPEC §13, one by one (pytest_releasegate.codepipeline.isolation)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_releasegate.codepipeline.isolation import (
    UidRangeError,
    UnsafeFile,
    parse_uid_range,
    read_inside,
)


@pytest.fixture
def job(tmp_path: Path) -> Path:
    (tmp_path / "job" / "out").mkdir(parents=True)
    (tmp_path / "job" / "out" / "verdict.json").write_text('{"verdict": "fail"}')
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "secret.json").write_text('{"verdict": "pass"}')
    return tmp_path / "job"


def test_a_plain_file_of_the_job_is_read(job: Path) -> None:
    assert read_inside(job, "out/verdict.json") == b'{"verdict": "fail"}'
    assert read_inside(job, "out/missing.json") is None


def test_a_verdict_swapped_for_a_link_is_refused(job: Path) -> None:
    verdict = job / "out" / "verdict.json"
    verdict.unlink()
    verdict.symlink_to(job.parent / "elsewhere" / "secret.json")
    with pytest.raises(UnsafeFile, match="not a plain file"):
        read_inside(job, "out/verdict.json")


def test_a_directory_swapped_for_a_link_is_refused(job: Path) -> None:
    (job / "out" / "verdict.json").unlink()
    (job / "out").rmdir()
    (job / "out").symlink_to(job.parent / "elsewhere")
    with pytest.raises(UnsafeFile):
        read_inside(job, "out/secret.json")


def test_a_fifo_or_a_huge_file_is_refused_without_waiting(job: Path) -> None:
    os.mkfifo(job / "out" / "fifo.json")
    with pytest.raises(UnsafeFile, match="not a regular file"):
        read_inside(job, "out/fifo.json")
    (job / "out" / "big.json").write_bytes(b"x" * 2048)
    with pytest.raises(UnsafeFile, match="larger than 1024"):
        read_inside(job, "out/big.json", limit=1024)
    with pytest.raises(UnsafeFile):
        read_inside(job, "../elsewhere/secret.json")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("61000-61063", range(61000, 61064)), ("70000", range(70000, 70001))],
)
def test_uid_ranges(text: str, expected: range) -> None:
    assert parse_uid_range(text) == expected


@pytest.mark.parametrize("text", ["0-10", "61063-61000", "abc", "61000-", "999-2000"])
def test_bad_uid_ranges_name_the_option(text: str) -> None:
    with pytest.raises(UidRangeError, match="--child-uids"):
        parse_uid_range(text)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")
def test_the_worker_helpers_make_a_process_non_dumpable_and_a_subreaper() -> None:
    code = (
        "from pytest_releasegate.codepipeline.isolation import *\n"
        "import ctypes\n"
        "print(make_non_dumpable(), become_subreaper())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.split() == ["True", "True"]


SWEEP = """
import os, subprocess, sys, time
from pathlib import Path
from pytest_releasegate.codepipeline.isolation import Sandbox, become_subreaper

assert become_subreaper()
sandbox = Sandbox()  # shared uid, other jobs may run: only the job's tagged leftovers go
slot = sandbox.open()
daemon = (
    "import os, signal, sys, time\\n"
    "if os.fork(): sys.exit(0)\\n"
    "os.setsid()\\n"
    "if os.fork(): os._exit(0)\\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\\n"
    "print(os.getpid(), flush=True)\\n"
    "time.sleep(120)\\n"
)
env = {**os.environ, "RELEASEGATE_JOB_TAG": slot.tag}
starter = subprocess.Popen([sys.executable, "-c", daemon], env=env, stdout=subprocess.PIPE)
pid = int(starter.stdout.readline())
starter.wait(timeout=30)
other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
killed = sandbox.sweep(slot, keep=lambda: [other.pid])
time.sleep(0.1)
from pytest_releasegate.codepipeline.isolation import reap_orphans
reaped = reap_orphans(known=[other.pid])
gone = not Path(f"/proc/{pid}").exists()
alive = other.poll() is None
other.kill()
other.wait()
sandbox.close(slot)
print(killed, reaped, gone, alive)
"""


def test_a_shared_uid_sandbox_kills_and_reaps_the_daemon_its_job_left() -> None:
    out = subprocess.run(
        [sys.executable, "-c", SWEEP], capture_output=True, text=True, timeout=120, check=False
    )
    assert out.returncode == 0, out.stderr
    killed, reaped, gone, alive = out.stdout.split()
    assert int(killed) >= 1 and int(reaped) >= 1
    assert gone == "True"  # killed, and reaped by the subreaper: no zombie either
    assert alive == "True"  # another job's running child is left alone


def test_two_workers_on_one_host_never_share_a_child_uid(tmp_path: Path) -> None:
    from pytest_releasegate.codepipeline.isolation import UidSlots, uid_lock_dir

    locks = uid_lock_dir(tmp_path)
    assert locks is not None and locks.stat().st_mode & 0o777 == 0o700
    first = UidSlots(range(70000, 70002), lock_dir=locks)
    second = UidSlots(range(70001, 70003), lock_dir=locks)  # overlapping ranges
    a, b = first.acquire(), first.acquire()
    assert {a, b} == {70000, 70001}
    assert second.acquire() == 70002  # 70001 is the first worker's now
    with pytest.raises(RuntimeError, match="give each worker its own range"):
        second.acquire()
    first.release(70001)
    assert second.acquire() == 70001


def test_a_lock_directory_others_can_write_is_not_used(tmp_path: Path) -> None:
    from pytest_releasegate.codepipeline.isolation import uid_lock_dir

    shared = tmp_path / f"releasegate-uids-{os.geteuid()}"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    assert uid_lock_dir(tmp_path) is None
