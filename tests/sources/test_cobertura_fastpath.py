"""The Cobertura fast path reads exactly what the element-by-element path reads.

`LineRuns` rewrites runs of plain ``<line>`` elements before expat sees them
(see `covreport_cobertura`). These tests read the same bytes both ways
(``read_xml_report(..., fast=False)`` is the plain path) and require the same
data, or the same one-line error, at chunk sizes that cut runs, elements and
markers anywhere: every producer's real report, the hostile cases, and
random mutations of a generated report.
"""

from __future__ import annotations

import io
import random
from pathlib import Path
from typing import Any

import pytest

from pytest_releasegate.sources.covreport_cobertura import MARKER, LineRuns
from pytest_releasegate.sources.covreport_model import ReportError
from pytest_releasegate.sources.covreport_xml import read_xml_report

DATA = Path(__file__).resolve().parents[1] / "data" / "polycov"
CHUNKS = (1, 3, 17, 64, 333, 4096, 65536)


def read(data: bytes, *, fast: bool, chunk: int = 65536) -> Any:
    try:
        report = read_xml_report(io.BytesIO(data), chunk, fast=fast)
    except ReportError as exc:
        return f"error: {exc}"
    return (
        report.format,
        report.sources,
        {
            name: (f.measured, f.covered, f.branch_counts, f.branch_ids, f.counters)
            for name, f in report.files.items()
        },
    )


def same_both_ways(data: bytes, chunks: tuple[int, ...] = CHUNKS) -> Any:
    expected = read(data, fast=False)
    for chunk in chunks:
        assert read(data, fast=True, chunk=chunk) == expected, f"chunk size {chunk}"
        assert read(data, fast=False, chunk=chunk) == expected, f"plain, chunk size {chunk}"
    return expected


def report(body: str, *, head: str = '<?xml version="1.0" ?>\n') -> bytes:
    return (
        f'{head}<coverage line-rate="0.5" version="7">\n<sources><source>/src</source></sources>\n'
        f'<packages><package name="p">\n<classes>\n{body}\n</classes>\n</package></packages>\n'
        "</coverage>\n"
    ).encode()


def lines(numbers: range, hits: int = 1) -> str:
    return "\n".join(f'<line number="{n}" hits="{hits}"/>' for n in numbers)


def klass(name: str, body: str) -> str:
    return f'<class name="{name}" filename="{name}" line-rate="1">\n<methods/>\n<lines>\n{body}\n</lines>\n</class>'


@pytest.mark.parametrize(
    "path",
    sorted(p.relative_to(DATA).as_posix() for p in DATA.rglob("*.xml") if "reports" in p.parts),
)
def test_every_producers_report_reads_the_same(path: str) -> None:
    result = same_both_ways((DATA / path).read_bytes())
    assert not isinstance(result, str), result


def test_plain_and_branch_lines_read_as_the_report_says() -> None:
    body = klass(
        "a.py",
        lines(range(1, 40))
        + '\n<line number="40" hits="0" branch="true" condition-coverage="50% (1/2)" '
        'missing-branches="42"/>\n<line number="41" hits="3" branch="false"/>\n'
        '<line number="42" hits="0" branch="true" condition-coverage="0% (0/0)"/>',
    )
    fmt, _, files = same_both_ways(report(body))
    measured, covered, branches, _, _ = files["a.py"]
    assert fmt == "cobertura"
    assert measured == set(range(1, 43))
    assert covered == set(range(1, 40)) | {41}
    assert branches == {40: (1, 2)}  # a 0/0 line has no branches


def rewritten(data: bytes, chunk: int = 64) -> bytes:
    """What expat would be fed, the format decided as the reader decides it."""
    runs = LineRuns()
    out = []
    for at in range(0, len(data) + 1, chunk):
        piece = data[at : at + chunk]
        for fed in runs.feed(piece, not piece):
            out.append(fed)
            if runs.enabled is None and fed.endswith(b'version="7">'):  # the root's start tag
                runs.decide(True)
        if not piece:
            break
    assert b"".join(out).replace(b" ", b"") != b""
    return b"".join(out)


def test_runs_are_rewritten_only_where_that_is_safe() -> None:
    plain = report(klass("a.py", lines(range(1, 50))))
    assert rewritten(plain).count(f"<{MARKER} ".encode()) >= 5
    assert MARKER.encode() not in rewritten(plain.replace(b"?>", b' encoding="cp1252"?>'))
    with_cdata = plain.replace(b"<methods/>", b"<methods/><![CDATA[x]]>")
    out = rewritten(with_cdata)
    assert MARKER.encode() not in out[out.index(b"<![CDATA[") :]
    utf16 = plain.replace(b"?>", b' encoding="utf-16"?>').decode().encode("utf-16")
    assert MARKER.encode("utf-16-le") not in rewritten(utf16)
    # Before the root element expat gets a piece per ">", and a long comment would be
    # scanned again for each: past 8 KiB of prolog the fast path is not tried.
    long_prolog = plain.replace(b"?>\n", b"?>\n<!--" + b"> " * 5000 + b"-->\n", 1)
    assert MARKER.encode() not in rewritten(long_prolog, chunk=65536)
    assert same_both_ways(long_prolog, (4096, 65536)) == read(plain, fast=False)


HOSTILE = {
    # Markup inside a comment or a processing instruction is not read.
    "comment": klass("a.py", "<!-- " + lines(range(1, 5)) + " -->\n" + lines(range(7, 9))),
    "pi": klass("a.py", "<?note " + lines(range(1, 3)) + " ?>" + lines(range(5, 6))),
    # A CDATA section's text is text: a <source> spelled with markup keeps it.
    "cdata-source": klass("a.py", lines(range(1, 3))).replace(
        "<methods/>", "<methods/><source><![CDATA[" + lines(range(9, 11)) + "]]></source>"
    ),
    "text-around": klass("a.py", "x" + lines(range(1, 3)) + "y"),
    # A forged marker is an unknown element, with or without our attributes.
    "forged-marker": klass(
        "a.py",
        f'<{MARKER} k="00" i="1">{lines(range(1, 3))}</{MARKER}>'
        f'<{MARKER} i="0"/>' + lines(range(5, 7)),
    ),
    # Runs are only read inside a class and outside <methods>.
    "methods": klass("a.py", lines(range(1, 3))).replace(
        "<methods/>",
        "<methods><method name='m'><lines>" + lines(range(50, 60)) + "</lines></method></methods>",
    ),
    "outside-class": "<class name='a' filename='a.py'/>" + lines(range(1, 4)),
    "nested-lines": klass(
        "a.py",
        '<line number="1" hits="1" branch="true" condition-coverage="50% (1/2)">'
        + lines(range(2, 4))
        + "</line>",
    ),
    "gt-in-attribute": klass(
        "a.py",
        '<line number="1" hits="0" branch="true" condition-coverage="50% (1/2)" '
        'missing-branches="a>b"/>' + lines(range(2, 3)),
    ),
    "merge": klass("a.py", lines(range(1, 5), 0)) + klass("a.py", lines(range(3, 7), 2)),
    "branch-merge": klass(
        "a.py",
        '<line number="1" hits="1" branch="true" condition-coverage="50% (1/2)"/>\n'
        '<line number="1" hits="1" branch="true" condition-coverage="0% (0/2)"/>\n'
        '<line number="1" hits="1" branch="true" condition-coverage="100% (2/2)"/>',
    ),
    # Errors inside a run name the element's own line, in the plain path's words.
    "zero": klass(
        "a.py", lines(range(1, 4)) + '\n<line number="0" hits="1"/>\n' + lines(range(5, 7))
    ),
    "too-big": klass("a.py", lines(range(1, 3)) + '\n<line number="50000001" hits="1"/>'),
    "taken-over-total": klass(
        "a.py",
        lines(range(1, 3))
        + '\n<line number="3" hits="1" branch="true" condition-coverage="9% (3/2)"/>',
    ),
    "after-root": "",
    "leading-zeros": klass("a.py", '<line number="007" hits="00"/><line number="8" hits="01"/>'),
    "unicode-digits": klass("a.py", '<line number="\u0661" hits="1"/>' + lines(range(2, 4))),
    "char-ref": klass("a.py", '<line number="&#49;" hits="1"/>' + lines(range(2, 4))),
    "duplicate-attribute": klass(
        "a.py", '<line number="1" hits="1" branch="false" branch="true"/>'
    ),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_runs_read_the_same(name: str) -> None:
    data = report(HOSTILE[name])
    if name == "after-root":
        data += lines(range(1, 3)).encode()
    same_both_ways(data)


def test_what_the_hostile_runs_read() -> None:
    def files(name: str) -> Any:
        result = read(report(HOSTILE[name]), fast=True, chunk=5)
        assert not isinstance(result, str), result
        return result[2]

    assert files("comment")["a.py"][0] == {7, 8}
    assert files("pi")["a.py"][0] == {5}
    _, sources, _ = read(report(HOSTILE["cdata-source"]), fast=True, chunk=7)
    assert sources == ["/src", lines(range(9, 11))]
    assert files("forged-marker")["a.py"][0] == {1, 2, 5, 6}  # read like any element
    assert files("methods")["a.py"][0] == {1, 2}
    assert "a.py" not in files("outside-class") or not files("outside-class")["a.py"][0]
    assert files("merge")["a.py"][:2] == (set(range(1, 7)), set(range(3, 7)))
    assert files("branch-merge")["a.py"][2] == {1: (2, 2)}
    assert files("leading-zeros")["a.py"][:2] == ({7, 8}, {8})


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("zero", "line 12: <line> number 0 is out of range"),
        ("too-big", "line 11: <line> number 50000001 is out of range"),
        ("taken-over-total", "line 11: condition-coverage 3/2 takes more than all"),
    ],
)
def test_an_error_inside_a_run_names_its_line(name: str, message: str) -> None:
    for chunk in (1, 64, 65536):
        result = read(report(HOSTILE[name]), fast=True, chunk=chunk)
        assert isinstance(result, str) and result.startswith(f"error: {message}"), result


def test_a_lone_cr_between_lines_stays_a_line_end() -> None:
    # Cutting the elements out of "\r<line/>\n" must not leave "\r\n" (one line end).
    body = klass(
        "a.py",
        '<line number="1" hits="1"/>\r<line number="2" hits="1"/>\n<line number="3" hits="1"/>',
    )
    data = report(body + '\n<class name="b" filename="b.py"><lines><line number="x" hits="1"/>')
    assert same_both_ways(data) == read(data, fast=False)
    assert read(data, fast=True, chunk=5).startswith("error: line 14: ")


@pytest.mark.parametrize("newline", ["\r\n", "\r"])
def test_other_line_ends_keep_error_lines(newline: str) -> None:
    data = report(HOSTILE["zero"]).replace(b"\n", newline.encode())
    assert same_both_ways(data).startswith("error: line 12: ")


@pytest.mark.parametrize("encoding", ["utf-16", "iso-8859-1", "us-ascii"])
def test_other_encodings_read_the_same(encoding: str) -> None:
    name = "cafe.py" if encoding == "us-ascii" else "caf\u00e9.py"
    text = report(klass(name, lines(range(1, 30))), head="").decode()
    data = f'<?xml version="1.0" encoding="{encoding}"?>\n{text}'.encode(encoding)
    result = same_both_ways(data, (1, 5, 4096))
    assert result[2][name][0] == set(range(1, 30))


def test_random_mutations_read_the_same() -> None:
    """Snippets dropped anywhere (inside tags and attribute values too), read both ways."""
    rng = random.Random(20261129)
    base = report(
        "\n".join(
            klass(
                f"m{i}.py",
                lines(range(1, 20), i % 2) + f'\n<line number="20" hits="{i % 3}" branch="true" '
                f'condition-coverage="50% ({i % 3}/2)"/>\n' + lines(range(21, 30)),
            )
            for i in range(6)
        )
    ).decode()
    snippets = [
        '<line number="5" hits="1"/>',
        '<line number="0" hits="1"/>',
        '<line number="9" hits="1" branch="true" condition-coverage="1% (5/2)"/>',
        "<!--",
        "-->",
        "<![CDATA[",
        "]]>",
        f'<{MARKER} k="0" i="1">',
        f"</{MARKER}>",
        "</lines>",
        "<methods>",
        "</methods>",
        "</class>",
        '"',
        "\n",
        "\r",
        "&amp;",
        "<",
        ">",
    ]
    outcomes: set[str] = set()
    for case in range(400):
        text = base
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(text))
            text = text[:at] + rng.choice(snippets) + text[at:]
        data = text.encode()
        expected = read(data, fast=False)
        chunk = rng.choice(CHUNKS)
        assert read(data, fast=True, chunk=chunk) == expected, (case, chunk, text)
        outcomes.add("error" if isinstance(expected, str) else "data")
    assert outcomes == {"error", "data"}  # both kinds were exercised
