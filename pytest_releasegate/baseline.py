"""Baselines: an earlier verdict JSON, read from and written to a path or `s3://bucket/key`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ._aws import require_boto3
from .bounds import MAX_DEPTH, read_regular_text, too_deep
from .model import Verdict

_TOO_DEEP: Any = object()


class BaselineError(Exception):
    """The baseline could not be read or written; the message says what to do."""


def split_s3(location: str) -> tuple[str, str]:
    """`s3://bucket/key` → (bucket, key); raises BaselineError when malformed."""
    rest = location[len("s3://") :]
    bucket, _, key = rest.partition("/")
    if not bucket or not key:
        raise BaselineError(f"baseline {location}: expected s3://bucket/key")
    return bucket, key


def _s3_client() -> Any:
    import boto3  # heavy: only when an s3:// baseline is used

    return boto3.client("s3")


def read_baseline(
    location: str, *, rootdir: Path | None = None, flag_prefix: str = "--gate-"
) -> Verdict:
    """Read a verdict JSON written by `--gate-save-baseline` (or `--gate-json`).

    `flag_prefix` spells the flags in messages: ``--gate-`` for pytest, ``--`` for the CLI.
    """
    if location.startswith("s3://"):
        bucket, key = split_s3(location)
        require_boto3(f"baseline {location}", BaselineError)
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            body = _s3_client().get_object(Bucket=bucket, Key=key)["Body"].read()
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "404", "NoSuchBucket"):
                raise BaselineError(
                    f"baseline {location} not found: save one from a reference run with "
                    f"{flag_prefix}save-baseline {location}"
                ) from None
            raise BaselineError(f"baseline {location}: S3 said {code or exc}") from None
        except BotoCoreError as exc:
            raise BaselineError(f"baseline {location}: {exc}") from None
        text = body.decode("utf-8", errors="replace")
    else:
        path = Path(location)
        if rootdir is not None and not path.is_absolute():
            path = rootdir / path
        try:
            text = read_regular_text(path)  # a FIFO or a directory is refused, never waited on
        except FileNotFoundError:
            raise BaselineError(
                f"baseline {location} not found: save one from a reference run with "
                f"{flag_prefix}save-baseline {location}"
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise BaselineError(f"baseline {location}: {exc}") from None
    try:
        data = json.loads(text)
    except (ValueError, json.JSONDecodeError) as exc:
        raise BaselineError(f"baseline {location}: {exc}") from None
    except RecursionError:
        data = _TOO_DEEP
    if data is _TOO_DEEP or too_deep(data):
        raise BaselineError(f"baseline {location}: nested more than {MAX_DEPTH} levels deep")
    try:
        return Verdict.from_json(data)
    except ValueError as exc:
        raise BaselineError(f"baseline {location}: {exc}") from None


def write_baseline(location: str, verdict: Verdict, *, rootdir: Path | None = None) -> None:
    """Write the verdict JSON as a baseline for later runs."""
    data = json.dumps(verdict.to_json(), indent=2, sort_keys=False, allow_nan=False) + "\n"
    if location.startswith("s3://"):
        bucket, key = split_s3(location)
        require_boto3(f"baseline {location}", BaselineError)
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            _s3_client().put_object(
                Bucket=bucket, Key=key, Body=data.encode(), ContentType="application/json"
            )
        except (ClientError, BotoCoreError) as exc:
            raise BaselineError(f"cannot write baseline {location}: {exc}") from None
        return
    path = Path(location)
    if rootdir is not None and not path.is_absolute():
        path = rootdir / path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(data, encoding="utf-8")
    except OSError as exc:
        raise BaselineError(f"cannot write baseline {location}: {exc}") from None
