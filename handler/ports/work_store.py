"""Batches, their lines and results, and async jobs as stored (``stores/work.py``)."""

from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol

from handler.core.records.work import BatchStatus, LineResult, Work


class WorkStore(Protocol):
    def create(self, batch: Work) -> bool:
        """Store a new batch; False if one with its id exists."""
        ...

    def get(self, batch_id: str) -> Work | None:
        """The batch (a ``Batch``) or async job (a ``Job``) of that id, as stored."""
        ...

    def transition(
        self,
        batch_id: str,
        *,
        from_: Sequence[BatchStatus],
        to: BatchStatus,
        changes: Mapping[str, Any] | None = None,
        absent: Sequence[str] = (),
    ) -> Work | None:
        """Move a batch from one of ``from_`` to ``to`` (and set ``changes``, Batch fields)
        if it has none of the fields ``absent``; the batch after, or None if it was in
        another status or had one of them."""
        ...

    def claim_finalization(self, batch_id: str, *, now: int, lease_seconds: int) -> Work | None:
        """Take the batch to ``finalizing`` if all its lines are recorded and no live claim
        holds it; the batch as claimed, or None."""
        ...

    def claim_announcement(self, batch_id: str, *, now: int, lease_seconds: int) -> Work | None:
        """Take a finished batch whose announcing began over ``lease_seconds`` ago and never
        ended (its finalizer died), to announce it again; the batch, or None."""
        ...

    def record(self, result: LineResult) -> bool:
        """Write the line's result and count it on its batch, once; False if it had one."""
        ...

    def result(self, batch_id: str, index: int) -> LineResult | None: ...

    def note_failure(self, failure: LineResult) -> None:
        """Keep the error an attempt of the line failed with (the last one is kept), for the
        result the line gets should every attempt fail."""
        ...

    def last_failure(self, batch_id: str, index: int) -> LineResult | None: ...

    def note_split(self, batch_id: str, through: int) -> None:
        """Lines before ``through`` are queued (or recorded): a split resumed after a crash
        starts there."""
        ...

    def results(
        self, batch_id: str, *, start: int = 0, limit: int | None = None
    ) -> Iterator[LineResult]:
        """Recorded results in line order, from line ``start``, at most ``limit``: read a
        page at a time as they are consumed, and never past ``limit``."""
        ...
