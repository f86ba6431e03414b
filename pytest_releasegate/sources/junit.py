"""JUnit XML files written by other tools, as a gate source.

``--gate-input-junit [NAME=]GLOB`` (and ``releasegate evaluate --input-junit``)
adds every testcase of the matching files to the run's test results under the
source ``junit:NAME`` (``junit:default`` without a NAME), so the ``tests.*``
metrics cover them. What counts as what is written down in ``docs/test-reports.md``;
in short:

* a ``<testcase>`` is one test: ``<failure>`` → failed, ``<error>`` → error,
  ``<skipped>`` → skipped (``type="pytest.xfail"`` → xfailed), no such child →
  passed. The ``tests=``/``failures=`` … attributes are never trusted.
* a test repeated within a source (a rerun plugin) is one test whose outcome
  is the last attempt's, flaky when an earlier attempt failed and the last
  passed; Surefire's ``<flakyFailure>``/``<flakyError>`` mark a passed test flaky.
* an ``<error>``/``<failure>`` directly inside a ``<testsuite>`` (a file that
  did not load, a package that did not compile) is one error.

The parser streams (expat, 64 KiB at a time, no tree is built and no text is
kept), so memory grows with the number of testcases, not the file size. It
is hardened against hostile input: any DTD is refused outright, so no entity
is ever declared, expanded or fetched; nesting depth is capped; a file that
is not well-formed JUnit raises :class:`JUnitError`, whose message names the
file, and never a traceback.
"""

from __future__ import annotations

import contextlib
import fnmatch
import glob
import math
import os
import stat
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO
from xml.parsers import expat

from .. import hookimpl
from ..bounds import MAX_NAME, clip_id
from ..model import TestRecord
from ..options import DEFAULT_JUNIT_NAME, parse_input_spec
from ..records import RecordTable
from ._xml import CHUNK as _CHUNK
from ._xml import MAX_DEPTH as _MAX_DEPTH
from ._xml import Refuse, ReportError, parse_xml

if TYPE_CHECKING:
    from ..engine import Gate

__all__ = [
    "DEFAULT_NAME",
    "JUnitError",
    "count_outcomes",
    "merge_attempts",
    "parse_input_spec",
    "parse_junit",
    "read_junit",
]

#: Source name for ``--gate-input-junit GLOB`` without ``NAME=``: ``junit:default``.
DEFAULT_NAME = DEFAULT_JUNIT_NAME
#: Where malformed-file messages are listed, for diagnostics (``list[str]``).
ERRORS_KEY = "junit_errors"

_MAX_STANDINS = 1000  # stand-in errors per suite, however large its errors= claim
_NOT_RUN = frozenset(("notrun", "disabled", "skipped"))
_ROOTS = ("testsuites", "testsuite")
_SUITE_ERROR = "[suite error]"
_OTHER_FORMATS = {
    "testng-results": "TestNG XML",
    "test-results": "NUnit 2 XML",
    "test-run": "NUnit 3 XML",
    "TestRun": "TRX",
}

# Children of <testcase> that decide its outcome, and the rerun attempts
# Surefire and others record inside a single testcase.
_FAILURE, _ERROR, _SKIPPED, _XFAIL, _FLAKY, _EXPECTED = 1, 2, 4, 8, 16, 32
# Catch2 (v2.13.9+ and v3) marks a [!mayfail]/[!shouldfail] test that failed
# as expected with this <skipped> beside its <failure>/<error>.
_CATCH2_EXPECTED = "TEST_CASE tagged with !mayfail"
_CHILD_FLAGS = {
    "failure": _FAILURE,
    "error": _ERROR,
    "skipped": _SKIPPED,
    "flakyFailure": _FLAKY,
    "flakyError": _FLAKY,
}


class JUnitError(ReportError):
    """A file that cannot be read as JUnit XML. ``str()`` is one line naming the file."""


# -- parsing ------------------------------------------------------------------


def parse_junit(
    stream: BinaryIO,
    *,
    source: str = f"junit:{DEFAULT_NAME}",
    rootdir: str | os.PathLike[str] | None = None,
    chunk_size: int = _CHUNK,
) -> RecordTable:
    """Read one JUnit XML document from a binary ``stream`` into records by nodeid.

    Reruns (the same nodeid again) are merged with :func:`merge_attempts`.
    ``rootdir`` makes absolute ``file`` attributes under it project-relative.
    Raises :class:`JUnitError` (without the file name; :func:`read_junit`
    adds it) when the document is not well-formed JUnit.
    """
    paths = _PathNormalizer(rootdir)

    def make(parser: expat.XMLParserType, refuse: Refuse) -> Callable[[], RecordTable]:
        return _handlers(parser, refuse, source, paths)

    try:
        return parse_xml(stream, make, what="JUnit XML", chunk_size=chunk_size)
    except ReportError as exc:
        raise JUnitError(str(exc)) from None


_INF = math.inf


def _handlers(
    parser: expat.XMLParserType,
    refuse: Refuse,
    source: str,
    paths: _PathNormalizer,
) -> Callable[[], RecordTable]:
    # Expat calls back twice per element, so the state lives in closure cells
    # (the cheapest lookups there are), no tree is ever built, and inside a
    # <testcase> a second, smaller pair of handlers takes over.
    records = RecordTable(source)
    add_row = records.add
    interned: dict[str, str] = {}
    intern = interned.setdefault
    path_of = paths.cache.get
    # Open suites, innermost last: [depth, name, file (inherited), bad
    # elements before it, errors+failures attributes, suite-level errors].
    suites: list[list[Any]] = []
    suite_file: str | None = None  # the innermost suite's file, for testcases without one
    depth = 0  # open elements outside any testcase
    inner = 0  # open elements inside the open testcase
    bad = 0  # <failure>/<error> elements (and stand-ins for missing ones) so far
    case: dict[str, str] = {}
    flags = 0
    message: str | None = None  # the testcase's first <failure>/<error> message
    not_run = _NOT_RUN
    inf = _INF
    unseen = _UNSEEN
    max_name = MAX_NAME

    def add_suite_error(n: int) -> None:
        nonlocal bad
        bad += 1
        names = [s[1] for s in suites if s[1]]
        classname = str(names[-1]) if names else None
        name = _SUITE_ERROR if n == 1 else f"{_SUITE_ERROR} {n}"
        add_row(classname, name, "error", 0.0, False, classname, paths(suites[-1][2]))

    def start(tag: str, attrs: dict[str, str]) -> None:
        nonlocal depth, case, flags, inner, suite_file
        if tag == "testcase":
            if not suites:
                refuse("root element is <testcase>, expected <testsuites> or <testsuite>")
            if "name" not in attrs:
                refuse(f"<testcase> without a name attribute at line {parser.CurrentLineNumber}")
            case = attrs
            flags = inner = 0
            parser.StartElementHandler = case_start
            parser.EndElementHandler = case_end
            return
        depth += 1
        if tag in _ROOTS and (depth == 1 or suites[-1][0] == depth - 1):
            suite_file = attrs.get("file") or suite_file
            suites.append([depth, attrs.get("name"), suite_file, bad, _count(attrs), 0])
        elif depth == 1:
            other = _OTHER_FORMATS.get(tag)
            hint = f" ({other}: read it with --input-tests)" if other else ""
            refuse(f"root element is <{tag}>, expected <testsuites> or <testsuite>{hint}")
        elif (tag == "error" or tag == "failure") and suites[-1][0] == depth - 1:
            suite = suites[-1]
            suite[5] += 1
            add_suite_error(suite[5])
        elif depth > _MAX_DEPTH:
            refuse(f"elements nested more than {_MAX_DEPTH} deep")

    def end(tag: str) -> None:
        nonlocal depth, suite_file
        if suites and depth == suites[-1][0]:
            suite = suites[-1]
            # A suite that reports more errors and failures than it holds
            # elements for (gotestsum's package that did not compile, a file
            # that did not load): each missing one is an error, not a zero.
            missing = min(suite[4] - (bad - suite[3]), _MAX_STANDINS)
            for _ in range(missing):
                suite[5] += 1
                add_suite_error(suite[5])
            suites.pop()
            suite_file = suites[-1][2] if suites else None
        depth -= 1

    def case_start(tag: str, attrs: dict[str, str]) -> None:
        nonlocal flags, inner, bad, message
        if not inner:
            flag = _CHILD_FLAGS.get(tag)
            if flag:
                if flag == _SKIPPED:
                    if attrs.get("type") == "pytest.xfail":
                        flag = _XFAIL
                    elif attrs.get("message", "").startswith(_CATCH2_EXPECTED):
                        flag = _EXPECTED
                elif flag <= _ERROR:
                    bad += 1
                    if message is None:
                        message = attrs.get("message") or attrs.get("type")
                flags |= flag
            elif tag == "testcase":
                refuse(f"<testcase> inside <testcase> at line {parser.CurrentLineNumber}")
        elif inner >= _MAX_DEPTH:
            refuse(f"elements nested more than {_MAX_DEPTH} deep")
        inner += 1

    def case_end(tag: str) -> None:
        nonlocal inner, message
        if inner:
            inner -= 1
            return
        parser.StartElementHandler = start
        parser.EndElementHandler = end
        attrs = case
        if not flags:
            # googletest's DISABLED_ tests and ctest's disabled ones say so
            # only in an attribute.
            outcome = "skipped" if attrs.get("status") in not_run else "passed"
        elif flags & _EXPECTED:
            outcome = "xfailed"  # failed as the producer expected: its run passes
        elif flags & _FAILURE:
            outcome = "failed"
        elif flags & _ERROR:
            outcome = "error"
        elif flags & _SKIPPED:
            outcome = "skipped"
        elif flags & _XFAIL:
            outcome = "xfailed"
        else:
            outcome = "passed"
        classname = attrs.get("classname") or None
        name = attrs["name"]
        if len(name) > max_name:  # a 100 MB name is kept as 1,024 characters
            name = clip_id(name)
        if classname is not None:
            if len(classname) > max_name:
                classname = clip_id(classname)
            classname = intern(classname, classname)
        time = attrs.get("time")
        try:
            duration = float(time) if time else 0.0
        except ValueError:
            duration = _seconds(time)  # type: ignore[arg-type]
        if not 0.0 <= duration < inf:
            duration = 0.0
        file = attrs.get("file") or suite_file
        if file is not None and len(file) > max_name:
            file = clip_id(file)
        path = path_of(file, unseen)
        add_row(
            classname,
            name,
            outcome,
            duration,
            flags & _FLAKY != 0 and outcome == "passed",
            classname,
            paths(file) if path is unseen else path,
            (),
            message,
        )
        message = None

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    return lambda: records


_UNSEEN: Any = object()


def _count(attrs: dict[str, str]) -> int:
    """``errors`` + ``failures`` attributes of a suite; a value that is not a count is 0."""
    total = 0
    for key in ("errors", "failures"):
        value = attrs.get(key, "").strip()
        if value.isdigit():
            total += int(value)
    return total


def _seconds(value: str) -> float:
    """A ``time`` attribute that ``float()`` refused; nonsense is 0.0, never an error."""
    try:  # old Surefire wrote locale-formatted times: "1,234.5"
        return float(value.replace(",", ""))
    except ValueError:
        return 0.0


# -- files → records ----------------------------------------------------------


def read_junit(
    path: str | os.PathLike[str],
    *,
    source: str = f"junit:{DEFAULT_NAME}",
    display: str | None = None,
    rootdir: str | os.PathLike[str] | None = None,
) -> RecordTable:
    """Read one JUnit file into records keyed by nodeid, reruns merged.

    ``display`` is how the file is named in errors (default: ``path``).
    Raises :class:`JUnitError` naming the file; nothing is returned for a
    file that is not well-formed to the end.
    """
    label = display if display is not None else os.fspath(path)
    try:
        with open(path, "rb") as stream:
            return parse_junit(stream, source=source, rootdir=rootdir)
    except JUnitError as exc:
        raise JUnitError(f"{label}: {exc}") from None
    except OSError as exc:
        raise JUnitError(f"{label}: cannot read ({exc.strerror or exc})") from None


def merge_attempts(earlier: TestRecord, later: TestRecord) -> TestRecord:
    """Two attempts at the same test: the later outcome counts, durations add up.

    Flaky when the later attempt passed: a rerun plugin repeats only a test
    that did not pass, and pytest-rerunfailures writes the attempts it
    retried as testcases with no child, indistinguishable from a pass. When
    no attempt passed, an error outweighs a failure (jest-junit writes a
    suite that failed to load as an error and a failure of the same name).
    """
    later.flaky = later.outcome == "passed"
    if later.outcome == "failed" and earlier.outcome == "error":
        later.outcome = "error"
    later.duration += earlier.duration
    return later


class _PathNormalizer:
    """``file`` attributes as project-relative POSIX paths, cached per distinct value."""

    def __init__(self, rootdir: str | os.PathLike[str] | None) -> None:
        self.root = Path(rootdir).resolve() if rootdir is not None else None
        self.cache: dict[str | None, str | None] = {None: None, "": None}

    def __call__(self, file: str | None) -> str | None:
        try:
            return self.cache[file]
        except KeyError:
            pass
        assert file is not None
        norm = file.replace("\\", "/")
        while norm.startswith("./"):
            norm = norm[2:]
        if self.root is not None and os.path.isabs(norm):
            with contextlib.suppress(ValueError, OSError):
                norm = Path(norm).resolve().relative_to(self.root).as_posix()
        self.cache[file] = norm
        return norm


def count_outcomes(records: Iterable[TestRecord]) -> dict[str, int]:
    """Counts per outcome plus ``total`` and ``flaky``: what a producer's summary says."""
    counts = dict.fromkeys(
        ("total", "passed", "failed", "error", "skipped", "xfailed", "xpassed", "flaky"), 0
    )
    for record in records:
        counts["total"] += 1
        counts[record.outcome] += 1
        counts["flaky"] += record.flaky
    return counts


# -- the gate source ----------------------------------------------------------


def expand_glob(rootdir: str | os.PathLike[str], pattern: str) -> list[Path]:
    """Regular files matching ``pattern`` (relative to ``rootdir``; ``**`` recursive), sorted.

    Matches as :func:`glob.glob` with ``recursive=True`` does (wildcards skip
    hidden names unless the pattern part starts with ``.``), but symlinks can
    never make it loop: each real directory is listed once, each is entered
    at most once per part of the pattern, and each real file is returned once
    (under the first name sorted order gives it). Directories that cannot be
    read are skipped; FIFOs, sockets and devices are never returned.
    """
    return [path for _, path in _glob_files(rootdir, pattern)]


_Identity = tuple[int, int]


def _glob_files(rootdir: str | os.PathLike[str], pattern: str) -> list[tuple[_Identity, Path]]:
    parts = Path(pattern).parts
    fixed = 0
    while fixed < len(parts) and not glob.has_magic(parts[fixed]):
        fixed += 1
    # The root directory is literal even when its name holds `*` or `[`.
    base = os.path.join(os.fspath(rootdir), *parts[:fixed])
    rest = parts[fixed:]
    found: dict[_Identity, str] = {}

    def add_file(path: str) -> None:
        try:
            st = os.stat(path)
        except OSError:
            return
        if stat.S_ISREG(st.st_mode):
            key = (st.st_dev, st.st_ino)
            if key not in found or path < found[key]:
                found[key] = path

    if not rest:
        add_file(base)
    listings: dict[_Identity, list[tuple[str, bool]]] = {}
    entered: set[tuple[int, int, int]] = set()
    stack = [(base, 0)]
    while stack:
        directory, k = stack.pop()
        try:
            st = os.stat(directory)
        except OSError:
            continue
        identity = (st.st_dev, st.st_ino)
        if (*identity, k) in entered or not stat.S_ISDIR(st.st_mode):
            continue
        entered.add((*identity, k))
        entries = listings.get(identity)
        if entries is None:
            entries = listings[identity] = _listing(directory)
        part, last = rest[k], k == len(rest) - 1
        if part == "**":
            if not last:
                stack.append((directory, k + 1))
            for name, is_dir in entries:
                if name.startswith("."):
                    continue
                child = os.path.join(directory, name)
                if is_dir:
                    stack.append((child, k))
                elif last:
                    add_file(child)
            continue
        hidden_ok = part.startswith(".")
        for name, is_dir in entries:
            if (name.startswith(".") and not hidden_ok) or not fnmatch.fnmatchcase(name, part):
                continue
            child = os.path.join(directory, name)
            if last:
                add_file(child)
            elif is_dir:
                stack.append((child, k + 1))
    return sorted(((key, Path(p)) for key, p in found.items()), key=lambda item: item[1].as_posix())


def _listing(directory: str) -> list[tuple[str, bool]]:
    """(name, is a directory after following links) of each entry; [] when unreadable."""
    out = []
    try:
        with os.scandir(directory) as it:
            for entry in it:
                try:
                    is_dir = entry.is_dir()
                except OSError:
                    is_dir = False
                out.append((entry.name, is_dir))
    except OSError:
        return []
    return out


def _display(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


@hookimpl
def releasegate_collect(gate: Gate) -> None:
    """Read every ``gate.options.input_junit`` spec into ``gate.results``.

    A source that was asked for always has a bucket in ``gate.results``; its
    problems (a glob matching nothing, a malformed file) go into
    ``gate.results.missing[source]``, which makes the rules covering that
    source error out; malformed files are also listed in
    ``gate.data["junit_errors"]`` for diagnostics.
    """
    collect_inputs(gate, gate.options.input_junit, kind="junit", read=read_junit)


def collect_inputs(
    gate: Gate,
    specs: Iterable[str] | None,
    *,
    kind: str,
    read: Callable[..., MutableMapping[str, TestRecord]],
) -> None:
    """Read ``[NAME=]GLOB`` specs into ``gate.results`` as sources ``KIND:NAME``.

    ``read(path, source=, display=, rootdir=)`` reads one file and raises a
    :class:`ReportError` naming it. Shared by ``--input-junit`` and
    ``--input-tests``.
    """
    specs = list(specs or ())
    if not specs:
        return
    errors: list[str] = gate.data.setdefault(ERRORS_KEY, [])
    patterns: dict[str, list[str]] = {}
    problems: dict[str, list[str]] = {}
    for spec in specs:
        try:
            name, pattern = parse_input_spec(spec)
        except ValueError as exc:
            message = f"--input-{kind}: {exc}"
            errors.append(message)
            problems.setdefault(f"{kind}:{DEFAULT_NAME}", []).append(message)
            continue
        patterns.setdefault(f"{kind}:{name}", []).append(pattern)

    root = gate.rootdir
    results = gate.results
    for source, globs in patterns.items():
        results.bucket(source)
        seen: set[_Identity] = set()
        for pattern in globs:
            files = _glob_files(root, pattern)
            if not files:
                problems.setdefault(source, []).append(f"no files match {pattern!r}")
            for identity, path in files:
                if identity in seen:  # each real file is read once per source
                    continue
                seen.add(identity)
                try:
                    records = read(path, source=source, display=_display(path, root), rootdir=root)
                except ReportError as exc:
                    errors.append(str(exc))
                    problems.setdefault(source, []).append(str(exc))
                    continue
                bucket = results.bucket(source)
                if bucket:
                    gate.add_records(_attempts_merged(bucket, records))
                else:  # the first file of a source: its dict becomes the bucket, no copy
                    results.by_source[source] = records
                del records
    for source, messages in problems.items():
        results.bucket(source)
        results.missing[source] = "; ".join(messages)


def _attempts_merged(
    known: Mapping[str, TestRecord], records: Mapping[str, TestRecord]
) -> Iterator[TestRecord]:
    # The same test in a second file of one source is another attempt at it
    # (a retried CI job); files are read in sorted path order.
    for nodeid, record in records.items():
        previous = known.get(nodeid)
        yield record if previous is None else merge_attempts(previous, record)
