"""`releasegate publish`: put a verdict computed elsewhere on a CodePipeline job.

Exit 0 once the result is recorded, whatever the verdict (the pipeline now
knows it); 3 when it could not be recorded; 4 for a missing or malformed
verdict file or no job id. Importing this module stays cheap (the CLI builds
every subcommand's parser): boto3 loads only when publishing.
"""

from __future__ import annotations

import argparse
import os
import sys

from ..model import ExitCode


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Put a verdict JSON (from --gate-json or `releasegate evaluate --json`) on an "
        "InProgress CodePipeline job: one PutJobSuccessResult or PutJobFailureResult. "
        "Exit 0 once recorded, whatever the verdict; 3 if it could not be; 4 for a bad file."
    )
    parser.add_argument("--verdict", metavar="PATH", required=True, help="the verdict JSON file")
    parser.add_argument(
        "--codepipeline-job-id",
        metavar="ID",
        help="the InProgress job (env RELEASEGATE_CODEPIPELINE_JOB_ID)",
    )
    parser.add_argument(
        "--external-execution-id",
        metavar="ID",
        help="the execution link id shown in the console (default: CODEBUILD_BUILD_ID)",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="print the result that would be put; put nothing"
    )


def _err(message: str) -> None:
    print(f"releasegate: {message}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    from ..integrity import IntegrityError, read_verdict_file

    job_id = args.codepipeline_job_id or os.environ.get("RELEASEGATE_CODEPIPELINE_JOB_ID")
    if not job_id:
        _err("publish: no job: pass --codepipeline-job-id or set RELEASEGATE_CODEPIPELINE_JOB_ID")
        return ExitCode.USAGE
    try:
        verdict = read_verdict_file(args.verdict)  # recomputed from its rules (SPEC §13)
    except OSError as exc:
        _err(f"publish: cannot read {args.verdict}: {exc.strerror or exc}")
        return ExitCode.USAGE
    except IntegrityError as exc:
        _err(f"publish: refusing {args.verdict}: {exc}")
        return ExitCode.USAGE
    except ValueError as exc:  # JSONDecodeError included
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        _err(f"publish: {args.verdict} is not a verdict: {first}")
        return ExitCode.USAGE

    from .results import PublishError, external_execution_id, jobs_for, verdict_request

    external_id = args.external_execution_id or external_execution_id(os.environ)
    request = verdict_request(job_id, verdict, external_id=external_id)
    print(verdict.headline())
    if args.dry_run:
        print(f"releasegate: dry run: would put {request.describe()} on job {job_id}")
        return ExitCode.OK
    try:
        published = jobs_for(job_id).put_result(request)
    except PublishError as exc:
        _err(f"could not publish: {exc}")
        return ExitCode.ERROR
    print(f"releasegate: recorded {published.request.describe()} on job {job_id}")
    return ExitCode.OK


def main(argv: list[str] | None = None) -> int:
    """``python -m pytest_releasegate.codepipeline.publish`` (same as ``releasegate publish``)."""
    parser = argparse.ArgumentParser(prog="releasegate publish")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
