"""Backoff bounded by time (--max-retry-time): throttling for longer than a few
attempts is still retried; past the bound the call gives up with one clear reason."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from pytest_releasegate.codepipeline.results import (
    Backoff,
    CodePipelineJobs,
    PublishError,
    success_request,
)

JOB = "11111111-2222-3333-4444-555555555555"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class Throttled:
    """A client whose PutJobSuccessResult is throttled ``times`` times, then succeeds."""

    def __init__(self, times: int) -> None:
        self.times = times
        self.calls = 0

    def put_job_success_result(self, **params: Any) -> dict[str, Any]:
        self.calls += 1
        if self.calls <= self.times:
            raise ClientError(
                {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}},
                "PutJobSuccessResult",
            )
        return {}


def _jobs(client: Throttled, clock: Clock, max_time: float | None) -> CodePipelineJobs:
    backoff = Backoff(
        base=1.0, cap=8.0, sleep=clock.sleep, random=lambda: 1.0, max_time=max_time, clock=clock
    )
    return CodePipelineJobs(client=client, backoff=backoff)


def test_throttling_past_six_attempts_is_retried_within_the_time_bound() -> None:
    clock = Clock()
    client = Throttled(times=20)
    published = _jobs(client, clock, max_time=600).put_result(success_request(JOB, "ok"))
    assert published.attempts == client.calls == 21
    assert clock.now <= 600
    assert max(clock.slept) == 8.0  # the cap


def test_past_the_time_bound_it_gives_up_saying_so() -> None:
    clock = Clock()
    client = Throttled(times=1000)
    with pytest.raises(PublishError) as info:
        _jobs(client, clock, max_time=30).put_result(success_request(JOB, "ok"))
    assert "in 30 s" in info.value.reason and "ThrottlingException" in info.value.reason
    assert not info.value.maybe_recorded
    assert clock.now == 30  # the last wait is cut to the bound


def test_without_a_time_bound_the_attempts_bound_it() -> None:
    clock = Clock()
    client = Throttled(times=1000)
    with pytest.raises(PublishError, match="gave up after 6 attempts"):
        _jobs(client, clock, max_time=None).put_result(success_request(JOB, "ok"))
    assert client.calls == 6
