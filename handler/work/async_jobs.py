"""Async jobs: one generation a key submits now and a worker runs later, answered like the
synchronous call once it has run. Refused at submission, as the synchronous call would be, if
the key could not pay for it now; charged when it runs, to the key that submitted it."""

import json
import secrets
from dataclasses import dataclass
from typing import Any

from handler.core.catalog import Catalog
from handler.core.deadline import Deadline
from handler.core.errors import Conflict, InvalidRequest, PayloadTooLarge, StorageError
from handler.core.idempotency import idempotency_scope
from handler.core.image_input import from_request
from handler.core.records.charges import Admission
from handler.core.records.keys import Credentials
from handler.core.records.work import FINISHED, MAX_LINE_BYTES, Job, WorkItem
from handler.core.schemas import GenerationRequest
from handler.core.spec_rules import build_spec
from handler.generation.service import fingerprint
from handler.money.policy import Meter
from handler.money.pricing import charge_for
from handler.ports.work_queue import WorkQueue
from handler.work.finish import Finisher
from handler.work.intake import Intake
from handler.work.views import describe_job


@dataclass(frozen=True, slots=True)
class AsyncJobs:
    intake: Intake
    catalog: Catalog
    queue: WorkQueue
    finisher: Finisher  # a cancelled job ends at once

    def submit(
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
        if request.stream:
            raise InvalidRequest(
                "stream answers while the image is made; an async job is polled or heard of "
                "by webhook instead. Send one of them.",
                param="stream",
            )
        work = request.model_dump(mode="json", by_alias=True, exclude_none=True)
        for name in ("async", "webhook_url"):
            work.pop(name, None)
        webhook_url = self.intake.webhook_url(request.webhook_url)

        def submit() -> dict[str, Any]:
            job = self._queue_job(request, work, credentials, webhook_url, meter)
            return describe_job(job, None, None)

        if idempotency_key is None:
            return submit()
        # Apart from synchronous calls: the same body may be sent both ways.
        scope = idempotency_scope("job", credentials, idempotency_key)
        digest = fingerprint(request, from_request(request))
        kept = self.intake.idempotency.once(scope, digest, submit, deadline)
        self.intake.replayed(credentials, meter)
        return kept

    def cancel(self, job_id: str, credentials: Credentials) -> dict[str, Any]:
        """Cancel a job the worker has not started: it ends cancelled now and costs nothing.
        Cancelling it again answers the same; a started or finished job is a 409."""
        job = self.intake.owned_as(Job, job_id, credentials)
        cancelled = self.intake.store.transition(
            job_id,
            from_=["in_progress"],
            to="in_progress",
            changes={"cancelled_at": int(self.intake.clock())},
            absent=["started_at", "cancelled_at"],  # the worker has not taken it
        )
        if cancelled is None:
            cancelled = self.intake.owned(job_id, credentials)
            if cancelled.cancelled_at is None:
                state = "finished" if cancelled.status in FINISHED else "started"
                raise Conflict(
                    f"The job has {state}; only a job that has not started can be cancelled.",
                    code="job_not_cancellable",
                )
        if cancelled.status not in FINISHED:  # this call's cancel, or one that died midway
            self.intake.store.record(job.cancelled_line(WorkItem(job_id, 0, None, {})))
            cancelled = self.finisher.finish(job_id) or self.intake.owned(job_id, credentials)
        return describe_job(cancelled, None, None)

    def _queue_job(
        self,
        request: GenerationRequest,
        work: dict[str, Any],
        credentials: Credentials,
        webhook_url: str | None,
        meter: Meter,
    ) -> Job:
        now = self.intake.clock()
        job_id = f"imgjob_{secrets.token_hex(12)}"
        job = build_spec(self.catalog.get(request.model), request, job_id, from_request(request))
        # As a batch line is: its body, with room to spare for the queue message around it.
        if len(json.dumps(work, separators=(",", ":")).encode()) > MAX_LINE_BYTES:
            raise PayloadTooLarge(
                f"An async request may be at most {MAX_LINE_BYTES // 1024} KiB; send larger "
                "input images in a synchronous request."
            )
        charge = charge_for(job, now_ms=int(now * 1000))
        self.intake.check_webhook_host(webhook_url, credentials)
        self.intake.charging.admit(credentials, Admission(charge.amount, job.model.id), meter)
        batch = Job(
            id=job_id,
            key_id=credentials.key_id,
            status="in_progress",
            created_at=int(now),
            created_ms=int(now * 1000),
            total=1,
            webhook_url=webhook_url,
            response_format=job.response_format,
        )
        self.intake.store.create(batch)
        try:
            self.queue.send([WorkItem(job_id, 0, None, work)])
        except StorageError:
            self.intake.store.transition(
                job_id,
                from_=["in_progress"],
                to="failed",
                changes={"error": "The job could not be queued.", "finished_at": int(now)},
            )
            raise
        return batch
