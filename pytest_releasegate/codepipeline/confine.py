"""A job's pytest arguments, confined to its job (SPEC §13).

``PytestArgs`` (the worker's action configuration) and ``pytest_args`` (the
Lambda's ``UserParameters``) come from whoever edits the pipeline, and run
next to the gate's own options. They may choose tests, output and plugins'
behaviour — they may not change the gate, nor read or write outside the
job's directory:

* refused outright: every ``--gate-*`` option and ``--gate`` / ``--no-gate``
  (the job's ``Policy``, ``Profile`` and ``BaseUrl`` say what the gate does),
  ``-p`` (plugins come from the artifact's own configuration),
  ``-o`` / ``--override-ini`` (ini values such as ``cache_dir`` write where
  they like), and ``@FILE`` (arguments read from a file escape this check);
* allowed only with a path inside the job directory: ``-c`` /
  ``--config-file``, ``--rootdir``, ``--confcutdir``, ``--basetemp`` (pytest
  empties it), ``--junitxml``, ``--result-log``, ``--report-log``,
  ``--log-file``, ``--debug=FILE``, ``--cov-report TYPE:PATH``,
  ``--cov-config``, ``--html``, and the test paths themselves.

:func:`confine_pytest_args` is pure: the arguments and the directories in,
the same arguments out or a ``ConfigurationError`` naming the option.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from .results import FailureType, JobFailure

#: Long options that always change the gate or escape the job.
REFUSED_LONG = frozenset({"--override-ini", "--gate", "--no-gate"})
#: Short options (with a value) that are always refused.
REFUSED_SHORT = frozenset({"p", "o"})
#: Long options whose value is a path: allowed when it stays inside the job directory.
PATH_LONG = frozenset(
    {
        "--config-file",
        "--rootdir",
        "--confcutdir",
        "--basetemp",
        "--junitxml",
        "--junit-xml",
        "--result-log",
        "--resultlog",
        "--report-log",
        "--log-file",
        "--cov-config",
        "--html",
        "--json-report-file",
    }
)
#: Short options whose value is a path.
PATH_SHORT = frozenset({"c"})
#: Short options that take a value (the rest of a clump, or the next argument).
VALUE_SHORT = frozenset({"p", "o", "c", "k", "m", "W", "r", "n"})
#: Long options whose value is the next argument (so it is not taken for a test path).
VALUE_LONG = (
    frozenset(
        {
            "--deselect",
            "--ignore",
            "--ignore-glob",
            "--import-mode",
            "--tb",
            "--capture",
            "--durations",
            "--durations-min",
            "--maxfail",
            "--cov",
            "--cov-fail-under",
            "--log-level",
            "--log-format",
            "--log-date-format",
            "--log-cli-level",
            "--log-cli-format",
            "--log-cli-date-format",
            "--log-file-level",
            "--log-file-format",
            "--log-file-date-format",
            "--show-capture",
            "--junit-prefix",
            "--assert",
            "--dist",
            "--numprocesses",
            "--maxprocesses",
            "--reruns",
            "--reruns-delay",
            "--only-rerun",
            "--randomly-seed",
            "--timeout",
            "--color",
            "--code-highlight",
            "--pastebin",
            "--doctest-glob",
            "--cov-report",
            "--override-ini",
        }
    )
    | PATH_LONG
)


def _refuse(option: str, why: str) -> JobFailure:
    return JobFailure(
        FailureType.CONFIGURATION_ERROR, f"PytestArgs: {option} is not allowed here: {why}"
    )


def _inside(value: str, cwd: Path, job_dir: Path) -> bool:
    if not value or "\0" in value:
        return False
    target = Path(os.path.normpath(cwd / Path(value).expanduser()))
    try:
        resolved = target.resolve()
    except (OSError, RuntimeError):
        return False
    root = job_dir.resolve()
    return resolved == root or root in resolved.parents


def _check_path(option: str, value: str, cwd: Path, job_dir: Path) -> None:
    if not _inside(value, cwd, job_dir):
        raise _refuse(
            option,
            f"its path {value!r} is outside the job's directory "
            "(give a path inside the input artifact, or leave the option out)",
        )


def confine_pytest_args(args: Sequence[str], *, cwd: Path, job_dir: Path) -> tuple[str, ...]:
    """``args`` unchanged when none of them reaches outside the job; else JobFailure.

    ``cwd`` is where the gate child runs (the unpacked artifact: relative
    paths start there), ``job_dir`` the directory nothing may leave. The
    failure is a ``ConfigurationError`` naming the first offending option.
    """
    i = 0
    n = len(args)
    while i < n:
        arg = args[i]
        i += 1
        if arg == "--":
            for rest in args[i:]:
                _check_path("the test path", rest.split("::", 1)[0], cwd, job_dir)
            break
        if arg.startswith("@"):
            raise _refuse(arg, "arguments read from a file escape this check; list them instead")
        if arg.startswith("--"):
            name, eq, value = arg.partition("=")
            if name in REFUSED_LONG or name.startswith("--gate-"):
                raise _refuse(
                    name,
                    "it changes the release gate (the job's Policy, Profile and BaseUrl say "
                    "what the gate does)"
                    if "gate" in name
                    else "ini overrides can write outside the job; put them in the "
                    "artifact's own configuration",
                )
            takes_value = name in VALUE_LONG
            if takes_value and not eq and i < n:
                value, i = args[i], i + 1
            if name == "--debug":
                if eq:
                    _check_path(name, value, cwd, job_dir)
                elif i < n and not args[i].startswith("-"):
                    # --debug takes an optional file name: the next word is it.
                    _check_path(name, args[i], cwd, job_dir)
                    i += 1
            elif name in PATH_LONG:
                _check_path(name, value, cwd, job_dir)
            elif name == "--cov-report" and ":" in value:
                _check_path(name, value.split(":", 1)[1], cwd, job_dir)
            continue
        if arg.startswith("-") and len(arg) > 1:
            # A clump of short options: -xq, -k expr, -kexpr, -xp plugin.
            for pos in range(1, len(arg)):
                letter = arg[pos]
                if letter not in VALUE_SHORT:
                    continue
                value = arg[pos + 1 :]
                if not value and i < n:
                    value, i = args[i], i + 1
                if letter in REFUSED_SHORT:
                    raise _refuse(
                        f"-{letter}",
                        "plugins come from the artifact's own configuration"
                        if letter == "p"
                        else "ini overrides can write outside the job; put them in the "
                        "artifact's own configuration",
                    )
                if letter in PATH_SHORT:
                    _check_path(f"-{letter}", value, cwd, job_dir)
                break
            continue
        # A test path or node id.
        _check_path("the test path", arg.split("::", 1)[0], cwd, job_dir)
    return tuple(args)
