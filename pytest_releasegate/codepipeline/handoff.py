"""Continuation tokens: a bake's state carried from one job to the next.

A job whose bake still has rounds left ends in a success with a
``continuationToken``; CodePipeline then creates a continuation job carrying
it. The token is ``rg1.`` + base64url(zlib(JSON)), at most 2,048 characters,
holding:

``bake``           the bake state the gate child handed over (opaque here but
                   for ``rounds``, ``planned`` and ``failures``)
``continuations``  how many continuation results came before
``x``              the external execution id of the chain's first job (the
                   same id on every result of one action execution)
``idle``           passes in a row that ran no bake round
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from collections.abc import Mapping
from typing import Any

from .results import CONTINUATION_TOKEN_MAX, FailureType, JobFailure

TOKEN_PREFIX = "rg1."


def encode_token(state: Mapping[str, Any]) -> str:
    """State as a continuation token (≤ 2,048 chars): compressed JSON, base64url."""
    raw = json.dumps(state, separators=(",", ":"), sort_keys=True).encode()
    token = TOKEN_PREFIX + base64.urlsafe_b64encode(zlib.compress(raw, 9)).decode().rstrip("=")
    if len(token) > CONTINUATION_TOKEN_MAX:
        raise JobFailure(
            FailureType.SYSTEM_UNAVAILABLE,
            f"the bake state takes {len(token)} characters as a continuation token, over "
            f"the service's {CONTINUATION_TOKEN_MAX}: fewer smoke checks, or a bake that "
            "fits in one pass",
        )
    return token


def decode_token(token: str) -> dict[str, Any]:
    """The state of a token made by :func:`encode_token`; JobFailure when it is not one."""
    if not token.startswith(TOKEN_PREFIX):
        raise JobFailure(
            FailureType.SYSTEM_UNAVAILABLE,
            "the job's continuation token was not made by releasegate",
        )
    body = token[len(TOKEN_PREFIX) :]
    try:
        raw = zlib.decompress(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        state = json.loads(raw)
    except (binascii.Error, zlib.error, ValueError) as exc:
        raise JobFailure(
            FailureType.SYSTEM_UNAVAILABLE, f"the job's continuation token is damaged: {exc}"
        ) from None
    if not isinstance(state, dict):
        raise JobFailure(FailureType.SYSTEM_UNAVAILABLE, "the continuation token holds no state")
    return state


def fit_token(payload: dict[str, Any], key: str = "bake") -> str:
    """``payload`` as a continuation token; when too long, the bake state's kept failure
    messages are dropped one by one (counted in ``failures_dropped``, so the counts
    stay exact) until it fits. JobFailure when nothing helps."""
    state = payload.get(key)
    while True:
        try:
            return encode_token(payload)
        except JobFailure:
            if not isinstance(state, dict) or not state.get("failures"):
                raise
            state["failures"].pop()
            state["failures_dropped"] = int(state.get("failures_dropped", 0)) + 1
