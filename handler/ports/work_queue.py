"""The queue batch lines and async jobs wait on (``stores/queue.py``)."""

from collections.abc import Sequence
from typing import Protocol

from handler.core.records.work import WorkItem


class WorkQueue(Protocol):
    def send(self, items: Sequence[WorkItem], *, delay_seconds: int = 0) -> None:
        """Queue every item, to be delivered after ``delay_seconds`` (up to 900), or raise
        ``StorageError``."""
        ...
