"""The verdict's `context`: git, CodeBuild and CodePipeline facts where known."""

from __future__ import annotations

import subprocess
from typing import TYPE_CHECKING, Any

from .. import hookimpl

if TYPE_CHECKING:
    from ..engine import Gate

_ENV = {
    "codebuild_build_id": "CODEBUILD_BUILD_ID",
    "codebuild_source_version": "CODEBUILD_RESOLVED_SOURCE_VERSION",
    "codepipeline_job_id": "RELEASEGATE_CODEPIPELINE_JOB_ID",
    "codepipeline_pipeline": "RELEASEGATE_CODEPIPELINE_PIPELINE",
    "codepipeline_execution_id": "CODEPIPELINE_EXECUTION_ID",
}

#: Where CI systems name the branch of a detached checkout, most specific first.
_BRANCH_ENV = ("CODEBUILD_WEBHOOK_HEAD_REF", "GITHUB_HEAD_REF", "GITHUB_REF_NAME")


def _git(gate: Gate, *args: str) -> str | None:
    try:
        proc = subprocess.run(
            ["git", *args],
            cwd=gate.rootdir,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    out = proc.stdout.strip()
    return out if proc.returncode == 0 and out else None


@hookimpl
def releasegate_context(gate: Gate) -> dict[str, Any]:
    ctx: dict[str, Any] = {}
    sha = gate.environ.get("CODEBUILD_RESOLVED_SOURCE_VERSION") or _git(gate, "rev-parse", "HEAD")
    if sha:
        ctx["git_sha"] = sha
    branch = _git(gate, "rev-parse", "--abbrev-ref", "HEAD")
    if not branch or branch == "HEAD":
        # A detached checkout (CodeBuild, CI): the branch the CI system names, if any.
        branch = next((gate.environ[v] for v in _BRANCH_ENV if gate.environ.get(v)), None)
        if branch and branch.startswith("refs/heads/"):
            branch = branch[len("refs/heads/") :]
    if branch and branch != "HEAD":
        ctx["git_branch"] = branch
    for key, var in _ENV.items():
        if gate.environ.get(var):
            ctx[key] = gate.environ[var]
    return ctx
