"""A key's batches and jobs, listed page by page (``stores/work_lists.py``)."""

from collections.abc import Sequence
from typing import Protocol

from handler.core.records.work import LineResult, WorkT


class WorkLists(Protocol):
    """A key's batches and jobs, newest first."""

    def owned(
        self, key_id: str, of: type[WorkT], *, limit: int, after: WorkT | None
    ) -> tuple[list[WorkT], bool]:
        """Up to ``limit`` of the key's batches (``of`` ``Batch``) or async jobs (``Job``)
        made before ``after``, newest first, and whether there are more."""
        ...

    def first_results(self, batch_ids: Sequence[str]) -> dict[str, LineResult]:
        """The recorded result of line 0 of each of ``batch_ids`` (an async job's only
        line), by id; those without one are left out."""
        ...
