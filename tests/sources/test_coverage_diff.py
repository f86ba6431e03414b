"""Diff coverage against a real git repository built in tmp_path."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from coverage.python import PythonFileReporter

from pytest_releasegate.model import Outcome, Rule, Selection
from pytest_releasegate.sources import coverage as source

from ._coverage_support import GitRepo, make_gate, measure

BASE_FILES = {
    "pyproject.toml": """
        [tool.coverage.run]
        source = ["pkg"]
        branch = true
        """,
    "README.md": "# pkg\n",
    "pkg/__init__.py": "",
    "pkg/calc.py": """
        def add(a, b):
            return a + b
        """,
    "pkg/other.py": """
        def unused():
            return 0
        """,
    "run_checks.py": """
        from pkg.calc import add

        assert add(1, 2) == 3
        """,
}

# Ten executable lines: the `def` and nine statements; a call with 5 leaves
# the three lines of the `n > 100` block unrun.
CLASSIFY = """
    def add(a, b):
        return a + b


    def classify(n):
        if n < 0:
            return "negative"
        label = "positive"
        if n > 100:
            label = "large"
            label += "!"
            print(label)
        label = label.upper()
        return label
    """

CHECKS_CLASSIFY = """
    from pkg.calc import add, classify

    assert add(1, 2) == 3
    assert classify(-1) == "negative"
    assert classify(5) == "POSITIVE"
    """

DIFF_RULES = (
    Rule(name="diff", metric="coverage.diff_percent", base="main", min=90),
    Rule(name="uncovered", metric="coverage.diff_uncovered_lines", base="main", max=0),
)


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    repo = GitRepo(tmp_path / "repo")
    repo.commit(BASE_FILES, "base")
    repo.git("checkout", "-q", "-b", "feature")
    return repo


def test_ten_changed_executable_lines_seven_covered(repo: GitRepo) -> None:
    repo.commit({"pkg/calc.py": CLASSIFY, "run_checks.py": CHECKS_CLASSIFY}, "classify")
    repo.run_coverage()

    verdict = make_gate(repo.root, *DIFF_RULES).run()
    diff, uncovered = verdict.rules

    assert diff.actual == 70.0
    assert diff.outcome is Outcome.FAIL
    assert uncovered.actual == 3
    assert uncovered.outcome is Outcome.FAIL
    assert "7 of 10 changed executable lines covered against main" in diff.message
    assert "uncovered: pkg/calc.py:10-12" in diff.message


def test_readme_only_change_passes_saying_no_coverable_lines(repo: GitRepo) -> None:
    repo.commit({"README.md": "# pkg\n\nMore words.\n"}, "docs")
    repo.run_coverage()

    verdict = make_gate(repo.root, *DIFF_RULES).run()

    assert [r.outcome for r in verdict.rules] == [Outcome.PASS, Outcome.PASS]
    assert [r.actual for r in verdict.rules] == [100.0, 0]
    for result in verdict.rules:
        assert "no coverable changed lines against main" in result.message
        assert "2 changed lines in 1 file," in result.message


def test_base_ref_that_does_not_exist_is_an_error_naming_it(repo: GitRepo) -> None:
    repo.commit({"pkg/calc.py": CLASSIFY}, "classify")
    repo.run_coverage()
    rule = Rule(name="diff", metric="coverage.diff_percent", base="origin/release-7", min=90)

    (result,) = make_gate(repo.root, rule).run().rules

    assert result.outcome is Outcome.ERROR
    assert result.actual is None
    assert "base ref 'origin/release-7' does not exist" in result.message


def test_missing_remote_ref_says_how_to_fetch_it(repo: GitRepo, tmp_path: Path) -> None:
    repo.git("remote", "add", "origin", str(tmp_path / "nowhere"))
    repo.run_coverage()
    m = measure(repo.root, Rule(name="d", metric="coverage.diff_percent"))  # default base
    assert m.missing is not None
    assert "base ref 'origin/main' does not exist" in m.missing
    assert "`git fetch origin main`" in m.missing


def test_uncommitted_changes_count(repo: GitRepo) -> None:
    repo.commit({"run_checks.py": CHECKS_CLASSIFY}, "checks first")
    (repo.root / "pkg" / "calc.py").write_text(CLASSIFY.replace("\n    ", "\n").lstrip("\n"))
    repo.run_coverage()

    m = measure(repo.root, DIFF_RULES[1])

    assert m.value == 3


def test_renamed_file_counts_only_its_changed_lines(repo: GitRepo) -> None:
    big = "".join(f"def f{i}():\n    return {i}\n\n\n" for i in range(20))
    repo.commit({"pkg/big.py": big}, "big module, never run")
    repo.git("checkout", "-q", "-b", "rename")
    repo.git("branch", "-f", "main", "HEAD")  # the big module is on main
    repo.git("mv", "pkg/big.py", "pkg/huge.py")
    (repo.root / "pkg" / "huge.py").write_text(big + "def g():\n    return -1\n")
    repo.commit(message="rename and extend")
    repo.run_coverage()

    m = measure(repo.root, DIFF_RULES[1])

    assert m.value == 2  # g's def and return, not the 40 lines of the renamed file
    assert "pkg/huge.py:81-82" in m.message


def test_files_outside_the_measured_source_are_ignored(repo: GitRepo) -> None:
    repo.commit(
        {
            "tools/release.py": "import sys\nprint(sys.argv)\n",
            "pkg/calc.py": CLASSIFY,
            "run_checks.py": CHECKS_CLASSIFY,
        },
        "a tool, not measured",
    )
    repo.run_coverage()
    m = measure(repo.root, DIFF_RULES[0])
    assert m.value == 70.0


def test_path_selection_narrows_the_diff(repo: GitRepo) -> None:
    repo.commit(
        {"pkg/calc.py": CLASSIFY, "run_checks.py": CHECKS_CLASSIFY, "pkg/other.py": "X = 1\n"}
    )
    repo.run_coverage()
    other = Rule(
        name="o", metric="coverage.diff_percent", base="main", select=Selection(path="pkg/other*")
    )
    calc = Rule(name="c", metric="coverage.diff_uncovered_lines", base="main")
    assert measure(repo.root, other).value == 0.0  # the module is never imported
    assert measure(repo.root, calc).value == 4


def test_diff_only_policy_parses_only_the_changed_files(
    repo: GitRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo.commit({"pkg/calc.py": CLASSIFY, "run_checks.py": CHECKS_CLASSIFY})
    repo.run_coverage()
    parsed: list[str] = []
    real = PythonFileReporter.lines

    def spy(self: PythonFileReporter) -> set[int]:
        parsed.append(self.relative_filename())
        return real(self)

    monkeypatch.setattr(PythonFileReporter, "lines", spy)
    gate = make_gate(repo.root, *DIFF_RULES, coverage=str(repo.root / ".coverage"))
    verdict = gate.run()

    assert parsed == ["pkg/calc.py"]  # not pkg/__init__.py, not pkg/other.py
    assert "coverage.percent" not in verdict.metrics
    assert verdict.metrics["coverage.diff_uncovered_lines"] == 3
    assert verdict.metrics["coverage.diff_percent"] == 70.0


def test_report_omit_leaves_a_changed_file_out_of_the_diff(repo: GitRepo) -> None:
    repo.commit({"pkg/calc.py": CLASSIFY, "run_checks.py": CHECKS_CLASSIFY})
    repo.run_coverage()
    config = repo.root / "pyproject.toml"
    config.write_text(config.read_text() + '[tool.coverage.report]\nomit = ["pkg/calc.py"]\n')
    m = measure(repo.root, DIFF_RULES[0])
    assert m.value == 100.0
    assert m.message.startswith("no coverable changed lines")


def test_diff_reuses_the_whole_analysis_when_there_is_one(repo: GitRepo) -> None:
    repo.commit({"pkg/calc.py": CLASSIFY, "run_checks.py": CHECKS_CLASSIFY})
    repo.run_coverage()
    rules = (Rule(name="lines", metric="coverage.line_percent"), *DIFF_RULES)
    verdict = make_gate(repo.root, *rules).run()
    assert [r.actual for r in verdict.rules][1:] == [70.0, 3]


def test_shallow_clone_is_an_error_saying_how_to_fetch(repo: GitRepo, tmp_path: Path) -> None:
    for i in range(3):
        repo.git("checkout", "-q", "main")
        repo.commit({"README.md": f"# pkg {i}\n"}, f"main {i}")
    repo.git("checkout", "-q", "feature")
    repo.commit({"pkg/calc.py": CLASSIFY, "run_checks.py": CHECKS_CLASSIFY}, "feature work")
    clone = tmp_path / "clone"
    subprocess.run(
        [
            "git",
            "clone",
            "-q",
            "--depth=1",
            "--no-single-branch",
            "--branch=feature",
            f"file://{repo.root}",
            str(clone),
        ],
        check=True,
    )
    GitRepo(clone, init=False).run_coverage()

    m = measure(clone, Rule(name="d", metric="coverage.diff_percent", base="origin/main"))

    assert m.value is None
    assert m.missing is not None
    assert "this clone is shallow" in m.missing
    assert "git fetch --unshallow" in m.missing


def test_not_a_git_work_tree_is_an_error(tmp_path: Path) -> None:
    (tmp_path / ".coverage").write_bytes(b"")
    (tmp_path / ".git").write_text("gitdir: /nonexistent\n")  # stop git looking further up
    m = measure(tmp_path, Rule(name="d", metric="coverage.diff_percent", base="main"))
    assert m.missing is not None
    assert "needs a git work tree" in m.missing


def test_parse_unified_diff_added_lines_renames_deletions_and_quoted_names() -> None:
    patch = b"\n".join(
        [
            b"diff --git a/pkg/a.py b/pkg/a.py",
            b"--- a/pkg/a.py",
            b"+++ b/pkg/a.py",
            b"@@ -3,0 +4,2 @@ def f():",
            b"+    x = 1",
            b"+    y = 2",
            b"@@ -10 +12 @@",
            b"-old",
            b"+new",
            b"@@ -20,3 +21,0 @@",
            b"-gone",
            b"diff --git a/old.py b/new.py",
            b"similarity index 90%",
            b"rename from old.py",
            b"rename to new.py",
            b"--- a/old.py",
            b"+++ b/new.py",
            b"@@ -1 +1 @@",
            b"-a",
            b"+b",
            b"diff --git a/dead.py b/dead.py",
            b"--- a/dead.py",
            b"+++ /dev/null",
            b"@@ -1,2 +0,0 @@",
            b'+++ "b/we\\"ird \\303\\251.py"',
            b"@@ -0,0 +1,3 @@",
            b"diff --git a/same.py b/renamed.py",
            b"--- a/only-deleted.py",
            b"+++ b/only-deleted.py",
            b"@@ -5,2 +4,0 @@",
        ]
    )
    assert source.parse_unified_diff(patch) == {
        "pkg/a.py": {4, 5, 12},
        "new.py": {1},
        'we"ird é.py': {1, 2, 3},
    }


def test_file_names_with_spaces_and_unicode(repo: GitRepo) -> None:
    repo.commit({"pkg/my módulo.py": "def f():\n    return 1\n"}, "odd name")
    repo.run_coverage()
    assert measure(repo.root, DIFF_RULES[1]).value == 2


def test_a_path_selection_matching_no_measured_file_is_an_error(repo: GitRepo) -> None:
    repo.commit({"pkg/calc.py": CLASSIFY, "run_checks.py": CHECKS_CLASSIFY})
    repo.run_coverage()
    typo = Rule(
        name="t", metric="coverage.diff_percent", base="main", select=Selection(path="pkg/calcc*")
    )
    unchanged = Rule(
        name="u", metric="coverage.diff_percent", base="main", select=Selection(path="pkg/other*")
    )
    m = measure(repo.root, typo)
    assert m.value is None and m.missing is not None
    assert "path='pkg/calcc*' matches no measured source file" in m.missing
    # A measured file with no changed line still passes, and says so.
    assert measure(repo.root, unchanged).value == 100.0


def test_a_last_line_that_only_gains_a_newline_is_not_changed(repo: GitRepo) -> None:
    """As diff-cover: content that did not change is not a changed line (docs/coverage.md)."""
    (repo.root / "pkg/other.py").write_bytes(b"def unused():\n    return 0")  # no newline at EOF
    (repo.root / "pkg/gone.py").write_bytes(b"def gone():\n    return 0\n")
    repo.commit(message="files without a final newline")
    repo.git("branch", "-f", "main")
    (repo.root / "pkg/other.py").write_bytes(b"def unused():\n    return 0\n")  # gains one
    (repo.root / "pkg/gone.py").write_bytes(b"def gone():\n    return 0")  # loses it
    repo.commit({"pkg/calc.py": CLASSIFY, "run_checks.py": CHECKS_CLASSIFY}, "classify")
    repo.run_coverage()

    verdict = make_gate(repo.root, *DIFF_RULES).run()
    diff, uncovered = verdict.rules
    # The ten lines of test_ten_changed_executable_lines_seven_covered, nothing from
    # other.py or gone.py (whose `return 0` lines are uncovered).
    assert (diff.actual, uncovered.actual) == (70.0, 3)
    assert "other.py" not in diff.message and "gone.py" not in diff.message


def test_lines_appended_after_a_last_line_without_newline_count(repo: GitRepo) -> None:
    (repo.root / "pkg/other.py").write_bytes(b"def unused():\n    return 0")
    repo.commit(message="no newline at EOF")
    repo.git("branch", "-f", "main")
    (repo.root / "pkg/other.py").write_bytes(
        b"def unused():\n    return 0\n\n\ndef more():\n    return 1\n"
    )
    repo.commit(message="append")
    repo.run_coverage()

    verdict = make_gate(repo.root, *DIFF_RULES).run()
    diff, uncovered = verdict.rules
    # `def more` and `return 1` (other.py is never imported); not the unchanged `return 0`
    assert uncovered.actual == 2
    assert "uncovered: pkg/other.py:5-6" in diff.message


def test_parse_unified_diff_ignores_newline_only_changes() -> None:
    patch = (
        b"--- a/x.py\n+++ b/x.py\n"
        b"@@ -2 +2 @@\n-    return 0\n\\ No newline at end of file\n+    return 0\n"
        b"--- a/y.py\n+++ b/y.py\n"
        b"@@ -7,2 +7,2 @@\n-a = 1\n-b = 2\n+a = 3\n+b = 2\n\\ No newline at end of file\n"
        b"--- a/z.py\n+++ b/z.py\n"
        b"@@ -2 +2,3 @@\n-    return 0\n\\ No newline at end of file\n+    return 0\n+x = 1\n+y = 2\n"
        b"--- a/q.sql\n+++ b/q.sql\n"  # a removed line that starts with "--"
        b"@@ -1,0 +1 @@\n+select 1;\n"
        b"@@ -4 +5 @@\n--- the end\n\\ No newline at end of file\n+-- the end\n"
    )
    assert source.parse_unified_diff(patch) == {"y.py": {7}, "z.py": {3, 4}, "q.sql": {1}}
