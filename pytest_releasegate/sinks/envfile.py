"""The env-file sink: ``--export-env PATH`` / ``--gate-export-env PATH`` (SPEC §10).

For a CodePipeline V2 *Commands* action, which exports the environment
variables its ``outputVariables`` lists: one ``RELEASEGATE_NAME='value'`` line
per CodePipeline output variable (the same names, upper-cased, every
character outside ``[A-Za-z0-9_]`` replaced by ``_``), written for every
verdict. Values are single-quoted with ``'`` written as ``'\\''``, so sourcing
the file from POSIX sh assigns them literally: nothing in a value (``$``,
backticks, quotes, newlines) is ever expanded or executed. Source it with
``set -a; . ./releasegate.env; set +a`` to export the variables.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from .. import hookimpl

if TYPE_CHECKING:
    from ..engine import Gate
    from ..model import Verdict

PREFIX = "RELEASEGATE_"
_NOT_NAME = re.compile(r"[^A-Za-z0-9_]")


def sh_quote(value: str) -> str:
    """``value`` as one single-quoted POSIX sh word (NUL, which sh cannot hold, dropped)."""
    return "'" + value.replace("\x00", "").replace("'", "'\\''") + "'"


def env_name(key: str) -> str:
    """An output-variable key as an environment variable name."""
    return PREFIX + _NOT_NAME.sub("_", key).upper()


def env_text(verdict: Verdict) -> str:
    """The file's text: the CodePipeline output variables, one assignment per line."""
    from ..codepipeline.results import output_variables

    lines = ["# releasegate verdict; source with: set -a; . ./THIS_FILE; set +a"]
    seen: set[str] = set()
    for key, value in output_variables(verdict).items():
        name = env_name(key)
        if name in seen:  # two keys that differ only in case or punctuation: the first wins
            continue
        seen.add(name)
        lines.append(f"{name}={sh_quote(value)}")
    return "\n".join(lines) + "\n"


@hookimpl
def releasegate_publish(gate: Gate, verdict: Verdict) -> None:
    target = gate.options.export_env
    if not target:
        return
    path = Path(target)
    if not path.is_absolute():
        path = Path.cwd() / path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(env_text(verdict), encoding="utf-8")
