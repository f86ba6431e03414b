"""Verdict integrity: a verdict file is published only if its verdict follows from its rules.

`releasegate publish` (and the job worker) put a verdict computed elsewhere
on a CodePipeline job. Before anything is published, the verdict is
recomputed from the file's own rules with :func:`evaluate.verdict_of` — the
same rule that made it — and a file whose ``verdict`` disagrees, or that has
no rules at all, is refused with one line (SPEC §13).

Each rule's outcome is checked the same way: a rule that claims better than
its own ``actual``, bounds and baseline make it (``pass`` with an actual
above its ``max``) is refused too (:func:`evaluate.rejudge`).

What this catches: a hand-edited ``"verdict": "pass"`` beside a failing
rule, a failing rule's outcome changed to ``pass`` with the verdict, a
verdict with its rules deleted, a truncated or corrupted file. What it
cannot catch: a file whose measured values were edited too. The file is as
trustworthy as whoever could write it; the worker keeps it out of the tested
code's reach.
"""

from __future__ import annotations

import json
import os
from typing import Any

from .bounds import MAX_DEPTH, clip_name, read_regular_text, too_deep
from .evaluate import contribution, rejudge, verdict_of
from .model import Outcome, Verdict

__all__ = ["IntegrityError", "read_verdict_file", "verified_verdict"]

#: A recorded outcome, and the outcomes its own numbers may make it.
_BETTER = {
    Outcome.PASS: (Outcome.PASS,),
    Outcome.WARN: (Outcome.PASS, Outcome.WARN),
}


class IntegrityError(ValueError):
    """A verdict that must not be published. ``str()`` is one line saying why."""


def verified_verdict(data: Any) -> Verdict:
    """The verdict in ``data`` (parsed verdict JSON), if its verdict follows from its rules.

    Raises :class:`IntegrityError` for a verdict that has no rules or whose
    ``verdict`` is not what its rules make it, and ValueError for data that
    is not a verdict at all.
    """
    if too_deep(data):
        raise ValueError(f"nested more than {MAX_DEPTH} levels deep")
    verdict = Verdict.from_json(data)
    if not verdict.rules:
        raise IntegrityError(
            f"its verdict is {verdict.verdict.value!r} but it has no rules: "
            "a verdict without rules is never published"
        )
    for r in verdict.rules:
        if r.outcome not in _BETTER:
            continue  # waived, skipped, or already failing: nothing better is claimed
        judged = rejudge(r)
        if judged is not None and judged not in _BETTER[r.outcome]:
            raise IntegrityError(
                f"rule {clip_name(r.name)[:200]!r} says {r.outcome.value} but its actual "
                f"{r.display_actual()} and threshold make it {judged.value}: the file was "
                "edited or damaged; nothing is published"
            )
    recomputed = verdict_of(verdict.rules)
    if recomputed is not verdict.verdict:
        deciding = [r for r in verdict.rules if contribution(r) is recomputed]
        why = (
            f"; rule {clip_name(deciding[0].name)[:200]!r} is {deciding[0].outcome.value}"
            if deciding and recomputed is not Outcome.PASS
            else ""
        )
        raise IntegrityError(
            f"its verdict {verdict.verdict.value!r} disagrees with its rules, which make it "
            f"{recomputed.value!r}{why}: the file was edited or damaged; nothing is published"
        )
    return verdict


def read_verdict_file(path: str | os.PathLike[str]) -> Verdict:
    """Read, parse and verify a verdict JSON file.

    Raises OSError (FileNotFoundError, or NotRegularFile for a directory or
    FIFO, refused without waiting), ValueError for a file that is not a
    verdict, and :class:`IntegrityError` for one that must not be published.
    """
    text = read_regular_text(path)
    try:
        data = json.loads(text)
    except RecursionError:
        raise ValueError(f"nested more than {MAX_DEPTH} levels deep") from None
    return verified_verdict(data)
