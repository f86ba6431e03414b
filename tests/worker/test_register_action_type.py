"""`releasegate register-action-type`: creates the gate's custom action type, idempotently."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, NamedTuple

import pytest

from pytest_releasegate import cli
from pytest_releasegate.codepipeline.action_type import create_request, register
from pytest_releasegate.testing.emulator import CodePipelineEmulator

from .support import PROVIDER


class Ran(NamedTuple):
    returncode: int
    stdout: str
    stderr: str


Run = Callable[..., Ran]


@pytest.fixture
def run(
    codepipeline_emulator: CodePipelineEmulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Run:
    """`releasegate register-action-type ARGS` in this process, against the emulator."""
    for key, value in codepipeline_emulator.env().items():
        monkeypatch.setenv(key, value)

    def call(*args: str) -> Ran:
        capsys.readouterr()
        code = cli.main(["register-action-type", *args])
        out, err = capsys.readouterr()
        return Ran(code, out, err)

    return call


def test_creates_the_type_once_and_leaves_it_alone_after(
    codepipeline_emulator: CodePipelineEmulator, run: Run
) -> None:
    emu = codepipeline_emulator
    first = run("--provider", PROVIDER)
    assert (first.returncode, first.stderr) == (0, "")
    assert first.stdout == f"created custom action type Test/Custom/{PROVIDER}/1\n"
    second = run("--provider", PROVIDER)
    assert second.returncode == 0
    assert "exists; left as it is" in second.stdout
    assert len(emu.calls("CreateCustomActionType")) == 1

    (action_type,) = emu.client().list_action_types(actionOwnerFilter="Custom")["actionTypes"]
    props = {p["name"]: p for p in action_type["actionConfigurationProperties"]}
    assert list(props) == ["GateId", "Policy", "Profile", "PytestArgs", "BaseUrl"]
    assert props["GateId"]["required"] and props["GateId"]["queryable"] and props["GateId"]["key"]
    assert not any(p.get("queryable") or p["required"] for n, p in props.items() if n != "GateId")
    assert action_type["inputArtifactDetails"] == {"minimumCount": 1, "maximumCount": 1}
    assert action_type["outputArtifactDetails"] == {"minimumCount": 0, "maximumCount": 1}
    settings = action_type["settings"]
    assert "{ExternalExecutionId}" in settings["executionUrlTemplate"]
    assert settings["entityUrlTemplate"].startswith("https://us-east-1.console.aws.amazon.com/")


def test_another_version_is_another_type(
    codepipeline_emulator: CodePipelineEmulator, run: Run
) -> None:
    for version in ("1", "2"):
        proc = run("--provider", PROVIDER, "--version", version)
        assert proc.returncode == 0 and proc.stdout.startswith("created")
    assert len(codepipeline_emulator.calls("CreateCustomActionType")) == 2


class _ListDenied:
    """A client whose ListActionTypes is denied (a narrow IAM policy); the rest is real."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def list_action_types(self, **params: Any) -> Any:
        from botocore.exceptions import ClientError

        error = {"Error": {"Code": "AccessDeniedException", "Message": "not allowed"}}
        raise ClientError(error, "ListActionTypes")  # type: ignore[arg-type]


def test_already_exists_from_create_counts_as_success(
    codepipeline_emulator: CodePipelineEmulator,
) -> None:
    client = codepipeline_emulator.client()
    assert register(client, create_request(PROVIDER))[0] == "created"
    status, existing = register(_ListDenied(client), create_request(PROVIDER))
    assert (status, existing) == ("exists", None)
    (refused,) = codepipeline_emulator.calls("CreateCustomActionType")[1:]
    assert refused.error == "ValidationException"


def test_a_different_existing_type_is_reported(
    codepipeline_emulator: CodePipelineEmulator, run: Run
) -> None:
    codepipeline_emulator.register_action_type(
        PROVIDER,
        configuration_properties=[
            {"name": "Project", "required": True, "key": True, "secret": False, "queryable": True}
        ],
    )
    proc = run("--provider", PROVIDER)
    assert proc.returncode == 0
    assert "register a new --version" in proc.stderr
    assert "no GateId property" in proc.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--provider", "no spaces"], "--provider"),
        (["--provider", "X", "--version", "1.0"], "--version"),
    ],
)
def test_bad_names_exit_4(
    codepipeline_emulator: CodePipelineEmulator, run: Run, args: list[str], message: str
) -> None:
    proc = run(*args)
    assert proc.returncode == 4 and message in proc.stderr
    assert codepipeline_emulator.calls() == []


def test_dry_run_prints_the_request_and_calls_nothing(
    codepipeline_emulator: CodePipelineEmulator, run: Run
) -> None:
    proc = run(
        "--provider",
        PROVIDER,
        "--dry-run",
        "--log-group",
        "/ecs/gates",
        "--region",
        "eu-west-1",
    )
    assert proc.returncode == 0
    request = json.loads(proc.stdout)
    assert request == create_request(PROVIDER, settings=request["settings"])
    assert "eu-west-1" in request["settings"]["entityUrlTemplate"]
    assert "$252Fecs$252Fgates" in request["settings"]["entityUrlTemplate"]
    assert codepipeline_emulator.calls() == []
