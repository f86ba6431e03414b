"""RecordTable: a compact, column-wise store that behaves as a dict of TestRecords."""

from __future__ import annotations

import itertools
import random

import pytest

from pytest_releasegate.model import TEST_OUTCOMES, Selection, TestRecord
from pytest_releasegate.records import RecordTable
from pytest_releasegate.select import record_matches
from pytest_releasegate.sources.junit import merge_attempts


def _table() -> RecordTable:
    table = RecordTable("tests:x")
    table.add("pkg.A", "t1", "passed", 0.5, False, "pkg.A", "pkg/a.py", ("slow",))
    table.add("pkg.A", "t2", "failed", 1.0, False, "pkg.A", "pkg/a.py")
    table.add(None, "bare", "error", 0.0)
    table.add("f.feature", "s::odd", "skipped", 0.25, False, "Feature", "f.feature")
    return table


def test_reads_like_a_dict_of_records() -> None:
    table = _table()
    assert list(table) == ["pkg.A::t1", "pkg.A::t2", "bare", "f.feature::s::odd"]
    assert len(table) == 4
    record = table["pkg.A::t1"]
    assert (record.outcome, record.duration, record.markers, record.path, record.classname) == (
        "passed",
        0.5,
        ("slow",),
        "pkg/a.py",
        "pkg.A",
    )
    assert record.source == "tests:x"
    assert table["f.feature::s::odd"].outcome == "skipped"
    assert "bare" in table and "nope" not in table and "pkg.A::nope" not in table
    with pytest.raises(KeyError):
        table["pkg.B::t1"]
    values = table.values()
    assert [r.nodeid for r in values] == list(table) == [r.nodeid for r in values]
    assert len(values) == 4
    assert dict(table.items()).keys() == set(table)


def test_a_repeat_merges_like_merge_attempts() -> None:
    for first, second in itertools.product(TEST_OUTCOMES, repeat=2):
        table = RecordTable("s")
        table.add("c", "t", first, 1.0)
        table.add("c", "t", second, 2.0)
        expected = merge_attempts(TestRecord("c::t", first, 1.0), TestRecord("c::t", second, 2.0))
        got = table["c::t"]
        assert (got.outcome, got.flaky, got.duration) == (
            expected.outcome,
            expected.flaky,
            expected.duration,
        ), (first, second)
        assert len(table) == 1


def test_storing_a_record_back_updates_it() -> None:
    table = _table()
    record = table["pkg.A::t2"]
    record.outcome = "passed"
    record.flaky = True
    assert table["pkg.A::t2"].outcome == "failed"  # a copy until stored back
    table[record.nodeid] = record
    assert table["pkg.A::t2"].outcome == "passed" and table["pkg.A::t2"].flaky
    table["new::one"] = TestRecord("new::one", "xfailed", 3.0, ("m",), False, "tests:x")
    assert table["new::one"].markers == ("m",) and len(table) == 5
    with pytest.raises(TypeError):
        del table["bare"]


def _slow(table: RecordTable, sel: Selection) -> tuple[dict[str, int], int, float, float]:
    counts: dict[str, int] = {}
    flaky = 0
    total = biggest = 0.0
    for record in table.values():
        if record_matches(record, sel):
            counts[record.outcome] = counts.get(record.outcome, 0) + 1
            flaky += record.flaky
            total += record.duration
            biggest = max(biggest, record.duration)
    return counts, flaky, total, biggest


def test_tally_counts_as_record_matches_does() -> None:
    rnd = random.Random(7)
    table = RecordTable("tests:x")
    for i in range(2000):
        cls = f"pkg.sub{i % 7}.C{i % 13}"
        path = None if i % 11 == 0 else f"pkg/sub{i % 7}/c{i % 13}.py"
        markers = ("slow",) if i % 5 == 0 else ()
        table.add(
            cls,
            f"t{rnd.randrange(1500)}",
            rnd.choice(TEST_OUTCOMES),
            rnd.random(),
            False,
            cls,
            path,
            markers,
        )
    selections = [
        Selection(),
        Selection(source="tests:x"),
        Selection(source="tests:y"),
        Selection(classname="pkg.sub1.*"),
        Selection(marker="slow"),
        Selection(path="pkg/sub2/**"),
        Selection(path="pkg.sub3.C1"),  # no path: falls back to the nodeid's first part
        Selection(nodeid="pkg.sub4.*::t1*"),
        Selection(name="t2*", classname="pkg.sub5.*", marker="slow"),
    ]
    for sel in selections:
        counts: dict[str, int] = {}
        examples: dict[str, list[str]] = {"failed": [], "error": []}
        flaky, total, biggest = table.tally(sel, counts, examples)
        want = _slow(table, sel)
        assert (counts, flaky) == (want[0], want[1]), sel
        assert total == pytest.approx(want[2]) and biggest == want[3], sel
        for outcome in ("failed", "error"):
            assert len(examples[outcome]) == min(3, counts.get(outcome, 0))
            assert all(table[n].outcome == outcome for n in examples[outcome])


def test_a_failure_message_is_kept_for_failed_and_erroring_tests_only() -> None:
    table = RecordTable("s")
    table.add("c", "f", "failed", message="AssertionError: 1 != 2\n  at line 3")
    table.add("c", "p", "passed", message="ignored")
    table.add("c", "r", "error", message="boom")
    table.add("c", "r", "passed")  # a rerun passed: no message left
    assert table["c::f"].message == "AssertionError: 1 != 2"
    assert table["c::p"].message is None
    assert table["c::r"].message is None and table["c::r"].flaky
    assert [r.message for r in table.values()] == ["AssertionError: 1 != 2", None, None]
    record = table["c::p"]
    record.outcome, record.message = "error", "late"
    table["c::p"] = record
    assert table["c::p"].message == "late"


def test_failing_and_flaky_lists_exactly_those_rows_in_order() -> None:
    rnd = random.Random(3)
    table = RecordTable("s")
    for i in range(3000):
        table.add(f"c{i % 9}", f"t{rnd.randrange(2500)}", rnd.choice(TEST_OUTCOMES), 0.0)
    want = [r.nodeid for r in table.values() if r.outcome in ("failed", "error") or r.flaky]
    assert [r.nodeid for r in table.failing_and_flaky()] == want
