"""The credential scrubber removes credential-shaped text, not long ordinary paths."""

from __future__ import annotations

import random
import string

import pytest

from pytest_releasegate.redact import REDACTED, Redactor

PATHS = [
    "/opt/project/services/payments/handlers2",  # a 40-character run, like a secret key
    "/opt/Project/Services/PaymentsV2/handler",
    "/opt/project/services/payments/handlers/refunds/internal/partial/attempts/"
    "declined/issuer/second/third",  # over 100 characters, like a session token
    "/tmp/pytest-of-root/pytest-12/test_the_payment_service_handles0/sub_dir/another_dir/"
    "yet-another/deeper",
    "src/main/java/com/example/payments/service/internal/impl/handlers/refunds/"
    "PartialRefundHandlerTestCase",
    "/Users/JohnSmith/Projects/MyService/node_modules/site-packages/__pycache__/x86_64/"
    "lib/gcc/Default/v1",
    "test_that_the_payment_service_handles_partial_refunds_when_the_card_issuer_declines_twice"
    "_in_a_row_now",
]


@pytest.mark.parametrize("path", PATHS)
def test_long_ordinary_paths_and_names_are_left_alone(path: str) -> None:
    assert len(path) == 40 or len(path) >= 100  # the lengths the shapes look for
    text = f"cannot read {path}: no such file"
    assert Redactor()(text) == text


def test_random_secret_keys_and_tokens_are_still_scrubbed() -> None:
    rng = random.Random(12)
    alphabet = string.ascii_letters + string.digits + "+/"
    redactor = Redactor()
    missed = 0
    for _ in range(2000):
        secret = "".join(rng.choice(alphabet) for _ in range(40))
        if redactor(f"key {secret} used") != f"key {REDACTED} used":
            missed += 1
    assert missed <= 10  # a heuristic backstop: known secrets are always matched exactly
    token = "IQoJb3JpZ2luX2VjE" + "".join(rng.choice(alphabet) for _ in range(400))
    assert token not in redactor(f"token {token}")
