"""Work a key submits now and the workers run later: async jobs and batches.

Submission checks what it can without charging (the key, the body, the balance for a job);
each line is charged when it runs, to the key that submitted it (``Owner``).
"""

import json
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from handler.core.auth import authenticate
from handler.core.batches import (
    MAX_INPUT_BYTES,
    Batch,
    BatchFiles,
    JobStore,
    WorkItem,
    WorkQueue,
)
from handler.core.catalog import Catalog
from handler.core.errors import InsufficientQuota, InvalidRequest, NotFound, StorageError
from handler.core.image_input import from_request
from handler.core.jobs import build_job
from handler.core.ports import Credentials, KeyStore
from handler.core.pricing import format_micros, quote
from handler.core.schemas import parse_request
from handler.core.webhooks import check_webhook_url
from handler.observability import logger

INPUT_PREFIX = "batches/input"
UPLOAD_URL_SECONDS = 3600
MAX_METADATA_ENTRIES = 16


@dataclass(frozen=True, slots=True)
class QueuedWork:
    catalog: Catalog
    keys: KeyStore
    jobs: JobStore
    queue: WorkQueue
    files: BatchFiles
    clock: Callable[[], float] = field(default=time.time)

    def submit_job(
        self, body: Mapping[str, Any], credentials: Credentials, *, webhook_url: str | None
    ) -> Batch:
        """Queue one generation; 402 now if the key could not pay for it now."""
        now = self.clock()
        request = parse_request(body)
        job_id = f"imgjob_{secrets.token_hex(12)}"
        job = build_job(self.catalog.get(request.model), request, job_id, from_request(request))
        record = authenticate(credentials, self.keys, now=now)
        price = quote(job, now_ms=int(now * 1000)).amount
        if record.balance < price:
            raise InsufficientQuota(
                f"This request costs {format_micros(price)} and the key's balance is "
                f"{format_micros(record.balance)}. Top up the key to continue."
            )
        batch = Batch(
            id=job_id,
            kind="job",
            key_id=credentials.key_id,
            status="in_progress",
            created_at=int(now),
            total=1,
            webhook_url=check_webhook_url(webhook_url),
            response_format=request.response_format,
        )
        self.jobs.create(batch)
        try:
            self.queue.send([WorkItem(job_id, 0, None, dict(body))])
        except StorageError:
            self.jobs.transition(
                job_id,
                from_=["in_progress"],
                to="failed",
                changes={"error": "The job could not be queued.", "finished_at": int(now)},
            )
            raise
        return batch

    def submit_batch(
        self,
        credentials: Credentials,
        *,
        lines: Sequence[Mapping[str, Any]] | None,
        webhook_url: str | None,
        metadata: Mapping[str, str],
    ) -> Batch:
        """Record a batch whose input is ``lines``, or, without them, one that waits for its
        file at ``upload_key(batch)``. The splitter takes it from there either way."""
        now = int(self.clock())
        authenticate(credentials, self.keys, now=now)
        if len(metadata) > MAX_METADATA_ENTRIES:
            raise InvalidRequest(
                f"metadata takes at most {MAX_METADATA_ENTRIES} entries.", param="metadata"
            )
        batch = Batch(
            id=f"batch_{secrets.token_hex(12)}",
            kind="batch",
            key_id=credentials.key_id,
            status="awaiting_upload" if lines is None else "validating",
            created_at=now,
            webhook_url=check_webhook_url(webhook_url),
            metadata=dict(metadata),
        )
        data = None
        if lines is not None:
            if not lines:
                raise InvalidRequest("input must hold at least one line.", param="input")
            data = "".join(json.dumps(line) + "\n" for line in lines).encode()
            if len(data) > MAX_INPUT_BYTES:
                raise InvalidRequest("input is over a batch's size limit.", param="input")
        self.jobs.create(batch)
        if data is not None:
            # Its arrival in the bucket is what starts the splitter.
            self.files.write_input(upload_key(batch), data)
        logger.info(
            "batch submitted", batch_id=batch.id, key_id=batch.key_id, inline=data is not None
        )
        return batch

    def get(self, batch_id: str, credentials: Credentials) -> Batch:
        """The caller's own batch or job; another key's reads as missing."""
        authenticate(credentials, self.keys, now=self.clock())
        batch = self.jobs.get(batch_id)
        if batch is None or batch.key_id != credentials.key_id:
            raise NotFound(f"No batch or job with id '{batch_id}'.", param="id", code="not_found")
        return batch

    def cancel(self, batch_id: str, credentials: Credentials) -> Batch:
        """Lines not yet started end as cancelled and cost nothing; running ones finish."""
        batch = self.get(batch_id, credentials)
        if batch.kind != "batch":
            raise NotFound(f"No batch with id '{batch_id}'.", param="id", code="not_found")
        now = int(self.clock())
        cancelled = self.jobs.transition(
            batch_id,
            from_=["awaiting_upload", "validating", "in_progress"],
            to="cancelling",
            changes={"cancelled_at": now},
        )
        if cancelled is None:  # finished or being cancelled already: nothing to do
            return self.get(batch_id, credentials)
        if batch.status == "awaiting_upload":  # nothing will ever run: done now
            done = self.jobs.transition(
                batch_id, from_=["cancelling"], to="cancelled", changes={"finished_at": now}
            )
            return done or cancelled
        return cancelled


def upload_key(batch: Batch) -> str:
    """Where an API-submitted batch's input goes: the path names the key that pays."""
    return f"{INPUT_PREFIX}/{batch.key_id}/{batch.id}.jsonl"
