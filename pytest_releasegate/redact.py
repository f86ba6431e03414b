"""One secret redactor for every text that may reach a log, a result or a message.

A :class:`Redactor` removes the exact values it was told about (a job's
artifact credentials, the worker's own keys, a smoke check's ``${VAR}``
values) — plain and URL-encoded — and, unless ``shapes=False``, anything
shaped like an AWS secret access key, session token or access key id. The
job worker and the Lambda handler redact every log line and failure message
with one; the smoke checks redact their failure messages with one that
knows only the expanded variables (``shapes=False``: a response body may
legitimately hold long tokens of its own).
"""

from __future__ import annotations

import re
import threading
import urllib.parse
from collections.abc import Iterable, Mapping

REDACTED = "[REDACTED]"

#: Credential-looking text. Key ids are not secret, but they name the
#: credential, so only their last four characters are kept.
_ACCESS_KEY_ID = re.compile(r"\b(?:AKIA|ASIA|AROA|AIDA)[A-Z0-9]{12,}([A-Z0-9]{4})\b")
#: A 40-character base64 run with a character that hex lacks (a secret access
#: key; a 40-hex git sha stays readable).
_SECRET_KEY = re.compile(
    r"(?<![A-Za-z0-9/+=])(?=[A-Za-z0-9/+=]{0,39}[A-Zg-z/+=])[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])"
)
#: Session tokens are long base64 strings.
_LONG_TOKEN = re.compile(r"[A-Za-z0-9/+=_-]{100,}")
#: `name=value` / `"name": "value"` where the name says it is a secret.
_NAMED_SECRET = re.compile(
    r"(?i)((?:secret_?access_?key|session_?token|security_?token|secretaccesskey|"
    r"sessiontoken|artifactcredentials|aws_secret_access_key|aws_session_token)"
    r"[\"']?\s*[:=]\s*[\"']?)([^\s\"',}]+)"
)

#: A path segment or identifier made of words: lowercase, Capitalized or
#: CamelCase words and digits, joined by `_` or `-` (`node_modules`,
#: `PartialRefundHandlerTest`, `x86_64`). Random base64 almost never reads so:
#: it has capitals in a row, `+` or `=`.
#: (Each word starts at a separator or a capital, so matching never backtracks.)
_WORDISH = re.compile(r"(?:[_-]*[A-Z]?[a-z0-9]+(?:(?:[_-]+[A-Z]?|[A-Z])[a-z0-9]+)*[_-]*)?")


def _ordinary(run: str) -> bool:
    """Whether a credential-shaped run is a path or a name made of words."""
    return all(_WORDISH.fullmatch(part) for part in run.split("/"))


class Redactor:
    """Removes credentials from text; thread-safe, grows as credentials are seen."""

    def __init__(
        self,
        secrets: Iterable[str] = (),
        *,
        mask: str = REDACTED,
        shapes: bool = True,
        min_length: int = 8,
    ) -> None:
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        self.mask = mask
        self.shapes = shapes
        self.min_length = min_length
        self.add(*secrets)

    def add(self, *secrets: str | None) -> None:
        """Redact these exact values from now on (shorter than ``min_length``: ignored)."""
        with self._lock:
            self._secrets.update(s for s in secrets if s and len(s) >= self.min_length)

    def secrets(self) -> tuple[str, ...]:
        """The registered values (to keep them out of a child's environment)."""
        with self._lock:
            return tuple(self._secrets)

    def knows(self, value: str) -> bool:
        """Whether ``value`` holds one of the registered secrets."""
        with self._lock:
            return any(s in value for s in self._secrets)

    def __call__(self, text: str) -> str:
        with self._lock:
            known = set(self._secrets)
        forms = set(known)
        for secret in known:  # as it appears in a URL or a form body
            forms.update((urllib.parse.quote(secret, safe=""), urllib.parse.quote_plus(secret)))
        for form in sorted(forms, key=len, reverse=True):
            if form in text:
                text = text.replace(form, self.mask)
        if not self.shapes:
            return text
        text = _NAMED_SECRET.sub(lambda m: m.group(1) + self.mask, text)
        text = _LONG_TOKEN.sub(self._unless_ordinary, text)
        text = _SECRET_KEY.sub(self._unless_ordinary, text)
        return _ACCESS_KEY_ID.sub(lambda m: f"…{m.group(1)}", text)

    def _unless_ordinary(self, match: re.Match[str]) -> str:
        run = match.group()
        return run if _ordinary(run) else self.mask

    def scrub(self, value: object) -> object:
        """``value`` with every string in it redacted (dicts, lists, tuples walked)."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, Mapping):
            return {str(k): self.scrub(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.scrub(v) for v in value]
        return value
