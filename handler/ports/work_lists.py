"""A key's batches and jobs, listed page by page (``stores/work_lists.py``)."""

from collections.abc import Sequence
from typing import Protocol

from handler.core.records.work import Batch, BatchKind, LineResult


class WorkLists(Protocol):
    """A key's batches and jobs, newest first."""

    def owned(
        self, key_id: str, kind: BatchKind, *, limit: int, after: Batch | None
    ) -> tuple[list[Batch], bool]:
        """Up to ``limit`` of the key's batches (or async jobs) made before ``after``, newest
        first, and whether there are more."""
        ...

    def first_results(self, batch_ids: Sequence[str]) -> dict[str, LineResult]:
        """The recorded result of line 0 of each of ``batch_ids`` (an async job's only
        line), by id; those without one are left out."""
        ...
