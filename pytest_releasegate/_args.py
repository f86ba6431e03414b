"""Gate options given as two arguments (`--gate-policy ../p.toml`) vs pytest's rootdir.

pytest chooses its rootdir and config file before it loads plugins, from the
arguments that are not options it knows yet; the value of `--gate-policy
../p.toml` is one of them, so an existing path outside the directory pytest
starts from moves the rootdir (and loses the project's config). No plugin can
run before that choice, so the gate stops such a run with the `=` form
(`--gate-policy=../p.toml`), which pytest never mistakes for a test path.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterable, Sequence
from pathlib import Path

import pytest

from .options import SPECS, flag


def separated_values(args: Sequence[str], flags: Iterable[str]) -> list[tuple[str, str]]:
    """(flag, value) for each of `flags` followed by its value as the next argument."""
    wanted = set(flags)
    out = []
    for i, arg in enumerate(args[:-1]):
        if arg == "--":
            break
        if arg in wanted:
            out.append((arg, args[i + 1]))
    return out


def _dir_of(path: Path) -> Path:
    return path if path.is_dir() else path.parent


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:  # a name too long, ...
        return False


def rootdir_problems(config: pytest.Config) -> list[str]:
    """One line per separated gate option whose value may have moved pytest's rootdir."""
    flags = [flag(spec, "gate-") for spec in SPECS if spec.kind != "flag"]
    args = [*shlex.split(os.environ.get("PYTEST_ADDOPTS", "")), *config.invocation_params.args]
    separated = separated_values(args, flags)
    if not separated:
        return []
    invocation = Path(os.path.abspath(config.invocation_params.dir))
    # Where pytest would have started its search without our values: the test
    # paths given on the command line, else the invocation directory.
    dirs = []
    if config.args_source == pytest.Config.ArgsSource.ARGS:
        for arg in config.args:
            path = Path(os.path.abspath(invocation / arg.split("::", 1)[0]))
            if _exists(path):
                dirs.append(str(_dir_of(path)))
    anchor = Path(os.path.commonpath(dirs)) if dirs else invocation
    problems = []
    for name, value in separated:
        path = Path(os.path.abspath(invocation / value.split("::", 1)[0]))
        if not _exists(path) or _dir_of(path).is_relative_to(anchor):
            continue
        inifile = config.inipath or "none"
        problems.append(
            f"write {name}={value} (with '='): pytest took {value!r} for a test path "
            f"when it chose its rootdir ({config.rootpath}) and config file ({inifile})"
        )
    return problems
