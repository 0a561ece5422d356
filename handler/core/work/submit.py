"""Work a key submits now and the workers run later: async jobs and batches.

Submission checks what it can without charging (the key, the body, the balance for a job);
each line is charged when it runs, to the key that submitted it (``Owner``).
"""

import hashlib
import json
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from handler.core.auth import authenticate, replayed
from handler.core.billing import Billing
from handler.core.catalog import Catalog
from handler.core.deadline import Deadline
from handler.core.errors import InvalidRequest, NotFound, PayloadTooLarge, StorageError
from handler.core.generation import fingerprint, idempotency_scope
from handler.core.image_input import from_request
from handler.core.policy import Meter
from handler.core.ports import Admission, Credentials, Idempotency, KeyStore
from handler.core.pricing import cheapest_line, quote
from handler.core.schemas import GenerationRequest
from handler.core.spec import build_spec
from handler.core.validation import check_metadata
from handler.core.webhooks import Resolver, check_webhook_host, check_webhook_url
from handler.core.work.model import MAX_INPUT_BYTES, MAX_LINE_BYTES, Batch, WorkItem, upload_key
from handler.core.work.ports import BatchFiles, JobStore, Notifier, WorkQueue
from handler.core.work.views import describe, describe_job
from handler.observability import logger


@dataclass(frozen=True, slots=True)
class QueuedWork:
    catalog: Catalog
    keys: KeyStore
    jobs: JobStore
    queue: WorkQueue
    files: BatchFiles
    notifier: Notifier
    idempotency: Idempotency
    billing: Billing
    resolve: Resolver  # DNS, to check webhook hosts are public
    local_webhooks: bool = False  # http webhooks to this machine: the local stack only
    clock: Callable[[], float] = field(default=time.time)

    def submit_job(
        self,
        request: GenerationRequest,
        credentials: Credentials,
        *,
        deadline: Deadline,
        meter: Meter,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Queue one generation; the job as ``GET /v1/images/jobs/{id}`` shows it. Refused
        now, as the synchronous call would be, if the key could not pay for it now; the
        submission is one request of the key's window (``meter`` gets it)."""
        work = request.model_dump(mode="json", by_alias=True, exclude_none=True)
        for name in ("async", "webhook_url"):
            work.pop(name, None)
        webhook_url = self._webhook_url(request.webhook_url)

        def submit() -> dict[str, Any]:
            job = self._queue_job(request, work, credentials, webhook_url, meter)
            return describe_job(job, None, None)

        if idempotency_key is None:
            return submit()
        # Apart from synchronous calls: the same body may be sent both ways.
        scope = idempotency_scope("job", credentials, idempotency_key)
        digest = fingerprint(request, from_request(request))
        kept = self.idempotency.once(scope, digest, submit, deadline)
        replayed(credentials, self.keys, meter, now=self.clock())
        return kept

    def _queue_job(
        self,
        request: GenerationRequest,
        work: dict[str, Any],
        credentials: Credentials,
        webhook_url: str | None,
        meter: Meter,
    ) -> Batch:
        now = self.clock()
        job_id = f"imgjob_{secrets.token_hex(12)}"
        job = build_spec(self.catalog.get(request.model), request, job_id, from_request(request))
        # As a batch line is: its body, with room to spare for the queue message around it.
        if len(json.dumps(work, separators=(",", ":")).encode()) > MAX_LINE_BYTES:
            raise PayloadTooLarge(
                f"An async request may be at most {MAX_LINE_BYTES // 1024} KiB; send larger "
                "input images in a synchronous request."
            )
        charge = quote(job, now_ms=int(now * 1000))
        self._check_webhook_host(webhook_url, credentials)
        self.billing.admit(credentials, Admission(charge.amount, job.model.id), meter)
        batch = Batch(
            id=job_id,
            kind="job",
            key_id=credentials.key_id,
            status="in_progress",
            created_at=int(now),
            total=1,
            webhook_url=webhook_url,
            response_format=request.response_format,
        )
        self.jobs.create(batch)
        try:
            self.queue.send([WorkItem(job_id, 0, None, work)])
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
        deadline: Deadline,
        meter: Meter,
        idempotency_key: str | None = None,
    ) -> Batch:
        """Record a batch whose input is ``lines``, or, without them, one that waits for its
        file at ``upload_key(batch)``. The splitter takes it from there either way. Refused
        if the key could not pay for even the cheapest line; the submission is one request
        of the key's window. With an ``idempotency_key``, a retried submission finds the
        batch the first one made."""
        if idempotency_key is None:
            return self._record_batch(credentials, lines, webhook_url, metadata, meter)
        scope = idempotency_scope("batch", credentials, idempotency_key)
        digest = hashlib.sha256(
            json.dumps([lines, webhook_url, dict(metadata)], sort_keys=True).encode()
        ).hexdigest()

        made: list[Batch] = []

        def submit() -> dict[str, Any]:
            made.append(self._record_batch(credentials, lines, webhook_url, metadata, meter))
            return {"id": made[0].id}

        kept = self.idempotency.once(scope, digest, submit, deadline)
        if made:  # the first submission: the batch is in hand, no need to read it back
            return made[0]
        replayed(credentials, self.keys, meter, now=self.clock())
        return self.get(str(kept.get("id")), credentials)

    def _record_batch(
        self,
        credentials: Credentials,
        lines: Sequence[Mapping[str, Any]] | None,
        webhook_url: str | None,
        metadata: Mapping[str, str],
        meter: Meter,
    ) -> Batch:
        now = int(self.clock())
        check_metadata(metadata)
        webhook_url = self._webhook_url(webhook_url)
        data = None
        if lines is not None:
            if not lines:
                raise InvalidRequest("input must hold at least one line.", param="input")
            data = "".join(json.dumps(line) + "\n" for line in lines).encode()
            if len(data) > MAX_INPUT_BYTES:
                raise InvalidRequest("input is over a batch's size limit.", param="input")
        # Checked like a request: a bad body never reaches the ledger.
        self._check_webhook_host(webhook_url, credentials)
        self.billing.admit(credentials, Admission(cheapest_line(self.catalog)), meter)
        batch = Batch(
            id=f"batch_{secrets.token_hex(12)}",
            kind="batch",
            key_id=credentials.key_id,
            status="awaiting_upload" if lines is None else "validating",
            created_at=now,
            webhook_url=webhook_url,
            metadata=dict(metadata),
        )
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
            raise _missing(batch_id)
        return batch

    def cancel(self, batch_id: str, credentials: Credentials) -> Batch:
        """Lines not yet started end as cancelled and cost nothing; running ones finish."""
        batch = self.get(batch_id, credentials)
        if batch.kind != "batch":
            raise _missing(batch_id)
        now = int(self.clock())
        # Not uploaded yet: nothing will ever run, so it is over now.
        unstarted = self.jobs.transition(
            batch_id,
            from_=["awaiting_upload"],
            to="cancelled",
            changes={"cancelled_at": now, "finished_at": now},
        )
        if unstarted is not None:
            try:
                self.notifier.finished(unstarted, describe(unstarted), describe(unstarted))
            except StorageError:  # it is cancelled: the answer says so, heard of or not
                logger.exception("cancelled batch not announced", batch_id=batch_id)
            return unstarted
        cancelling = self.jobs.transition(
            batch_id,
            from_=["validating", "in_progress"],
            to="cancelling",
            changes={"cancelled_at": now},
        )
        # None: finished or being cancelled already; nothing to do.
        return cancelling or self.get(batch_id, credentials)

    def _webhook_url(self, url: str | None) -> str | None:
        return check_webhook_url(url, allow_local=self.local_webhooks)

    def _check_webhook_host(self, url: str | None, credentials: Credentials) -> None:
        """Deployed, where the webhook's host leads: looked up for a known key only, so no
        one without a key can make the service resolve names."""
        if url is None or self.local_webhooks:
            return
        authenticate(credentials, self.keys, now=self.clock())
        check_webhook_host(url, self.resolve)


def _missing(batch_id: str) -> NotFound:
    return NotFound(f"No batch or job with id '{batch_id}'.", code="not_found")
