"""boto3 is the `aws` extra: the one place that says how to get it.

The core (the pytest plugin, `evaluate`, `check-policy`, `install-hook`, file
outputs) never imports boto3. Each AWS feature checks here first, so using
one without the extra is one line naming it, not an ImportError traceback.
"""

from __future__ import annotations

from importlib.util import find_spec

INSTALL = "pip install 'pytest-releasegate[aws]'"


class AwsExtraMissing(ImportError):
    """boto3 (the `aws` extra) is not installed; the message says how to install it."""


def boto3_missing(feature: str) -> str | None:
    """One line naming the extra when boto3 cannot be imported, else None (imports nothing)."""
    if find_spec("boto3") is not None and find_spec("botocore") is not None:
        return None
    return f"{feature} needs boto3, which is not installed: {INSTALL}"


def require_boto3(feature: str, error: type[Exception] = AwsExtraMissing) -> None:
    """Raise `error` with the one-line message when boto3 is missing."""
    problem = boto3_missing(feature)
    if problem is not None:
        raise error(problem)
