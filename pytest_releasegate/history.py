"""Run history: one JSON line per gated run, in a local file or an S3 object.

``history = PATH | s3://bucket/key`` in the policy (or ``--gate-history`` /
``releasegate evaluate --history``) appends one line per gated run: its time,
verdict, profile, every rule's outcome, actual, threshold and baseline, every
metric and the context (git sha and branch, CodeBuild build id, pipeline
execution id). The history feeds ``baseline = "history"`` (the last passing
run on the same branch and profile), the HTML report's trend charts and the
Markdown sparklines.

What a caller may rely on:

* Lines are only ever appended; the file is rewritten only to trim it to
  ``history-keep`` runs, which also drops corrupt lines. A corrupt line is
  skipped with a warning, never fatal.
* Local files: appends and trims by concurrent runs on one machine are
  serialised with an advisory lock (``fcntl.flock``, POSIX), and a trim
  replaces the file atomically.
* S3: read-modify-write with conditional writes (``IfMatch`` the ETag read,
  ``IfNoneMatch="*"`` for the first run), retried with bounded full-jitter
  backoff when another run won the race; a record already present (a lost
  response to a write that took effect) is not written twice.
* A history that cannot be written leaves the verdict as it is: the run says
  so in ``warnings`` and ``history_error`` (see :func:`record_run`).

boto3 is imported only for an ``s3://`` history.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NamedTuple

from .model import VERDICT_SCHEMA, Outcome, Verdict

if TYPE_CHECKING:
    from .engine import Gate

HISTORY_SCHEMA = "releasegate.history/1"
DEFAULT_KEEP = 500
#: A rule's message is kept to its first line, at most this long.
MESSAGE_CHARS = 200
#: S3: attempts at a conditional write before giving up, and the backoff bounds (seconds).
S3_ATTEMPTS = 15
S3_BACKOFF_BASE = 0.05
S3_BACKOFF_CAP = 2.0
_CONFLICT_CODES = frozenset(
    {"PreconditionFailed", "ConditionalRequestConflict", "412", "409", "NoSuchKey"}
)
_VERDICTS = frozenset(o.value for o in (Outcome.PASS, Outcome.WARN, Outcome.FAIL, Outcome.ERROR))
# gate.data keys
_STORED_KEY = "history:stored"  # bytes of the history after this run was appended
_RECORDS_KEY = "history:records"  # parsed records for the report and Markdown


class HistoryError(Exception):
    """The history could not be read or written; the message names it and says why."""


class Loaded(NamedTuple):
    """Records read from a history, oldest first, and one warning per kind of problem."""

    records: list[dict[str, Any]]
    problems: list[str]


# -- records -----------------------------------------------------------------


def record_of(verdict: Verdict, *, run_id: str | None = None) -> dict[str, Any]:
    """The history line of one verdict (as a dict; see :func:`encode`).

    Built from the verdict's JSON form, so names, messages and numbers are
    bounded and finite exactly as in ``verdict.json``.
    """
    from .failures import first_line

    data = verdict.to_json()
    rules = []
    for r in data["rules"]:
        entry: dict[str, Any] = {"name": r["name"], "metric": r["metric"]}
        if r["select"]:
            entry["select"] = r["select"]
        entry.update(
            outcome=r["outcome"],
            level=r["level"],
            actual=r["actual"],
            threshold=r["threshold"],
            baseline=r["baseline"],
            message=first_line(r["message"], MESSAGE_CHARS) or "",
        )
        if r.get("precision") is not None:
            entry["precision"] = r["precision"]
        rules.append(entry)
    return {
        "schema": HISTORY_SCHEMA,
        "id": run_id or uuid.uuid4().hex,
        "time": data["finished_at"],
        "started_at": data["started_at"],
        "verdict": data["verdict"],
        "profile": data["profile"],
        "policy": data["policy"],
        "tool_version": data["tool_version"],
        "rules": rules,
        "metrics": data["metrics"],
        "context": data["context"],
        "failed_tests": len(verdict.failures) + verdict.failures_omitted,
    }


def encode(record: Mapping[str, Any]) -> bytes:
    """One line of JSON (no newline inside: JSON escapes every control character)."""
    return json.dumps(record, separators=(",", ":"), allow_nan=False).encode("utf-8")


def as_verdict(record: Mapping[str, Any]) -> Verdict:
    """A history record as a :class:`Verdict` (rule messages shortened; no test lists)."""
    return Verdict.from_json({**record, "schema": VERDICT_SCHEMA, "finished_at": record["time"]})


def branch_of(record: Mapping[str, Any]) -> str | None:
    context = record.get("context")
    branch = context.get("git_branch") if isinstance(context, Mapping) else None
    return branch if isinstance(branch, str) and branch else None


def same_series(
    records: Iterable[Mapping[str, Any]], *, branch: str | None, profile: str
) -> list[dict[str, Any]]:
    """The runs of one branch and profile, oldest first (no known branch matches only itself)."""
    return [dict(r) for r in records if r.get("profile") == profile and branch_of(r) == branch]


def _decode(raw: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested absurdly deep
        return None
    if (
        not isinstance(data, dict)
        or data.get("schema") != HISTORY_SCHEMA
        or data.get("verdict") not in _VERDICTS
        or not isinstance(data.get("profile"), str)
        or not isinstance(data.get("time"), str)
        or not isinstance(data.get("rules"), list)
        or not all(isinstance(r, dict) and "name" in r and "metric" in r for r in data["rules"])
        or not isinstance(data.get("metrics", {}), dict)
    ):
        return None
    return data


def parse(data: bytes, where: str) -> Loaded:
    """Every valid record of a history's bytes; corrupt lines become one warning."""
    records: list[dict[str, Any]] = []
    bad: list[int] = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        record = _decode(raw)
        if record is None:
            bad.append(number)
        else:
            records.append(record)
    problems = []
    if bad:
        shown = ", ".join(map(str, bad[:5])) + (f" and {len(bad) - 5} more" if len(bad) > 5 else "")
        problems.append(
            f"history {where}: skipped {len(bad)} corrupt line{'s' * (len(bad) > 1)} "
            f"(line {shown}); they are dropped the next time the history is trimmed"
        )
    return Loaded(records, problems)


def slack(keep: int) -> int:
    """Runs a history may hold beyond `keep` before it is trimmed back to `keep` (5%).

    Trimming checks every kept line, which costs about as much as reading the
    whole history; doing it once every `keep // 20` appends rather than at
    every append keeps an append at the bound as cheap as any other. Below
    20 runs the bound is exact.
    """
    return keep // 20


def _appended(data: bytes, line: bytes, keep: int) -> tuple[bytes, int]:
    """`data` with `line` added, trimmed to `keep` runs when it would pass `keep + slack(keep)`;
    and how many corrupt lines were dropped.

    Untrimmed, the earlier bytes are kept exactly (a partial last line is
    closed first, so the new record stays a line of its own).
    """
    if data and not data.endswith(b"\n"):
        data += b"\n"
    if data.count(b"\n") < keep + slack(keep):
        return data + line + b"\n", 0
    kept: list[bytes] = []
    dropped = 0
    lines = data.split(b"\n")
    for raw in reversed(lines):
        if len(kept) >= keep - 1:
            break
        if not raw.strip():
            continue
        if _decode(raw) is None:
            dropped += 1
        else:
            kept.append(raw)
    kept.reverse()
    kept.append(line)
    return b"\n".join(kept) + b"\n", dropped


# -- stores -------------------------------------------------------------------


class LocalHistory:
    """A JSON-lines file; relative paths resolve against the project root."""

    def __init__(self, location: str, rootdir: Path | None = None) -> None:
        self.location = location
        path = Path(location)
        if rootdir is not None and not path.is_absolute():
            path = rootdir / path
        self.path = path

    def read(self) -> Loaded:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return Loaded([], [])
        except OSError as exc:
            why = exc.strerror or exc
            raise HistoryError(f"cannot read history {self.location}: {why}") from None
        return parse(data, self.location)

    def append(self, line: bytes, keep: int, *, run_id: str = "") -> tuple[bytes, int]:
        """Append `line`, trimming to `keep` runs: (the history's bytes, corrupt lines dropped)."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            for _ in range(100):  # another run replaced the file while we waited: reopen it
                with open(self.path, "a+b") as f:
                    _lock(f)
                    if not _still_at(f, self.path):
                        continue
                    f.seek(0)
                    data = f.read()
                    stored, dropped = _appended(data, line, keep)
                    if stored.startswith(data):  # no trim: append only the new bytes
                        f.write(stored[len(data) :])
                        f.flush()
                    else:
                        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
                        tmp.write_bytes(stored)
                        os.replace(tmp, self.path)
                    return stored, dropped
        except OSError as exc:
            raise HistoryError(
                f"cannot write history {self.location}: {exc.strerror or exc}"
            ) from None
        raise HistoryError(f"cannot write history {self.location}: it keeps being replaced")


def _lock(f: IO[bytes]) -> None:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: appends are not serialised
        return
    fcntl.flock(f.fileno(), fcntl.LOCK_EX)  # released when the file is closed


def _still_at(f: IO[bytes], path: Path) -> bool:
    try:
        return os.path.samestat(os.fstat(f.fileno()), os.stat(path))
    except OSError:
        return False


class S3History:
    """One S3 object of JSON lines, appended by read-modify-write with conditional puts."""

    def __init__(self, location: str, client: Any = None) -> None:
        self.location = location
        bucket, _, key = location[len("s3://") :].partition("/")
        if not bucket or not key:
            raise HistoryError(f"history {location}: expected s3://bucket/key")
        self.bucket, self.key = bucket, key
        self._client = client
        #: Conditional writes that lost a race, for tests and diagnostics.
        self.conflicts = 0

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3  # heavy: only for an s3:// history

            self._client = boto3.client("s3")
        return self._client

    def _get(self) -> tuple[bytes, str | None]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self.key)
            return response["Body"].read(), response.get("ETag")
        except ClientError as exc:
            if _code(exc) in ("NoSuchKey", "404"):
                return b"", None
            raise HistoryError(f"cannot read history {self.location}: {_said(exc)}") from None
        except BotoCoreError as exc:
            raise HistoryError(f"cannot read history {self.location}: {exc}") from None

    def read(self) -> Loaded:
        return parse(self._get()[0], self.location)

    def append(self, line: bytes, keep: int, *, run_id: str = "") -> tuple[bytes, int]:
        from botocore.exceptions import BotoCoreError, ClientError

        marker = f'"id":"{run_id}"'.encode() if run_id else None
        for attempt in range(S3_ATTEMPTS):
            data, etag = self._get()
            if marker is not None and marker in data:
                return data, 0  # an earlier attempt took effect though its answer was lost
            stored, dropped = _appended(data, line, keep)
            condition = {"IfMatch": etag} if etag else {"IfNoneMatch": "*"}
            try:
                self.client.put_object(
                    Bucket=self.bucket,
                    Key=self.key,
                    Body=stored,
                    ContentType="application/x-ndjson",
                    **condition,
                )
                return stored, dropped
            except ClientError as exc:
                if _code(exc) not in _CONFLICT_CODES:
                    raise HistoryError(
                        f"cannot write history {self.location}: {_said(exc)}"
                    ) from None
            except BotoCoreError as exc:
                raise HistoryError(f"cannot write history {self.location}: {exc}") from None
            self.conflicts += 1
            time.sleep(random.uniform(0, min(S3_BACKOFF_CAP, S3_BACKOFF_BASE * 2**attempt)))
        raise HistoryError(
            f"cannot write history {self.location}: other runs kept changing it "
            f"({S3_ATTEMPTS} conditional writes lost the race)"
        )


def _code(exc: Any) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _said(exc: Any) -> str:
    error = exc.response.get("Error", {})
    return f"S3 said {error.get('Code', '?')}: {error.get('Message', exc)}"


def open_history(location: str, *, rootdir: Path | None = None) -> LocalHistory | S3History:
    """The store behind a `history` location (path or s3://bucket/key)."""
    if location.startswith("s3://"):
        return S3History(location)
    return LocalHistory(location, rootdir)


# -- the gate's use -------------------------------------------------------------


def history_location(gate: Gate) -> str | None:
    """`--gate-history` / `--history`, else the policy's `history`, else None (off)."""
    return gate.options.history or gate.policy.history


def baseline_from_history(
    gate: Gate, context: Mapping[str, Any]
) -> tuple[Verdict | None, str | None]:
    """`baseline = "history"`: the last passing run of this branch and profile, or why none."""
    location = history_location(gate)
    if not location:
        return None, 'baseline = "history" needs a history: set `history` or pass --gate-history'
    try:
        loaded = open_history(location, rootdir=gate.rootdir).read()
    except HistoryError as exc:
        return None, str(exc)
    gate.warnings.extend(loaded.problems)
    branch = context.get("git_branch") or None
    for record in reversed(loaded.records):
        if (
            record["verdict"] == Outcome.PASS.value
            and record["profile"] == gate.profile
            and branch_of(record) == branch
        ):
            try:
                return as_verdict(record), None
            except (KeyError, ValueError):
                continue
    on = f"branch {branch}" if branch else "an unknown branch"
    return None, (
        f"no passing run on {on} with profile {gate.profile} in the history {location} yet "
        '(bootstrap a ratchet with on-missing = "skip" on its rule)'
    )


def record_run(gate: Gate, verdict: Verdict) -> Verdict:
    """Append `verdict` to the configured history; the verdict to publish.

    The outcome never changes: a history that cannot be written adds a
    warning and ``history_error``. With ``--gate-dry-run`` an S3 history is
    not written (nothing remote is).
    """
    location = history_location(gate)
    if not location:
        return verdict
    if gate.options.dry_run and location.startswith("s3://"):
        note = f"dry run: this run was not added to the history {location}"
        return verdict._replace(warnings=(*verdict.warnings, note))
    record = record_of(verdict)
    try:
        stored, dropped = open_history(location, rootdir=gate.rootdir).append(
            encode(record), gate.policy.history_keep, run_id=record["id"]
        )
    except (HistoryError, ValueError) as exc:
        message = str(exc)
        return verdict._replace(
            history_error=message,
            warnings=(*verdict.warnings, f"this run was NOT added to the history: {message}"),
        )
    gate.data[_STORED_KEY] = stored
    warnings = list(verdict.warnings)
    if dropped:
        warnings.append(f"history {location}: dropped {dropped} corrupt line(s) while trimming")
    if gate.options.html or gate.options.markdown:
        loaded = parse(stored, location)
        gate.data[_RECORDS_KEY] = loaded.records
        warnings.extend(p for p in loaded.problems if p not in warnings)
    return verdict._replace(warnings=tuple(warnings))


def records_for(gate: Gate) -> list[dict[str, Any]]:
    """The history as it stands after this run (for the report and Markdown); [] without one."""
    cached: list[dict[str, Any]] | None = gate.data.get(_RECORDS_KEY)
    if cached is not None:
        return cached
    location = history_location(gate)
    records: list[dict[str, Any]] = []
    stored = gate.data.get(_STORED_KEY)
    if stored is not None:
        records = parse(stored, location or "").records
    elif location:
        with contextlib.suppress(HistoryError):
            records = open_history(location, rootdir=gate.rootdir).read().records
    gate.data[_RECORDS_KEY] = records
    return records


def series_for(
    verdict: Mapping[str, Any], records: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """The runs of the verdict's branch and profile, oldest first, ending with this verdict.

    A verdict that is not in the history (not recorded, or a JSON from
    elsewhere) is added as the last run.
    """
    context = verdict.get("context") if isinstance(verdict.get("context"), Mapping) else {}
    branch = context.get("git_branch") or None if isinstance(context, Mapping) else None
    runs = same_series(records, branch=branch, profile=str(verdict.get("profile", "")))
    key = (verdict.get("started_at"), verdict.get("finished_at"))
    for index in range(len(runs) - 1, -1, -1):
        if (runs[index].get("started_at"), runs[index].get("time")) == key:
            return runs[: index + 1]
    runs.append(_record_from_json(verdict))
    return runs


def _record_from_json(verdict: Mapping[str, Any]) -> dict[str, Any]:
    """A verdict JSON in the shape of a history record (for the trend's last point)."""
    rules = [dict(r) for r in verdict.get("rules", []) if isinstance(r, Mapping)]
    return {
        "schema": HISTORY_SCHEMA,
        "time": verdict.get("finished_at", ""),
        "started_at": verdict.get("started_at", ""),
        "verdict": verdict.get("verdict"),
        "profile": verdict.get("profile"),
        "rules": rules,
        "metrics": dict(verdict.get("metrics") or {}),
        "context": dict(verdict.get("context") or {}),
    }
