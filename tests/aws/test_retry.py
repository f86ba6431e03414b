"""The one retry helper of the CodePipeline calls, and botocore's throttling detector."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from pytest_releasegate.codepipeline.results import Backoff, is_throttling, retry


def client_error(code: str, status: int = 400) -> ClientError:
    response = {
        "Error": {"Code": code, "Message": "m"},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, "PollForJobs")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("code", "status", "expected"),
    [
        ("ThrottlingException", 400, True),
        ("SlowDown", 503, True),
        ("Whatever", 429, True),
        ("ValidationException", 400, False),
        ("InvalidJobStateException", 400, False),
    ],
)
def test_throttling_is_what_botocore_says_it_is(code: str, status: int, expected: bool) -> None:
    assert is_throttling(client_error(code, status)) is expected
    assert is_throttling(RuntimeError("not a service answer")) is False


def test_retry_sleeps_between_attempts_and_gives_up_with_the_last_error() -> None:
    slept: list[float] = []
    backoff = Backoff(attempts=3, base=1.0, cap=10.0, sleep=slept.append, random=lambda: 0.5)
    calls: list[int] = []

    def attempt(n: int) -> str:
        calls.append(n)
        raise client_error("ThrottlingException")

    with pytest.raises(ClientError):
        retry(backoff, attempt, lambda exc, n: is_throttling(exc))
    assert calls == [0, 1, 2]
    assert slept == [0.5, 1.0]  # U(0, base·2ⁿ) with the random draw fixed at 0.5


def test_retry_stops_at_once_when_told_and_returns_the_first_success() -> None:
    backoff = Backoff(attempts=5, sleep=lambda s: None)
    with pytest.raises(ClientError):
        retry(backoff, lambda n: (_ for _ in ()).throw(client_error("Denied")), lambda e, n: False)
    assert retry(backoff, lambda n: n, lambda e, n: True) == 0
