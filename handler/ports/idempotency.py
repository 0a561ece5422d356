"""Idempotency-Key records: work run once and replayed (``stores/idempotency.py``)."""

from collections.abc import Callable
from typing import Any, Protocol

from handler.core.deadline import Deadline


class Idempotency(Protocol):
    def once(
        self, key: str, fingerprint: str, work: Callable[[], dict[str, Any]], deadline: Deadline
    ) -> dict[str, Any]:
        """``work()``'s result, run once per ``key`` for 24 hours and replayed after that.

        ``Conflict`` if ``key`` was used with another ``fingerprint``, or its first run is
        still going (until ``deadline``, after which a crashed run no longer blocks). A run
        that raises leaves nothing behind: the next one runs again.
        """
        ...
