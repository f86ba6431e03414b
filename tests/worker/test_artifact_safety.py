"""Acceptance 2: hostile artifacts get a failure naming the reason; nothing lands outside."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pytest_releasegate.testing.emulator import CodePipelineEmulator

from ..aws.publish_support import zip_bytes, zip_with_symlink
from .support import SERVE, Artifacts, enqueue, project_files

CAP = 200_000


def test_traversal_symlink_and_oversize_artifacts_are_refused(
    emulator: CodePipelineEmulator,
    artifacts: Artifacts,
    env: dict[str, str],
    spawn: Any,
    tmp_path: Path,
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    project = project_files()
    # From <TMPDIR>/releasegate-worker-*/job-*/src, four levels up is tmp_path.
    traversal = zip_bytes({**project, "../../../../escape.txt": "gotcha"})
    symlink = zip_with_symlink(
        "tests/data", str(outside), extra={**project, "tests/data/pwned.txt": "gotcha"}
    )
    bomb = zip_bytes({**project, "big.bin": b"\0" * (CAP * 5)})
    assert len(bomb) < CAP  # small zipped, large unpacked
    jobs = {
        enqueue(emulator, artifacts, traversal)[0]: "escapes the target directory",
        enqueue(emulator, artifacts, symlink)[0]: "is a symbolic link",
        enqueue(emulator, artifacts, bomb)[0]: f"inflates to more than {CAP} bytes",
    }
    worker = spawn(
        *SERVE,
        "--concurrency",
        "3",
        "--once",
        "--max-artifact-size",
        str(CAP),
        env=env,
    )
    assert worker.wait(60) == 0, worker.text()

    results = {r.job_id: r for r in emulator.results()}
    assert set(results) == set(jobs)
    for job_id, reason in jobs.items():
        result = results[job_id]
        assert result.kind == "failure"
        details = result.params["failureDetails"]
        assert details["type"] == "JobFailed"
        assert details["externalExecutionId"] == job_id
        assert "unsafe input artifact refused" in details["message"]
        assert reason in details["message"]

    assert not (tmp_path / "escape.txt").exists()
    assert list(outside.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["outside", "worker-0.log", "worker-tmp"]
    # Each job's directory is removed, and the worker's own temp dir with it.
    assert list((tmp_path / "worker-tmp").iterdir()) == []
