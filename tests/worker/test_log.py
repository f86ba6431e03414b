"""The worker's event log: one line per event, credentials scrubbed; the liveness endpoint."""

from __future__ import annotations

import io
import json
import urllib.error
import urllib.request

import pytest

from pytest_releasegate.codepipeline.log import (
    REDACTED,
    EventLog,
    HealthServer,
    Heartbeat,
    Redactor,
)

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TOKEN = "FwoGZXIvYXdzE" + "Ab1/+" * 60


@pytest.mark.parametrize(
    "text",
    [
        f"secret {SECRET} in the middle",
        f"token={TOKEN}",
        f'{{"secretAccessKey": "{SECRET[:20]}"}}',
        "aws_session_token: short-but-named",
        f"SessionToken={TOKEN[:30]}",
    ],
)
def test_credential_shapes_are_scrubbed(text: str) -> None:
    scrubbed = Redactor()(text)
    assert REDACTED in scrubbed
    for value in (SECRET, TOKEN, SECRET[:20], "short-but-named", TOKEN[:30]):
        assert value not in scrubbed


def test_known_secrets_are_scrubbed_whatever_their_shape() -> None:
    redactor = Redactor(["not-shaped-like-a-key"])
    redactor.add("another-one-added-later", None, "short")
    assert redactor("a not-shaped-like-a-key b another-one-added-later c short") == (
        f"a {REDACTED} b {REDACTED} c short"
    )


def test_url_encoded_secrets_are_scrubbed_too() -> None:
    redactor = Redactor(["sec/ret+value=="])
    assert redactor("url ?t=sec%2Fret%2Bvalue%3D%3D body t=sec%2Fret%2Bvalue%3D%3D") == (
        f"url ?t={REDACTED} body t={REDACTED}"
    )


def test_the_smoke_checks_scrubber_is_the_same_redactor_without_shapes() -> None:
    from pytest_releasegate.sources.http_checks import scrub

    token = "A" * 120  # a long token the service itself sent: not ours to hide
    assert scrub(f"got {token} with pw1", ["pw1"]) == f"got {token} with ***"


def test_access_key_ids_keep_only_their_last_four_characters() -> None:
    assert Redactor()("key ASIAQWERTYUIOPAS1234 used") == "key …1234 used"


def test_ordinary_log_values_are_left_alone() -> None:
    text = (
        "job 3f1c2a9e-0b7d-4c1e-9a55-1d2e3f4a5b6c sha 9fceb02d0ae598e95dc970b74767f19372d61af8 "
        "tests/test_app.py::test_ok pipeline payments-api"
    )
    assert Redactor()(text) == text


def test_json_lines_carry_the_event_and_its_fields_redacted() -> None:
    stream = io.StringIO()
    log = EventLog("json", stream=stream, redactor=Redactor([SECRET]))
    log.info("job.finished", job_id="j-1", outcome="success", duration_ms=12.5, note=f"x {SECRET}")
    log.error("poll.failed", nested={"list": [SECRET]}, skipped=None)
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["event"] == "job.finished" and first["level"] == "info"
    assert first["job_id"] == "j-1" and first["duration_ms"] == 12.5
    assert first["note"] == f"x {REDACTED}"
    assert second["nested"] == {"list": [REDACTED]}
    assert "skipped" not in second
    assert SECRET not in stream.getvalue()


def test_text_lines_are_readable_key_value_pairs() -> None:
    stream = io.StringIO()
    log = EventLog("text", stream=stream, clock=lambda: "T")
    log.warning("poll.backoff", error="ThrottlingException", delay_s=0.4, reason="two words")
    assert stream.getvalue() == (
        'T WARNING poll.backoff error=ThrottlingException delay_s=0.4 reason="two words"\n'
    )


def _get(url: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_health_answers_200_while_the_loop_beats_and_503_once_stale() -> None:
    now = [0.0]
    beat = Heartbeat(stale_after=30, clock=lambda: now[0])
    server = HealthServer(beat, 0).start()
    try:
        url = f"http://127.0.0.1:{server.port}/healthz"
        beat.beat("polling")
        status, body = _get(url)
        assert status == 200 and body["status"] == "ok" and body["state"] == "polling"
        now[0] = 31.0
        assert _get(url)[0] == 503
        beat.beat("draining")
        assert _get(url)[0] == 200
        beat.beat("stopped")
        assert _get(url)[0] == 503
        assert _get(url.replace("/healthz", "/other"))[0] == 404
    finally:
        server.stop()
