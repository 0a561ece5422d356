"""Batches and async jobs: work paid for by a key but run after its request has gone.

A batch is a set of lines, each one generation request; an async job is a batch of one line
whose result is answered like the synchronous call's. Every line ends as exactly one
``LineResult``, written once: for a line that was charged, in the same write that settles its
charge (``Ledger.settle``), so a retried line finds either both or neither.
"""

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from handler.core.errors import (
    BackendNotConfigured,
    BackendRefused,
    ImagegateError,
    ServiceError,
    envelope,
    status_of,
)

BatchKind = Literal["batch", "job"]
BatchStatus = Literal[
    "awaiting_upload",  # an API submission waiting for its input file
    "validating",  # the splitter is reading the input and queuing its lines
    "in_progress",
    "cancelling",  # lines not yet started end as cancelled, unpaid
    "finalizing",  # every line has its result; the output is being written
    "completed",
    "completed_with_errors",
    "cancelled",
    "failed",  # the input file could not be read at all
]
FINISHED: frozenset[BatchStatus] = frozenset(
    {"completed", "completed_with_errors", "cancelled", "failed"}
)
# Lines in one batch, at most: as OpenAI's Batch API.
MAX_LINES = 50_000
# A line travels as one queue message (SQS takes 256 KiB), with room for its envelope.
MAX_LINE_BYTES = 250 * 1024
# Input files, at most (OpenAI's Batch API takes 200 MB).
MAX_INPUT_BYTES = 200 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class LineResult:
    """What one line came to. ``status_code`` None: the line never became a request (it could
    not be read, was cancelled, or kept crashing), and ``body`` is the error alone."""

    batch_id: str
    index: int
    custom_id: str | None
    status_code: int | None
    body: Mapping[str, Any]
    cost: int = 0  # micro-units charged for it

    @property
    def succeeded(self) -> bool:
        return self.status_code == 200

    @property
    def request_id(self) -> str:
        return line_request_id(self.batch_id, self.index)


@dataclass(frozen=True, slots=True)
class Batch:
    id: str
    kind: BatchKind
    key_id: str  # the key that pays
    status: BatchStatus
    created_at: int  # unix seconds
    total: int = 0
    succeeded: int = 0
    failed: int = 0
    cost: int = 0  # micro-units, summed as lines settle
    input_key: str | None = None
    output_key: str | None = None
    webhook_url: str | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    error: str | None = None  # why a failed batch failed
    finished_at: int | None = None
    cancelled_at: int | None = None
    response_format: str | None = None  # an async job's, for answering like the sync call
    # Announcing happens after the final status is stored; announced_at once it is done.
    announcing_at: int | None = None
    announced_at: int | None = None


@dataclass(frozen=True, slots=True)
class WorkItem:
    """One queued line: what the worker needs to run it."""

    batch_id: str
    index: int
    custom_id: str | None
    body: Mapping[str, Any]
    pending_since: int | None = None  # unix seconds: its backend work has been pending since


def line_request_id(batch_id: str, index: int) -> str:
    """The line's request id, the same on every attempt: a retried reservation finds its own."""
    return f"{batch_id}-{index}"


def retryable(exc: BaseException) -> bool:
    """Whether a line that failed so should run again: failures of ours (and crashes) may
    pass; the client's mistakes, and a backend that refuses the work or that this
    deployment cannot reach, will not, and are the line's result."""
    if not isinstance(exc, ImagegateError):
        return True
    return isinstance(exc, ServiceError) and not isinstance(
        exc, BackendRefused | BackendNotConfigured
    )


def error_result(item: WorkItem, exc: ImagegateError) -> LineResult:
    """A line that ended in an error the API would have answered, with that answer."""
    return LineResult(item.batch_id, item.index, item.custom_id, status_of(exc), envelope(exc))


def unrun_result(item: WorkItem, code: str, message: str) -> LineResult:
    """A line that never became a request (cancelled, unreadable, kept crashing)."""
    return LineResult(
        item.batch_id, item.index, item.custom_id, None, {"code": code, "message": message}
    )


def encode(item: WorkItem) -> str:
    """A work item as its queue message."""
    body: dict[str, Any] = {
        "batch_id": item.batch_id,
        "index": item.index,
        "custom_id": item.custom_id,
        "body": item.body,
    }
    if item.pending_since is not None:
        body["pending_since"] = item.pending_since
    return json.dumps(body, separators=(",", ":"))


def decode(message: str) -> WorkItem:
    body = json.loads(message)
    return WorkItem(
        body["batch_id"],
        int(body["index"]),
        body.get("custom_id"),
        body["body"],
        body.get("pending_since"),
    )


class ResultRecorded(Exception):
    """The line has its result already (another attempt recorded it)."""


class JobStore(Protocol):
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
    ) -> Batch | None:
        """Move a batch from one of ``from_`` to ``to`` (and set ``changes``, Batch fields);
        the batch after, or None if it was in another status."""
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

    def results(
        self, batch_id: str, *, start: int = 0, limit: int | None = None
    ) -> list[LineResult]:
        """Recorded results in line order, from line ``start``, at most ``limit``."""
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

    def read_input(self, key: str, *, max_bytes: int) -> bytes: ...

    def write_input(self, key: str, data: bytes) -> None: ...

    def write_output(self, key: str, data: bytes) -> None: ...

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


def describe(batch: Batch) -> dict[str, Any]:
    """A batch as the API, its events and its webhooks show it (OpenAI's batch object, plus
    what it cost)."""
    view: dict[str, Any] = {
        "id": batch.id,
        "object": "batch",
        "endpoint": "/v1/images/generations",
        "status": batch.status,
        "created_at": batch.created_at,
        "completed_at": batch.finished_at if batch.status in FINISHED else None,
        "cancelled_at": batch.cancelled_at,
        "request_counts": {
            "total": batch.total,
            "completed": batch.succeeded,
            "failed": batch.failed,
        },
        "cost": batch.cost,
        "metadata": dict(batch.metadata),
        "output_key": batch.output_key,
        "errors": None,
    }
    if batch.error:
        view["errors"] = {
            "object": "list",
            "data": [{"code": "invalid_input", "message": batch.error}],
        }
    return view


JOB_STATUSES: Mapping[BatchStatus, str] = {
    "in_progress": "in_progress",
    "finalizing": "in_progress",
    "completed": "succeeded",
    "completed_with_errors": "failed",
    "failed": "failed",
}


def describe_job(
    job: Batch, result: LineResult | None, answer: Mapping[str, Any] | None
) -> dict[str, Any]:
    """An async job as ``GET /v1/images/jobs/{id}`` and its webhook show it: with, once it
    succeeded, ``result``, the body the synchronous call would have answered."""
    view: dict[str, Any] = {
        "id": job.id,
        "object": "image.generation.job",
        "status": JOB_STATUSES.get(job.status, "in_progress"),
        "created_at": job.created_at,
        "completed_at": job.finished_at,
        "cost": job.cost,
        "result": answer,
        "error": None,
    }
    if result is not None and result.status_code is None:  # it never ran
        view["error"] = {
            "message": result.body["message"],
            "type": "server_error",
            "param": None,
            "code": result.body["code"],
        }
    elif result is not None and not result.succeeded:
        view["error"] = result.body["error"]
        view["status_code"] = result.status_code
    elif job.error:
        view["error"] = {"message": job.error, "type": "server_error", "param": None, "code": None}
    return view


def render_output(results: Sequence[LineResult], sign: Callable[[str], str] | None = None) -> str:
    """OpenAI's batch output, a line per result (in the order given: line order); images by
    object key, and by a URL from ``sign`` if one is given."""
    return "".join(
        json.dumps(_output_line(result, sign), separators=(",", ":")) + "\n" for result in results
    )


def _output_line(result: LineResult, sign: Callable[[str], str] | None = None) -> dict[str, Any]:
    if result.status_code is None:
        return {
            "id": result.request_id,
            "custom_id": result.custom_id,
            "response": None,
            "error": dict(result.body),
        }
    body = dict(result.body)
    if result.succeeded:
        body["data"] = [_output_image(item, sign) for item in body["data"]]
    return {
        "id": result.request_id,
        "custom_id": result.custom_id,
        "response": {
            "status_code": result.status_code,
            "request_id": result.request_id,
            "body": body,
        },
        "error": None,
    }


def _output_image(kept: Mapping[str, Any], sign: Callable[[str], str] | None) -> dict[str, Any]:
    key = kept.get("s3_key") or kept["url"]  # "url": results recorded before StoredImage
    image: dict[str, Any] = {"s3_key": key}
    if "seed" in kept:
        image["seed"] = kept["seed"]
    if sign is not None:
        image["url"] = sign(key)
    return image
