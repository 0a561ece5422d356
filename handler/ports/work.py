"""What queued work needs from the outside world; ``stores/`` implements it."""

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from handler.work.model import Batch, BatchKind, BatchStatus, LineResult, WorkItem


class WorkStore(Protocol):
    def create(self, batch: Batch) -> bool:
        """Store a new batch; False if one with its id exists."""
        ...

    def get(self, batch_id: str) -> Batch | None: ...

    def transition(
        self,
        batch_id: str,
        *,
        from_: Sequence[BatchStatus],
        to: BatchStatus,
        changes: Mapping[str, Any] | None = None,
        absent: Sequence[str] = (),
    ) -> Batch | None:
        """Move a batch from one of ``from_`` to ``to`` (and set ``changes``, Batch fields)
        if it has none of the fields ``absent``; the batch after, or None if it was in
        another status or had one of them."""
        ...

    def claim_finalization(self, batch_id: str, *, now: int, lease_seconds: int) -> Batch | None:
        """Take the batch to ``finalizing`` if all its lines are recorded and no live claim
        holds it; the batch as claimed, or None."""
        ...

    def claim_announcement(self, batch_id: str, *, now: int, lease_seconds: int) -> Batch | None:
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


class WorkQueue(Protocol):
    def send(self, items: Sequence[WorkItem], *, delay_seconds: int = 0) -> None:
        """Queue every item, to be delivered after ``delay_seconds`` (up to 900), or raise
        ``StorageError``."""
        ...


@dataclass(frozen=True, slots=True)
class UploadForm:
    """Where to POST a file (multipart, the ``fields`` first, then the file as ``file``)."""

    url: str
    fields: dict[str, str]


class BatchFiles(Protocol):
    """Input and output files of batches, in the images bucket."""

    def input_lines(self, key: str, *, max_bytes: int) -> Iterator[bytes]:
        """The file's lines (without their line ends) as it streams; InvalidRequest if it is
        over ``max_bytes``."""
        ...

    def write_input(self, key: str, data: bytes) -> None: ...

    def write_output(self, key: str, lines: Iterable[bytes]) -> None:
        """Write ``lines`` as they come, holding a part of the file at a time."""
        ...

    def upload_form(self, key: str, *, expires_in: int, max_bytes: int) -> "UploadForm":
        """A presigned POST of one file to ``key``, which S3 itself refuses over
        ``max_bytes``."""
        ...

    def download_url(self, key: str) -> str: ...


class Notifier(Protocol):
    def finished(self, batch: Batch, event: Mapping[str, Any], webhook: Mapping[str, Any]) -> None:
        """Announce a finished batch or job: ``event`` on the event bus (never images or
        URLs: the bus's readers are not the key's holder), ``webhook`` to its webhook."""
        ...
