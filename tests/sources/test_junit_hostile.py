"""Hostile and broken JUnit files: one clear error naming the file, nothing expanded or read."""

from __future__ import annotations

import os
import tracemalloc
from pathlib import Path

import pytest

from pytest_releasegate.sources.junit import JUnitError, read_junit

SECRET = "TOPSECRET-7f3a9c-do-not-leak"

BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + "".join(
        f' <!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n'
        for i in range(1, 10)
    )
    + ']>\n<testsuite><testcase classname="&lol9;" name="t"/></testsuite>\n'
)


def hostile_files(tmp_path: Path) -> dict[str, bytes]:
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    dtd = tmp_path / "evil.dtd"
    dtd.write_text(f'<!ENTITY % leak SYSTEM "file://{secret}">\n<!ENTITY stolen "%leak;">\n')
    return {
        "truncated.xml": b'<?xml version="1.0"?><testsuite><testcase name="a"/><testca',
        "not-xml.xml": b"PASS 12 tests, FAIL 0\n",
        "binary.xml": bytes(range(256)) * 4,
        "empty.xml": b"",
        "whitespace.xml": b"   \n\n",
        "wrong-root.xml": b"<html><body><testcase name='x'/></body></html>",
        "testcase-root.xml": b"<testcase name='x'/>",
        "billion-laughs.xml": BILLION_LAUGHS.encode(),
        "xxe.xml": (
            f'<?xml version="1.0"?><!DOCTYPE t [<!ENTITY xxe SYSTEM "file://{secret}">]>'
            '<testsuite><testcase classname="&xxe;" name="t"><failure message="&xxe;"/>'
            "</testcase></testsuite>"
        ).encode(),
        "external-dtd.xml": (
            f'<?xml version="1.0"?><!DOCTYPE testsuite SYSTEM "file://{dtd}">'
            '<testsuite><testcase name="&stolen;"/></testsuite>'
        ).encode(),
        "parameter-entity.xml": (
            f'<?xml version="1.0"?><!DOCTYPE t [<!ENTITY % p SYSTEM "file://{dtd}"> %p;]>'
            '<testsuite><testcase name="&stolen;"/></testsuite>'
        ).encode(),
        "undefined-entity.xml": b'<testsuite><testcase name="&secret;"/></testsuite>',
        "nameless-testcase.xml": b'<testsuite><testcase classname="c"/></testsuite>',
        "nested-testcase.xml": (
            b'<testsuite><testcase name="a"><testcase name="b"/></testcase></testsuite>'
        ),
        "deep.xml": b"<testsuite>" + b"<a>" * 100_000 + b"</a>" * 100_000 + b"</testsuite>",
        "deep-in-testcase.xml": (
            b"<testsuite><testcase name='t'>"
            + b"<a>" * 100_000
            + b"</a>" * 100_000
            + b"</testcase></testsuite>"
        ),
        "bad-utf8.xml": b'<?xml version="1.0" encoding="utf-8"?><testsuite name="\xff\xfe"/>',
        "utf16-lie.xml": b'<?xml version="1.0" encoding="UTF-16"?><testsuite/>',
    }


EXPECTED = {
    "truncated.xml": "not well-formed XML: unclosed token at line 1",
    "not-xml.xml": "not well-formed XML: syntax error at line 1, column 0",
    "binary.xml": "not well-formed XML",
    "empty.xml": "empty file",
    "whitespace.xml": "not well-formed XML: no element found",
    "wrong-root.xml": "root element is <html>, expected <testsuites> or <testsuite>",
    "testcase-root.xml": "root element is <testcase>",
    "billion-laughs.xml": "a DOCTYPE is not allowed",
    "xxe.xml": "a DOCTYPE is not allowed",
    "external-dtd.xml": "a DOCTYPE is not allowed",
    "parameter-entity.xml": "a DOCTYPE is not allowed",
    "undefined-entity.xml": "not well-formed XML: undefined entity at line 1",
    "nameless-testcase.xml": "<testcase> without a name attribute at line 1",
    "nested-testcase.xml": "<testcase> inside <testcase>",
    "deep.xml": "elements nested more than 256 deep",
    "deep-in-testcase.xml": "elements nested more than 256 deep",
    "bad-utf8.xml": "not well-formed XML",
    "utf16-lie.xml": "not well-formed XML",
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_hostile_file_is_one_line_error_naming_the_file(tmp_path: Path, name: str) -> None:
    path = tmp_path / "reports" / name
    path.parent.mkdir()
    path.write_bytes(hostile_files(tmp_path)[name])
    with pytest.raises(JUnitError) as info:
        read_junit(path, display=f"reports/{name}")
    message = str(info.value)
    assert message.startswith(f"reports/{name}: ")
    assert EXPECTED[name] in message
    assert "\n" not in message
    assert SECRET not in message
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_no_entity_is_expanded_and_memory_stays_small(tmp_path: Path) -> None:
    path = tmp_path / "bomb.xml"
    path.write_text(BILLION_LAUGHS)
    tracemalloc.start()
    try:
        with pytest.raises(JUnitError):
            read_junit(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * 1024 * 1024


def test_deep_nesting_is_refused_before_it_costs_memory(tmp_path: Path) -> None:
    path = tmp_path / "deep.xml"
    path.write_bytes(b"<testsuite>" + b"<x>" * 2_000_000)
    tracemalloc.start()
    try:
        with pytest.raises(JUnitError, match="nested more than"):
            read_junit(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * 1024 * 1024


def test_xxe_target_is_never_opened(tmp_path: Path) -> None:
    # A FIFO as the entity target: opening it would block this test forever.
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    path = tmp_path / "xxe.xml"
    path.write_text(
        f'<!DOCTYPE t [<!ENTITY x SYSTEM "file://{fifo}">]><testsuite><testcase name="&x;"/></testsuite>'
    )
    with pytest.raises(JUnitError, match="DOCTYPE"):
        read_junit(path)


def test_a_large_well_formed_file_keeps_no_text(tmp_path: Path) -> None:
    # 2,000 testcases with 10 KiB of output each: memory follows the testcases, not the bytes.
    out = "x" * 10_240
    body = "".join(
        f'<testcase classname="c" name="t{i}"><system-out>{out}</system-out>'
        f"<failure>{out}</failure></testcase>"
        for i in range(2000)
    )
    path = tmp_path / "big.xml"
    path.write_text(f"<testsuite>{body}</testsuite>")
    tracemalloc.start()
    try:
        records = read_junit(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(records) == 2000
    assert path.stat().st_size > 40_000_000
    assert peak < 4 * 1024 * 1024
