"""HTTP for smoke checks: declarative checks, the pooled session, the ``gate_http`` session.

Imports :mod:`requests` at module level, so import this module only when
HTTP work is about to happen (the smoke source and the fixture do it lazily).

Secrets: values that ``${VAR}`` pulls from the environment (in headers and
body, never in the URL, which urllib3 logs) are collected per check and
replaced by ``***`` in every message this module produces (the
check's failure message, exception text, the first bytes of a body that
echoes them), in plain and URL-encoded form. They are never logged.
"""

from __future__ import annotations

import json as _json
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from ..sections import SMOKE_DEFAULTS, SmokeCheck
from .bake import Attempt, CheckResult

#: Checks in flight at once (and connections kept per host).
DEFAULT_CONCURRENCY = 32
DEFAULT_TIMEOUT: float = SMOKE_DEFAULTS["timeout"]
#: First pause between attempts; it doubles per retry up to MAX_BACKOFF.
DEFAULT_BACKOFF: float = SMOKE_DEFAULTS["backoff"]
MAX_BACKOFF = 5.0
#: How much of a failing response's body a message shows.
BODY_PREVIEW = 120
MASK = "***"
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_SECRET_QUERY_KEYS = re.compile(
    r"token|secret|pass|pwd|key|auth|sig|credential|session", re.IGNORECASE
)


class CheckSetupError(Exception):
    """A check that cannot run as declared (unset variable, no base URL)."""


# -- text hygiene --------------------------------------------------------------


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret (plain or URL-encoded) replaced by ``***``."""
    from ..redact import Redactor

    return Redactor(secrets, mask=MASK, shapes=False, min_length=1)(text)


def retry_pause(backoff: float, retry: int) -> float:
    """Seconds before retry number ``retry`` (1 for the first) of a smoke request:
    ``backoff`` doubling each time, at most MAX_BACKOFF. No jitter: the checks
    and ``gate_http`` retry a few times against one service, on a schedule the
    policy states (``retries``, ``backoff``)."""
    return float(min(backoff * 2 ** (retry - 1), MAX_BACKOFF))


def display_url(url: str) -> str:
    """``url`` without user:password, and with secret-looking query values masked."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return "<unparsable URL>"
    netloc = parts.netloc.rsplit("@", 1)[-1]
    query = parts.query
    if query:
        pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
        query = "&".join(f"{k}={MASK if _SECRET_QUERY_KEYS.search(k) else v}" for k, v in pairs)
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def body_preview(content: bytes, secrets: Iterable[str] = ()) -> str:
    """The first characters of a body, secrets masked *before* it is cut (no half-secrets)."""
    longest = max((len(s) for s in secrets), default=0)
    text = content[: BODY_PREVIEW * 4 + longest * 3].decode("utf-8", errors="replace")
    text = " ".join(scrub(text, secrets).split())
    return text[:BODY_PREVIEW] + ("\u2026" if len(text) > BODY_PREVIEW else "")


def _expand(template: str, environ: Mapping[str, str], where: str, secrets: list[str]) -> str:
    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        value = environ.get(name)
        if value is None:
            raise CheckSetupError(f"{where} uses ${{{name}}}, which is not set in the environment")
        secrets.append(value)
        return value

    return _VAR.sub(sub, template)


# -- expectations --------------------------------------------------------------


def status_matches(status: int, expected: Any) -> bool:
    """``expected`` is a code, a "2xx"-style class, a code as a string, or a list of these."""
    if isinstance(expected, list):
        return any(status_matches(status, e) for e in expected)
    if isinstance(expected, str):
        if expected.endswith("xx"):
            return str(status)[0] == expected[0]
        return str(status) == expected
    return bool(status == expected)


def json_subset(expected: Any, actual: Any, path: str = "$") -> str | None:
    """Where ``actual`` does not contain ``expected``, or None when it does.

    Tables match when every expected key is present and matches; lists when
    every expected item matches some actual item (order-free); scalars when
    equal (``1 == 1.0``, but ``true`` is not ``1``).
    """
    if isinstance(expected, Mapping):
        if not isinstance(actual, Mapping):
            return f"{path}: expected an object, got {type(actual).__name__}"
        for key, value in expected.items():
            if key not in actual:
                return f"{path}.{key}: missing"
            problem = json_subset(value, actual[key], f"{path}.{key}")
            if problem:
                return problem
        return None
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return f"{path}: expected a list, got {type(actual).__name__}"
        for index, item in enumerate(expected):
            if not any(json_subset(item, a) is None for a in actual):
                return f"{path}[{index}]: no item matches {_json.dumps(item)[:60]}"
        return None
    if isinstance(expected, bool) or isinstance(actual, bool):
        same = type(expected) is type(actual) and expected == actual
    else:
        same = expected == actual
    if not same:
        return f"{path}: expected {_json.dumps(expected)[:60]}, got {_json.dumps(actual)[:60]}"
    return None


# -- declared checks -----------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """One ``[[smoke]]`` check, templated and ready to run."""

    name: str
    method: str
    url: str
    headers: Mapping[str, str]
    body: str | None = None
    json: Any = None
    expect_status: Any = "2xx"
    expect_json: Any = None
    expect_body: str | None = None
    expect_body_regex: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    retries: int = 0
    backoff: float = DEFAULT_BACKOFF
    verify: bool | str = True
    secrets: tuple[str, ...] = ()

    @classmethod
    def from_policy(
        cls, check: SmokeCheck, base_url: str | None, environ: Mapping[str, str]
    ) -> Check:
        """Template a declared check; raises CheckSetupError when it cannot run."""
        name = check.name
        secrets: list[str] = []
        url = check.url
        if "{base_url}" in url:
            if not base_url:
                raise CheckSetupError(
                    f"smoke check {name!r} needs a base URL: pass --gate-base-url "
                    "(releasegate evaluate --base-url) or set RELEASEGATE_BASE_URL"
                )
            url = url.replace("{base_url}", base_url.rstrip("/"))
        if _VAR.search(url):
            # urllib3 logs request lines at DEBUG: a secret in the URL could reach a log.
            raise CheckSetupError(
                f"smoke check {name!r}: ${{VAR}} is expanded in headers and body, not in url"
            )
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise CheckSetupError(
                f"smoke check {name!r}: {display_url(url)!r} is not an http(s) URL"
            )
        headers = {
            str(k): _expand(str(v), environ, f"smoke check {name!r}: header {k!r}", secrets)
            for k, v in check.headers.items()
        }
        body = check.body
        if body is not None:
            body = _expand(str(body), environ, f"smoke check {name!r}: body", secrets)
        return cls(
            name=name,
            method=check.method,
            url=url,
            headers=headers,
            body=body,
            json=check.json,
            expect_status=check.expect_status,
            expect_json=check.expect_json,
            expect_body=check.expect_body,
            expect_body_regex=check.expect_body_regex,
            timeout=check.timeout,
            retries=check.retries,
            backoff=check.backoff,
            verify=check.verify,
            secrets=tuple(secrets),
        )

    def judge(self, response: requests.Response) -> str | None:
        """Why the response fails the expectations, or None."""
        status = response.status_code
        if not status_matches(status, self.expect_status):
            return f"expected status {self.expect_status}"
        if self.expect_body is not None and self.expect_body not in response.text:
            return f"body does not contain {self.expect_body!r}"
        if self.expect_body_regex is not None and not re.search(
            self.expect_body_regex, response.text
        ):
            return f"body does not match /{self.expect_body_regex}/"
        if self.expect_json is not None:
            try:
                data = response.json()
            except ValueError:
                return "body is not JSON"
            problem = json_subset(self.expect_json, data)
            if problem:
                return f"JSON mismatch at {problem}"
        return None

    def run(
        self,
        session: requests.Session,
        *,
        sleep: Callable[[float], None] = time.sleep,
        timer: Callable[[], float] = time.perf_counter,
    ) -> CheckResult:
        """Run with retries; every attempt is a request with its own latency and status."""
        attempts: list[Attempt] = []
        message = ""
        for n in range(self.retries + 1):
            if n:
                sleep(retry_pause(self.backoff, n))
            start = timer()
            status: int | None = None
            try:
                response = session.request(
                    self.method,
                    self.url,
                    headers=dict(self.headers),
                    data=self.body,
                    json=self.json,
                    timeout=self.timeout,
                    verify=self.verify,
                )
                # requests has read the whole body by now: latency is time to the last byte.
                ms = (timer() - start) * 1000.0
                status = response.status_code
                problem = self.judge(response)
                if problem is not None:
                    message = (
                        f"{self.method} {display_url(self.url)} -> {status} ({problem}): "
                        f"{body_preview(response.content, self.secrets)!r}"
                    )
            except Exception as exc:  # noqa: BLE001 - any failure to get a response fails the attempt
                ms = (timer() - start) * 1000.0
                problem = type(exc).__name__
                message = f"{self.method} {display_url(self.url)} -> no response ({problem}: {exc})"
            attempts.append(Attempt(ms=ms, status=status, ok=problem is None))
            if problem is None:
                return CheckResult(self.name, True, "", tuple(attempts))
        if len(attempts) > 1:
            message += f" [{len(attempts)} attempts]"
        return CheckResult(self.name, False, scrub(message, self.secrets), tuple(attempts))


def make_session(pool_size: int) -> requests.Session:
    """One session whose connection pool holds ``pool_size`` connections per host."""
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=max(1, pool_size), max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class CheckRunner:
    """Runs a list of checks concurrently, round after round, on one pooled session."""

    def __init__(
        self,
        checks: Sequence[Check],
        *,
        concurrency: int | None = None,
        sleep: Callable[[float], None] = time.sleep,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.checks = list(checks)
        self.workers = max(1, min(concurrency or DEFAULT_CONCURRENCY, len(self.checks) or 1))
        self.session = make_session(self.workers)
        self.sleep = sleep
        self.timer = timer
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="releasegate-smoke")

    def run_round(self, index: int = 0) -> list[CheckResult]:
        """Every check once; results in declaration order."""
        return list(
            self._pool.map(
                lambda c: c.run(self.session, sleep=self.sleep, timer=self.timer), self.checks
            )
        )

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        self.session.close()

    def __enter__(self) -> CheckRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- the gate_http session -------------------------------------------------------

_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})


class GateSession(requests.Session):
    """A :class:`requests.Session` bound to a base URL that records every request.

    * Relative URLs (``"/health"``, ``"health"``) are appended to ``base_url``;
      absolute ones are used as given.
    * ``timeout`` applies to every request that does not pass its own.
    * Idempotent requests (GET, HEAD, OPTIONS, PUT, DELETE) are retried up to
      ``retries`` times, after ``backoff`` seconds doubling each time, on a
      connection error, a timeout, or a status in ``retry_statuses``.
    * Every attempt is one sample passed to ``record``:
      ``{"ms", "status", "ok", "nodeid"}``, redirects followed within it (the
      final status; the time until the last hop's body is read, or its
      headers with ``stream=True``); it is not ok when it got no response or
      a 5xx status.
    """

    def __init__(
        self,
        base_url: str,
        record: Callable[[dict[str, Any]], None],
        *,
        nodeid: str = "",
        timeout: float = 10.0,
        retries: int = 2,
        backoff: float = DEFAULT_BACKOFF,
        retry_statuses: Iterable[int] = (502, 503, 504),
        sleep: Callable[[float], None] = time.sleep,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.retry_statuses = frozenset(retry_statuses)
        self._record = record
        self._nodeid = nodeid
        self._sleep = sleep
        self._timer = timer
        self._local = threading.local()

    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        text = url.decode() if isinstance(url, bytes) else str(url)
        if not urllib.parse.urlsplit(text).scheme:
            text = f"{self.base_url}/{text.lstrip('/')}"
        return super().request(method, text, *args, **kwargs)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        if getattr(self._local, "sending", False):
            # A redirect hop, sent from inside the outer send: part of that request.
            return super().send(request, **kwargs)
        self._local.sending = True
        try:
            return self._send_with_retries(request, **kwargs)
        finally:
            self._local.sending = False

    def _send_with_retries(
        self, request: requests.PreparedRequest, **kwargs: Any
    ) -> requests.Response:
        tries = self.retries + 1 if (request.method or "GET").upper() in _IDEMPOTENT else 1
        for n in range(tries):
            if n:
                self._sleep(retry_pause(self.backoff, n))
            start = self._timer()
            try:
                response = super().send(request, **kwargs)
            except (requests.ConnectionError, requests.Timeout):
                self._sample(start, None)
                if n + 1 == tries:
                    raise
                continue
            self._sample(start, response.status_code)
            if response.status_code in self.retry_statuses and n + 1 < tries:
                response.close()
                continue
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    def _sample(self, start: float, status: int | None) -> None:
        ms = (self._timer() - start) * 1000.0
        ok = status is not None and status < 500
        self._record({"ms": round(ms, 3), "status": status, "ok": ok, "nodeid": self._nodeid})
