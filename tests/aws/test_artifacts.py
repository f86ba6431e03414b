"""Artifacts: safe unzip, S3 fetch and store over a moto server, errors as failure types."""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from pytest_releasegate.codepipeline.artifacts import (
    ArtifactCredentials,
    ArtifactError,
    S3Location,
    UnzipLimits,
    fetch_input,
    map_s3_error,
    output_zip,
    s3_client,
    safe_unzip,
    upload_outputs,
)
from pytest_releasegate.codepipeline.results import FailureType
from tests.aws.publish_support import BUCKET, KMS_KEY, read_zip, s3, zip_bytes, zip_with_symlink

__all__ = ["s3"]  # the fixture, imported for its name

CREDS = ArtifactCredentials("ASIAFAKEKEY00001234", "fake/secret+value", "fake-session-token")


def archive(tmp_path: Path, body: bytes) -> Path:
    path = tmp_path / "in.zip"
    path.write_bytes(body)
    return path


def everything_under(path: Path) -> set[str]:
    return {str(p.relative_to(path)) for p in path.rglob("*")}


def test_a_plain_project_unpacks_with_directories_and_modes(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("pyproject.toml", "[tool.releasegate]\n")
        zf.writestr("pkg/", "")
        script = zipfile.ZipInfo("pkg/run.sh")
        script.external_attr = 0o100755 << 16
        zf.writestr(script, "#!/bin/sh\n")
        zf.writestr("./tests/test_a.py", "def test(): pass\n")
    target = tmp_path / "src"
    assert safe_unzip(archive(tmp_path, buffer.getvalue()), target) == 3
    assert (target / "tests/test_a.py").read_text() == "def test(): pass\n"
    assert os.access(target / "pkg/run.sh", os.X_OK)
    assert not os.access(target / "pyproject.toml", os.X_OK)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("../escape.py", "escapes the target directory"),
        ("a/../../escape.py", "escapes the target directory"),
        ("..\\escape.py", "escapes the target directory"),
        ("/tmp/escape.py", "absolute path"),
        ("C:/escape.py", "absolute path"),
    ],
)
def test_path_escapes_are_refused_before_anything_is_written(
    tmp_path: Path, name: str, reason: str
) -> None:
    body = zip_bytes({"ok.py": "x = 1\n", name: "print('escaped')\n"})
    target = tmp_path / "box" / "src"
    with pytest.raises(ArtifactError, match=reason) as info:
        safe_unzip(archive(tmp_path, body), target)
    assert info.value.failure_type is FailureType.JOB_FAILED
    assert not target.exists()
    assert everything_under(tmp_path) == {"in.zip"}
    assert not Path("/tmp/escape.py").exists()


@pytest.mark.parametrize("link_target", ["/etc/passwd", "../../outside", "inside.txt"])
def test_every_symlink_entry_is_refused(tmp_path: Path, link_target: str) -> None:
    body = zip_with_symlink("link", link_target, {"inside.txt": "x"})
    with pytest.raises(ArtifactError, match="'link' is a symbolic link"):
        safe_unzip(archive(tmp_path, body), tmp_path / "src")
    assert everything_under(tmp_path) == {"in.zip"}


def test_too_many_entries_are_refused(tmp_path: Path) -> None:
    body = zip_bytes({f"f{i}.txt": "x" for i in range(11)})
    with pytest.raises(ArtifactError, match="11 entries, over the cap of 10"):
        safe_unzip(archive(tmp_path, body), tmp_path / "src", UnzipLimits(max_files=10))


def test_a_zip_bomb_is_stopped_by_counting_inflated_bytes(tmp_path: Path) -> None:
    # 4 MiB of zeros deflate to a few KiB; the cap is 1 MiB over all entries together.
    body = zip_bytes({"a.bin": b"\0" * (2 << 20), "b.bin": b"\0" * (2 << 20)})
    assert len(body) < 64 << 10
    with pytest.raises(ArtifactError, match="inflates to more than 1048576 bytes"):
        safe_unzip(archive(tmp_path, body), tmp_path / "src", UnzipLimits(max_total_bytes=1 << 20))
    assert not (tmp_path / "src").exists()


def test_lying_size_headers_are_refused_not_trusted(tmp_path: Path) -> None:
    body = bytearray(zip_bytes({"big.bin": b"\0" * (3 << 20)}))
    # Forge the central directory's uncompressed size down to 10 bytes.
    central = body.rfind(b"PK\x01\x02")
    body[central + 24 : central + 28] = (10).to_bytes(4, "little")
    with pytest.raises(ArtifactError):
        safe_unzip(
            archive(tmp_path, bytes(body)), tmp_path / "src", UnzipLimits(max_total_bytes=1 << 20)
        )
    assert not (tmp_path / "src").exists()


def test_duplicate_entries_and_non_zips_are_refused(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("a.py", "1")
        with pytest.warns(UserWarning, match="Duplicate name"):
            zf.writestr("a.py", "2")
    with pytest.raises(ArtifactError, match="appears twice"):
        safe_unzip(archive(tmp_path, buffer.getvalue()), tmp_path / "src")
    with pytest.raises(ArtifactError, match="not a valid zip file"):
        safe_unzip(archive(tmp_path, b"plain text"), tmp_path / "src2")


def test_credentials_never_show_in_repr() -> None:
    text = repr(CREDS) + str(CREDS)
    assert "fake/secret+value" not in text and "fake-session-token" not in text
    assert "ASIAFAKEKEY00001234" not in text


def test_missing_credentials_are_a_permission_error() -> None:
    with pytest.raises(ArtifactError) as info:
        ArtifactCredentials.from_job_data({"artifactCredentials": {"accessKeyId": "a"}})
    assert info.value.failure_type is FailureType.PERMISSION_ERROR


# -- S3 over the moto server ------------------------------------------------------


def test_fetch_and_unpack_with_the_jobs_credentials(tmp_path: Path, s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key="p/in/abc", Body=zip_bytes({"tests/test_x.py": "pass\n"}))
    artifact = {
        "name": "Source",
        "location": {"type": "S3", "s3Location": {"bucketName": BUCKET, "objectKey": "p/in/abc"}},
    }
    src = fetch_input(s3_client(CREDS), artifact, tmp_path)
    assert (src / "tests/test_x.py").read_text() == "pass\n"
    assert everything_under(tmp_path) == {"src", "src/tests", "src/tests/test_x.py"}


def test_a_missing_object_is_revision_unavailable(tmp_path: Path, s3: Any) -> None:
    artifact = {"location": {"s3Location": {"bucketName": BUCKET, "objectKey": "gone"}}}
    with pytest.raises(ArtifactError, match="NoSuchKey") as info:
        fetch_input(s3_client(CREDS), artifact, tmp_path)
    assert info.value.failure_type is FailureType.REVISION_UNAVAILABLE


def test_an_oversized_artifact_is_refused_while_downloading(tmp_path: Path, s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key="big", Body=os.urandom(200_000))
    artifact = {"location": {"s3Location": {"bucketName": BUCKET, "objectKey": "big"}}}
    with pytest.raises(ArtifactError, match="over the cap of 100000"):
        fetch_input(s3_client(CREDS), artifact, tmp_path, UnzipLimits(max_archive_bytes=100_000))


@pytest.fixture
def moto_checks_credentials(moto_server: str) -> Iterator[None]:
    """Make the moto server check access keys (it then knows none of ours), then stop again."""
    requests.post(f"{moto_server}/moto-api/reset-auth", data=b"0", timeout=10).raise_for_status()
    try:
        yield
    finally:
        requests.post(f"{moto_server}/moto-api/reset-auth", data=b"inf", timeout=10)


def test_rejected_credentials_are_a_permission_error(
    tmp_path: Path, s3: Any, moto_checks_credentials: None
) -> None:
    artifact = {"location": {"s3Location": {"bucketName": BUCKET, "objectKey": "any"}}}
    with pytest.raises(ArtifactError, match="InvalidAccessKeyId") as info:
        fetch_input(s3_client(CREDS), artifact, tmp_path)
    assert info.value.failure_type is FailureType.PERMISSION_ERROR
    with pytest.raises(ArtifactError) as stored:
        upload_outputs(
            s3_client(CREDS),
            {
                "outputArtifacts": [
                    {"location": {"s3Location": {"bucketName": BUCKET, "objectKey": "o"}}}
                ]
            },
            b"zip",
        )
    assert stored.value.failure_type is FailureType.PERMISSION_ERROR


@pytest.mark.parametrize(
    ("code", "status", "kind"),
    [
        ("AccessDenied", 403, FailureType.PERMISSION_ERROR),
        ("KMS.DisabledException", 400, FailureType.PERMISSION_ERROR),
        ("NoSuchBucket", 404, FailureType.REVISION_UNAVAILABLE),
        ("InternalError", 500, FailureType.SYSTEM_UNAVAILABLE),
    ],
)
def test_s3_error_codes_map_to_failure_types(code: str, status: int, kind: FailureType) -> None:
    from botocore.exceptions import ClientError

    error = ClientError(
        {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "GetObject",
    )
    mapped = map_s3_error(error, "cannot fetch")
    assert mapped.failure_type is kind
    assert mapped.message == f"cannot fetch: {code} (m)"


def test_the_output_goes_to_every_output_artifact_with_sse_kms(s3: Any) -> None:
    body = output_zip({"verdict.json": b"{}", "releasegate-junit.xml": b"<testsuite/>"})
    job_data = {
        "outputArtifacts": [
            {
                "name": "Gate",
                "location": {"s3Location": {"bucketName": BUCKET, "objectKey": "o/1"}},
            },
            {
                "name": "Copy",
                "location": {"s3Location": {"bucketName": BUCKET, "objectKey": "o/2"}},
            },
        ],
        "encryptionKey": {"id": KMS_KEY, "type": "KMS"},
    }
    stored = upload_outputs(s3_client(CREDS), job_data, body)
    assert stored == [S3Location(BUCKET, "o/1"), S3Location(BUCKET, "o/2")]
    for key in ("o/1", "o/2"):
        head = s3.head_object(Bucket=BUCKET, Key=key)
        assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", KMS_KEY)
        got = read_zip(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
        assert got == {"releasegate-junit.xml": b"<testsuite/>", "verdict.json": b"{}"}


def test_without_a_job_key_the_output_uses_the_aws_managed_kms_key(s3: Any) -> None:
    job_data = {
        "outputArtifacts": [
            {"location": {"s3Location": {"bucketName": BUCKET, "objectKey": "o/3"}}}
        ]
    }
    upload_outputs(s3_client(CREDS), job_data, b"PK")
    head = s3.head_object(Bucket=BUCKET, Key="o/3")
    assert head["ServerSideEncryption"] == "aws:kms" and "SSEKMSKeyId" not in head


def test_the_output_zip_is_reproducible() -> None:
    files = {"verdict.json": b'{"verdict": "pass"}', "releasegate-junit.xml": b"<x/>"}
    assert output_zip(files) == output_zip(dict(reversed(files.items())))
