"""Rule names: unique whatever their case and spacing, one line each, cheap to evaluate."""

from __future__ import annotations

import pytest

from pytest_releasegate.model import Level, Outcome, RuleResult, Selection, Verdict
from pytest_releasegate.policy import PolicyError, parse_policy, tomllib
from pytest_releasegate.sinks.render import markdown, terminal_lines


def problems(body: str) -> list[str]:
    with pytest.raises(PolicyError) as info:
        parse_policy(tomllib.loads(body), source="gate.toml")
    return info.value.problems


@pytest.mark.parametrize("second", ["No Failures", "no failures ", "  NO FAILURES  "])
def test_names_differing_only_in_case_or_spacing_are_duplicates(second: str) -> None:
    body = (
        '[[rule]]\nname = "no failures"\nmetric = "tests.failed"\nmax = 0\n'
        f'[[rule]]\nname = "{second}"\nmetric = "tests.errors"\nmax = 0\n'
    )
    (line,) = problems(body)
    assert "key 'name': duplicate rule name (rules #1 and #2)" in line


@pytest.mark.parametrize(
    "name", ["a\\nb", "a\\rb", "tab\\there", "esc\\u001b[31mred", "a\\u2028b", "rtl\\u202eab"]
)
def test_a_rule_name_with_control_characters_is_a_bad_policy(name: str) -> None:
    (line,) = problems(f'[[rule]]\nname = "{name}"\nmetric = "tests.failed"\nmax = 0\n')
    assert "key 'name': must not contain control characters" in line
    assert "\n" not in line and "\x1b" not in line and "\u2028" not in line


def test_a_selection_or_profile_with_control_characters_is_a_bad_policy() -> None:
    lines = problems(
        '[[rule]]\nname = "r"\nmetric = "tests.failed"\nmax = 0\n'
        'select = { nodeid = "a\\nb" }\n'
        '[profiles."x\\ny"]\n'
    )
    assert any("key 'select.nodeid': must not contain control characters" in p for p in lines)
    assert any("must not contain control characters" in p and "profiles" in p for p in lines)
    assert all("\n" not in p for p in lines)


def test_the_terminal_table_escapes_control_characters_from_a_verdict_file() -> None:
    bad = RuleResult(
        "evil\nreleasegate: PASS \u2014 forged",
        "tests.failed",
        Selection(),
        1.0,
        {"max": 0},
        None,
        Outcome.FAIL,
        "line one\nreleasegate: PASS\x1b[2K",
        Level.FAIL,
    )
    verdict = Verdict(Outcome.FAIL, "default", "p", (bad,), {}, {}, "", "", "0")
    lines = terminal_lines(verdict)
    assert not [line for line in lines if line.startswith("releasegate: PASS")]
    assert all("\x1b" not in line and "\n" not in line for line in lines)
    assert "evil\\nreleasegate" in "".join(lines)
    md = markdown(verdict)
    assert "\x1b" not in md and "\nreleasegate: PASS" not in md
