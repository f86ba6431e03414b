"""The documented Lambda handler name, ``pytest_releasegate.aws_lambda.handler``.

The handler lives in :mod:`pytest_releasegate.codepipeline.lambda_handler`;
this module keeps the name that deployed functions are configured with.
"""

from __future__ import annotations

from .codepipeline.lambda_handler import handle, handler

__all__ = ["handle", "handler"]
