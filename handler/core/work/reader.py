"""What the routes read of queued work: an async job, a batch, a page of a batch's output.

Each is one call for its route; the links in them (the upload form, the output file, image
URLs) are signed here, when they are shown.
"""

from dataclasses import dataclass
from typing import Any

from handler.core.delivery import Delivery
from handler.core.errors import NotFound
from handler.core.ports import Credentials
from handler.core.work.batches import Batches
from handler.core.work.intake import Intake
from handler.core.work.model import MAX_INPUT_BYTES, UPLOAD_URL_SECONDS, Batch, upload_key
from handler.core.work.ports import BatchFiles, WorkStore
from handler.core.work.views import describe, render_output, show_job


@dataclass(frozen=True, slots=True)
class OutputPage:
    lines: str  # Batch JSONL
    next_start: int | None  # the next page's start, while there is one


@dataclass(frozen=True, slots=True)
class WorkReader:
    intake: Intake
    batches: Batches
    store: WorkStore
    files: BatchFiles
    delivery: Delivery

    def job(self, job_id: str, credentials: Credentials) -> dict[str, Any]:
        """The caller's async job, with its result once it succeeded (URLs signed afresh)."""
        job = self.intake.owned(job_id, credentials)
        if job.kind != "job":
            raise NotFound(f"No image job with id '{job_id}'.", code="not_found")
        return show_job(job, self.store.result(job_id, 0), self.delivery)

    def batch(self, batch_id: str, credentials: Credentials) -> dict[str, Any]:
        return self.shown(self._batch(batch_id, credentials))

    def cancel(self, batch_id: str, credentials: Credentials) -> dict[str, Any]:
        return self.shown(self.batches.cancel(batch_id, credentials))

    def output(
        self, batch_id: str, credentials: Credentials, *, start: int, limit: int
    ) -> OutputPage:
        """``limit`` lines of the output from line ``start``: what is recorded so far."""
        self._batch(batch_id, credentials)
        results = list(self.store.results(batch_id, start=start, limit=limit + 1))
        next_start = results[limit].index if len(results) > limit else None
        return OutputPage(
            render_output(results[:limit], sign=self.delivery.images.presign), next_start
        )

    def shown(self, batch: Batch) -> dict[str, Any]:
        """The batch as its routes show it: with the upload form while it waits for its
        file, and a URL of its output once written."""
        view = describe(batch)
        if batch.status == "awaiting_upload":
            form = self.files.upload_form(
                upload_key(batch), expires_in=UPLOAD_URL_SECONDS, max_bytes=MAX_INPUT_BYTES
            )
            view |= {"upload_url": form.url, "upload_fields": form.fields}
        if batch.output_key:
            view["output_url"] = self.files.download_url(batch.output_key)
        return view

    def _batch(self, batch_id: str, credentials: Credentials) -> Batch:
        batch = self.intake.owned(batch_id, credentials)
        if batch.kind != "batch":
            raise NotFound(f"No batch with id '{batch_id}'.", code="not_found")
        return batch
