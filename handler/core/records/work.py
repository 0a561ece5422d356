"""Batches and async jobs: work paid for by a key but run after its request has gone.

A batch is a set of lines, each one generation request; an async job is a batch of one line
whose result is answered like the synchronous call's. Every line ends as exactly one
``LineResult``, written once: for a line that was charged, in the same write that settles its
charge (``ChargeStore.settle``), so a retried line finds either both or neither.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, TypeVar

from handler.core.errors import (
    ApiError,
    BackendNotConfigured,
    BackendRefused,
    NotFound,
    ServiceError,
    envelope,
    status_of,
)
from handler.core.schemas import object_prefix

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
# The codes of lines that never ran because their batch (or job) was cancelled.
BATCH_CANCELLED, JOB_CANCELLED = "batch_cancelled", "job_cancelled"
CANCELLED_CODES = frozenset({BATCH_CANCELLED, JOB_CANCELLED})
# Lines in one batch, at most: as OpenAI's Batch API.
MAX_LINES = 50_000
# A line travels as one queue message (SQS takes 256 KiB), with room for its envelope.
MAX_LINE_BYTES = 250 * 1024
# Longer than any backend's work stays pending (an asynchronous SageMaker invocation: an hour
# in its queue, an hour running); past it, the line fails as any other would.
PENDING_LIMIT_SECONDS = 3 * 3600
# Input files, at most (OpenAI's Batch API takes 200 MB).
MAX_INPUT_BYTES = 200 * 1024 * 1024
# Where API-submitted input files go, and how long their upload form lasts.
INPUT_PREFIX = "batches/input"
UPLOAD_URL_SECONDS = 3600


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
    def cancelled(self) -> bool:
        """Never run because its batch (or job) was cancelled: neither completed nor failed."""
        return self.status_code is None and self.body.get("code") in CANCELLED_CODES

    @property
    def request_id(self) -> str:
        return line_request_id(self.batch_id, self.index)


@dataclass(frozen=True, slots=True)
class QueuedWork:
    """What a batch and an async job share, as stored. Never made itself: each type answers
    what differs between them (``Batch``, ``Job``); ``Work`` is either."""

    id: str
    key_id: str  # the key that pays
    status: BatchStatus
    created_at: int  # unix seconds
    created_ms: int | None = None  # the same in milliseconds: its place in its key's list
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
    started_at: int | None = None  # an async job's: the worker took it, so it runs
    response_format: str | None = None  # an async job's, for answering like the sync call
    # Announcing happens after the final status is stored; announced_at once it is done.
    announcing_at: int | None = None
    announced_at: int | None = None
    split_through: int = 0  # lines of the input queued so far (see WorkStore.note_split)

    noun: ClassVar[str]  # what messages call it
    detail_type: ClassVar[str]  # its event's, once finished
    webhook_prefix: ClassVar[str]  # its webhook's type is ``<prefix>.<status>``
    # Whether its line is marked started before it runs, so that a cancel either comes first
    # (and it never runs) or is refused; without, a cancel stops the lines not yet started.
    marked_started: ClassVar[bool]
    _cancelled: ClassVar[tuple[str, str]]  # a line's code and message when it was cancelled

    def cancelled_line(self, item: "WorkItem") -> LineResult:
        """A line of it that was cancelled before it ran: unpaid."""
        return unrun_result(item, *self._cancelled)

    def webhook_type(self, status: str) -> str:
        return f"{self.webhook_prefix}.{status}"

    @classmethod
    def not_found(cls, work_id: str) -> NotFound:
        """Looked up as this type, an id that is not one (another key's, or the other type)."""
        return NotFound(f"No {cls.noun} with id '{work_id}'.", code="not_found")


@dataclass(frozen=True, slots=True)
class Batch(QueuedWork):
    """Lines from a file or a request, each run, charged and answered on its own; finished,
    their results are one output file (OpenAI's Batch API)."""

    noun = "batch"
    detail_type = "Batch Finished"
    webhook_prefix = "batch"
    marked_started = False
    _cancelled = (BATCH_CANCELLED, "The batch was cancelled before this line ran.")

    def images_prefix(self, index: int) -> str:
        return f"batches/{self.id}/images/{index}"

    @property
    def output_file(self) -> str | None:
        """Where finishing writes its output: a line per result."""
        return f"batches/{self.id}/output.jsonl"


@dataclass(frozen=True, slots=True)
class Job(QueuedWork):
    """An async image job: one generation, queued, answered like the synchronous call once it
    has run (``GET /v1/images/jobs/{id}``, its webhook)."""

    noun = "image job"
    detail_type = "Image Job Finished"
    webhook_prefix = "job"
    marked_started = True
    _cancelled = (JOB_CANCELLED, "The job was cancelled before it ran.")

    def images_prefix(self, index: int) -> str:
        """Beside the synchronous calls' images, kept as long."""
        return object_prefix(self.created_at, self.id)

    @property
    def output_file(self) -> str | None:
        """None: its one result is answered like the synchronous call's, not as a file."""
        return None


Work = Batch | Job
WorkT = TypeVar("WorkT", Batch, Job)  # a lookup or a list of one type answers that type


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


def is_queued_request(request_id: str) -> bool:
    """Whether a request id is a queued line's (a batch's or an async job's)."""
    return request_id.startswith(("batch_", "imgjob_"))


def retryable(exc: BaseException) -> bool:
    """Whether a line that failed so should run again: failures of ours (and crashes, an
    ``Outcome`` that escaped its caller among them) may pass; the client's mistakes, and a
    backend that refuses the work or that this deployment cannot reach, will not, and are the
    line's result."""
    if not isinstance(exc, ApiError):
        return True
    return isinstance(exc, ServiceError) and not isinstance(
        exc, BackendRefused | BackendNotConfigured
    )


def error_result(item: WorkItem, exc: ApiError) -> LineResult:
    """A line that ended in an error the API would have answered, with that answer."""
    return LineResult(item.batch_id, item.index, item.custom_id, status_of(exc), envelope(exc))


def unrun_result(item: WorkItem, code: str, message: str) -> LineResult:
    """A line that never became a request (cancelled, unreadable, kept crashing)."""
    return LineResult(
        item.batch_id, item.index, item.custom_id, None, {"code": code, "message": message}
    )


def upload_key(batch: Work) -> str:
    """Where an API-submitted batch's input goes: the path names the key that pays."""
    return f"{INPUT_PREFIX}/{batch.key_id}/{batch.id}.jsonl"


@dataclass(frozen=True, slots=True)
class UploadForm:
    """Where to POST a file (multipart, the ``fields`` first, then the file as ``file``)."""

    url: str
    fields: dict[str, str]
