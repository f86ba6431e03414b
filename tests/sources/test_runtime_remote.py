"""The job runner's sampler endpoint and the child's client, over real loopback HTTP."""

from __future__ import annotations

from pytest_releasegate.codepipeline.sampling import SamplerService
from pytest_releasegate.runtime_policy import RuntimeMetric
from pytest_releasegate.sources.runtime import RuntimeSampler
from pytest_releasegate.sources.runtime_remote import SAMPLER_ENV, RemoteSampler
from tests.runtime_support import free_port

TOKEN_VALUE = "tok-do-not-leak"


def metric(port: int) -> RuntimeMetric:
    return RuntimeMetric(
        name="api.x",
        provider="prometheus",
        url=f"http://127.0.0.1:{port}",
        query="up",
        headers=(("Authorization", "Bearer ${TOKEN}"),),
        timeout=2.0,
    )


def test_the_child_gets_the_runners_samples_and_masked_queries_never_the_secret() -> None:
    port = free_port()  # nothing listens: the runner's own sample fails, and says why
    service = SamplerService([metric(port)], {"TOKEN": TOKEN_VALUE})
    try:
        child = RuntimeSampler([metric(port)], {SAMPLER_ENV: service.url})
        assert child.remote is not None and child.prometheus is None  # no backend of its own
        sample = child.sample()["api.x"]
        assert sample.kind == "failed" and "unreachable: ConnectionError" in sample.reason
        assert child.as_sent(metric(port)) == {
            "method": "POST",
            "url": f"http://127.0.0.1:{port}/api/v1/query",
            "query": "up",
            "headers": ["Authorization"],
        }
        assert TOKEN_VALUE not in repr(sample) + repr(child.as_sent(metric(port)))
    finally:
        service.close()


def test_a_wrong_token_or_a_gone_runner_is_missing_data_not_a_crash() -> None:
    service = SamplerService([metric(free_port())], {"TOKEN": "x"})
    try:
        wrong = RemoteSampler(service.url.rsplit("/", 1)[0] + "/not-the-token", ["api.x"])
        assert wrong.sample()["api.x"].reason == (
            "the job runner's metric sampler did not answer: HTTPError"
        )
    finally:
        service.close()
    gone = RemoteSampler(service.url, ["api.x"]).sample()["api.x"]
    assert gone.kind == "failed" and "did not answer: URLError" in gone.reason
