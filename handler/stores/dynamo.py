"""What every DynamoDB adapter here reads out of botocore's errors, and the retry of
transaction conflicts."""

import random
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

from botocore.exceptions import ClientError

T = TypeVar("T")
# Concurrent writes to one item (a key's, a batch's) can collide with a transaction on it;
# DynamoDB then refuses one of them outright, and botocore does not retry that.
_CONFLICT_ATTEMPTS = 6


def retry_conflicts(call: Callable[[], T]) -> T:
    for attempt in range(_CONFLICT_ATTEMPTS):
        try:
            return call()
        except ClientError as exc:
            reasons = cancellation_reasons(exc)
            conflict = error_code(exc) == "TransactionConflictException" or (
                "TransactionConflict" in reasons and "ConditionalCheckFailed" not in reasons
            )
            if not conflict or attempt == _CONFLICT_ATTEMPTS - 1:
                raise
        time.sleep(random.uniform(0, 0.025 * 2**attempt))  # noqa: S311 - jitter, not secrecy
    raise AssertionError("unreachable")


def error_code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


def cancellation_reasons(exc: ClientError) -> list[str]:
    """A cancelled transaction's reason per item, in order (``"None"`` for items that passed)."""
    reasons = cast("list[dict[str, Any]]", exc.response.get("CancellationReasons", []))
    return [str(reason.get("Code")) for reason in reasons]
