"""Pipeline artifacts: fetch and safely unpack the input, pack and upload the output.

Artifacts are zip files in the pipeline's S3 artifact store, reached with
the job's own ``artifactCredentials`` (short-lived STS credentials scoped to
that store) through a separate boto3 session, SigV4-signed. The credentials
are never logged: :class:`ArtifactCredentials` hides them from ``repr``.

:func:`safe_unzip` refuses an archive that could write outside its target —
absolute paths, ``..`` components, drive letters, symlink entries — and
bounds a zip bomb by counting the bytes it actually inflates, not the sizes
the archive claims. Every refusal, and every S3 error, is a
:class:`ArtifactError` carrying the CodePipeline failure type to report.
"""

from __future__ import annotations

import io
import os
import shutil
import stat
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from .results import FailureType, JobFailure, error_code
from .worker_options import DEFAULTS

VERDICT_JSON = "verdict.json"
VERDICT_JUNIT = "releasegate-junit.xml"
VERDICT_HTML = "report.html"
_CHUNK = 1 << 16


class ArtifactError(JobFailure):
    """An artifact could not be fetched, unpacked or stored; ``failure_type`` says how."""


@dataclass(frozen=True)
class ArtifactCredentials:
    """A job's ``artifactCredentials``; ``repr`` shows the key id's last 4 characters only."""

    access_key_id: str = field(repr=False)
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)

    def __repr__(self) -> str:
        return f"ArtifactCredentials(access_key_id='…{self.access_key_id[-4:]}', <redacted>)"

    @classmethod
    def from_job_data(cls, data: Mapping[str, Any]) -> ArtifactCredentials:
        creds = data.get("artifactCredentials")
        if not isinstance(creds, Mapping) or not all(
            isinstance(creds.get(k), str) and creds.get(k)
            for k in ("accessKeyId", "secretAccessKey", "sessionToken")
        ):
            raise ArtifactError(
                FailureType.PERMISSION_ERROR,
                "the job carries no usable artifactCredentials: cannot reach the artifact store",
            )
        return cls(creds["accessKeyId"], creds["secretAccessKey"], creds["sessionToken"])

    def secrets(self) -> tuple[str, str, str]:
        """The three values, for redaction checks (never for output)."""
        return (self.access_key_id, self.secret_access_key, self.session_token)


@dataclass(frozen=True)
class S3Location:
    bucket: str
    key: str

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"

    @classmethod
    def of_artifact(cls, artifact: Mapping[str, Any]) -> S3Location:
        """The location of one ``inputArtifacts``/``outputArtifacts`` entry."""
        location = artifact.get("location") or {}
        s3 = location.get("s3Location") or {}
        bucket, key = s3.get("bucketName"), s3.get("objectKey")
        if location.get("type", "S3") != "S3" or not bucket or not key:
            name = artifact.get("name", "?")
            raise ArtifactError(
                FailureType.CONFIGURATION_ERROR,
                f"artifact {name!r} has no S3 location (type {location.get('type')!r})",
            )
        return cls(str(bucket), str(key))


def s3_client(
    credentials: ArtifactCredentials,
    *,
    region: str | None = None,
    endpoint_url: str | None = None,
    session: Any = None,
) -> Any:
    """An S3 client carrying only the job's credentials (SigV4, standard retries).

    ``session`` (a boto3 session) saves reloading the service model per client;
    by default each client gets a session of its own. Region and
    ``AWS_ENDPOINT_URL_S3`` / ``AWS_ENDPOINT_URL`` come from the standard
    configuration chain; no other credential is looked up.
    """
    import boto3
    from botocore.config import Config

    config = Config(
        signature_version="s3v4",
        retries={"mode": "standard"},
        connect_timeout=10,
        read_timeout=60,
    )
    return (session or boto3.session.Session()).client(
        "s3",
        aws_access_key_id=credentials.access_key_id,
        aws_secret_access_key=credentials.secret_access_key,
        aws_session_token=credentials.session_token,
        region_name=region,
        endpoint_url=endpoint_url,
        config=config,
    )


# -- S3 errors ----------------------------------------------------------------

_DENIED = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "TokenRefreshRequired",
        "InvalidToken",
        "KMS.AccessDeniedException",
        "KMS.DisabledException",
        "KMS.KMSInvalidStateException",
        "KMS.NotFoundException",
    }
)
_MISSING = frozenset({"NoSuchKey", "NoSuchBucket", "NotFound", "404"})


def map_s3_error(exc: BaseException, what: str) -> ArtifactError:
    """An S3 (or KMS via S3) error as the failure to report: denied → PermissionError,
    missing → RevisionUnavailable, anything else → SystemUnavailable."""
    code, status = error_code(exc)
    if code in _DENIED or code.startswith("KMS.") or status == 403:
        kind = FailureType.PERMISSION_ERROR
    elif code in _MISSING or status == 404:
        kind = FailureType.REVISION_UNAVAILABLE
    else:
        kind = FailureType.SYSTEM_UNAVAILABLE
    detail = code or type(exc).__name__
    message = str(getattr(exc, "response", {}).get("Error", {}).get("Message", "")) if code else ""
    return ArtifactError(kind, f"{what}: {detail}" + (f" ({message})" if message else ""))


# -- download and unpack --------------------------------------------------------


@dataclass(frozen=True)
class UnzipLimits:
    """Caps on what an artifact may unpack to."""

    max_files: int = DEFAULTS["max_artifact_files"]
    max_total_bytes: int = DEFAULTS["max_artifact_bytes"]  # inflated, all members together
    max_archive_bytes: int = DEFAULTS["max_artifact_bytes"]  # the zip as downloaded


def download(client: Any, location: S3Location, target: Path, *, limit: int) -> int:
    """Stream ``location`` to ``target``; returns the byte count (at most ``limit``)."""
    from botocore.exceptions import BotoCoreError, ClientError

    what = f"cannot fetch the input artifact {location}"
    try:
        answer = client.get_object(Bucket=location.bucket, Key=location.key)
        size = int(answer.get("ContentLength") or 0)
        if size > limit:
            raise ArtifactError(
                FailureType.JOB_FAILED,
                f"the input artifact {location} is {size} bytes, over the cap of {limit}",
            )
        body = answer["Body"]
        written = 0
        with open(target, "wb") as out:
            for chunk in iter(lambda: body.read(_CHUNK), b""):
                written += len(chunk)
                if written > limit:
                    raise ArtifactError(
                        FailureType.JOB_FAILED,
                        f"the input artifact {location} is over the cap of {limit} bytes",
                    )
                out.write(chunk)
        return written
    except (ClientError, BotoCoreError) as exc:
        raise map_s3_error(exc, what) from None


def _unsafe(reason: str) -> ArtifactError:
    return ArtifactError(FailureType.JOB_FAILED, f"unsafe input artifact refused: {reason}")


def _member_path(info: zipfile.ZipInfo) -> PurePosixPath | None:
    """The relative path an entry may take, or raise; None for the root directory entry."""
    name = info.filename
    if "\x00" in name:
        raise _unsafe(f"entry {name!r} has a NUL byte in its name")
    posix = name.replace("\\", "/")  # some Windows tools write backslashes
    if posix.startswith("/") or (len(posix) > 1 and posix[1] == ":"):
        raise _unsafe(f"entry {name!r} has an absolute path")
    parts = [p for p in posix.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise _unsafe(f"entry {name!r} escapes the target directory ('..')")
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise _unsafe(f"entry {name!r} is a symbolic link")
    kind = stat.S_IFMT(mode)
    if kind and kind not in (stat.S_IFREG, stat.S_IFDIR):
        raise _unsafe(f"entry {name!r} is not a regular file or directory")
    if info.flag_bits & 0x1:
        raise _unsafe(f"entry {name!r} is encrypted")
    return PurePosixPath(*parts) if parts else None


def safe_unzip(archive: Path, target: Path, limits: UnzipLimits | None = None) -> int:
    """Unpack ``archive`` into the empty or new directory ``target``; returns the file count.

    Every entry is checked before anything is written (paths, links, entry
    count); sizes are enforced while inflating. On refusal ``target`` is
    removed with whatever was written into it, and ArtifactError is raised.
    """
    limits = limits or UnzipLimits()
    try:
        with zipfile.ZipFile(archive) as zf:
            infos = zf.infolist()
            if len(infos) > limits.max_files:
                raise _unsafe(f"{len(infos)} entries, over the cap of {limits.max_files}")
            plan = [(info, _member_path(info)) for info in infos]
            target.mkdir(parents=True, exist_ok=True)
            try:
                return _extract(zf, plan, target.resolve(), limits)
            except BaseException:
                shutil.rmtree(target, ignore_errors=True)
                raise
    except zipfile.BadZipFile as exc:
        raise ArtifactError(
            FailureType.JOB_FAILED, f"the input artifact is not a valid zip file: {exc}"
        ) from None


def _extract(
    zf: zipfile.ZipFile,
    plan: Iterable[tuple[zipfile.ZipInfo, PurePosixPath | None]],
    root: Path,
    limits: UnzipLimits,
) -> int:
    total = 0
    files = 0
    for info, rel in plan:
        if rel is None:
            continue
        dest = root.joinpath(*rel.parts)
        # Belt and braces: whatever the checks above missed may not leave the root.
        if not dest.resolve().is_relative_to(root):
            raise _unsafe(f"entry {info.filename!r} resolves outside the target directory")
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            if info.is_dir():
                dest.mkdir(exist_ok=True)
                continue
        except OSError as exc:
            raise _unsafe(f"entry {info.filename!r} cannot be written: {exc.strerror}") from None
        if not dest.parent.resolve().is_relative_to(root):
            raise _unsafe(f"entry {info.filename!r} resolves outside the target directory")
        try:
            source = zf.open(info)
        except (NotImplementedError, RuntimeError) as exc:
            raise _unsafe(f"entry {info.filename!r} cannot be read: {exc}") from None
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
        executable = bool((info.external_attr >> 16) & 0o111)
        try:
            fd = os.open(dest, flags, 0o755 if executable else 0o644)
        except FileExistsError:
            raise _unsafe(f"entry {info.filename!r} appears twice") from None
        except OSError as exc:
            raise _unsafe(f"entry {info.filename!r} cannot be written: {exc.strerror}") from None
        with source, os.fdopen(fd, "wb") as out:
            while chunk := source.read(_CHUNK):
                total += len(chunk)
                if total > limits.max_total_bytes:
                    raise _unsafe(
                        f"it inflates to more than {limits.max_total_bytes} bytes "
                        f"(at entry {info.filename!r})"
                    )
                out.write(chunk)
        files += 1
    return files


def fetch_input(
    client: Any,
    artifact: Mapping[str, Any],
    workdir: Path,
    limits: UnzipLimits | None = None,
) -> Path:
    """Download one input artifact into ``workdir`` and unpack it; returns the unpacked dir."""
    limits = limits or UnzipLimits()
    location = S3Location.of_artifact(artifact)
    archive = workdir / "input.zip"
    download(client, location, archive, limit=limits.max_archive_bytes)
    target = workdir / "src"
    try:
        safe_unzip(archive, target, limits)
    finally:
        archive.unlink(missing_ok=True)
    return target


# -- pack and upload ------------------------------------------------------------


def output_zip(files: Mapping[str, bytes]) -> bytes:
    """A deflated zip of ``{name: content}`` with fixed timestamps (reproducible)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, files[name])
    return buffer.getvalue()


def upload(
    client: Any,
    location: S3Location,
    body: bytes,
    *,
    encryption_key: Mapping[str, Any] | None = None,
) -> None:
    """Store ``body`` at ``location`` with SSE-KMS: the job's ``encryptionKey.id`` when
    given, else the account's AWS-managed key (CodePipeline only supports KMS)."""
    from botocore.exceptions import BotoCoreError, ClientError

    extra: dict[str, str] = {"ServerSideEncryption": "aws:kms"}
    if encryption_key and encryption_key.get("id"):
        extra["SSEKMSKeyId"] = str(encryption_key["id"])
    try:
        client.put_object(
            Bucket=location.bucket,
            Key=location.key,
            Body=body,
            ContentType="application/zip",
            **extra,
        )
    except (ClientError, BotoCoreError) as exc:
        raise map_s3_error(exc, f"cannot store the output artifact {location}") from None


def upload_outputs(client: Any, job_data: Mapping[str, Any], body: bytes) -> list[S3Location]:
    """Upload ``body`` to every output artifact of the job; returns where it went."""
    stored = []
    for artifact in job_data.get("outputArtifacts") or ():
        location = S3Location.of_artifact(artifact)
        upload(client, location, body, encryption_key=job_data.get("encryptionKey"))
        stored.append(location)
    return stored
