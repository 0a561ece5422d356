"""What the routes read of queued work: an async job, a batch, a page of a batch's output,
a page of a key's jobs or batches.

Each is one call for its route; the links in them (the upload form, the output file, image
URLs) are signed here, when they are shown.
"""

from dataclasses import dataclass
from typing import Any

from handler.core.errors import InvalidRequest
from handler.core.records.keys import Credentials
from handler.core.records.work import (
    FINISHED,
    MAX_INPUT_BYTES,
    UPLOAD_URL_SECONDS,
    Batch,
    Job,
    Work,
    WorkT,
    upload_key,
)
from handler.generation.delivery import Delivery
from handler.ports.batch_files import BatchFiles
from handler.ports.work_lists import WorkLists
from handler.ports.work_store import WorkStore
from handler.work.batches import Batches
from handler.work.intake import Intake, is_work_id
from handler.work.views import describe, render_output, show_job


@dataclass(frozen=True, slots=True)
class OutputPage:
    lines: str  # Batch JSONL
    next_start: int | None  # the next page's start, while there is one


@dataclass(frozen=True, slots=True)
class WorkReader:
    intake: Intake
    batches: Batches
    store: WorkStore
    lists: WorkLists
    files: BatchFiles
    delivery: Delivery

    def job(self, job_id: str, credentials: Credentials) -> dict[str, Any]:
        """The caller's async job, with its result once it succeeded (URLs signed afresh)."""
        job = self.intake.owned_as(Job, job_id, credentials)
        return show_job(job, self.store.result(job_id, 0), self.delivery)

    def job_page(
        self, key_id: str, *, limit: int, after: str | None
    ) -> tuple[list[dict[str, Any]], bool]:
        """A page of the key's async jobs, newest first, each as ``job`` shows it but by URL
        whatever its format (a page of base64 images would outgrow the response)."""
        jobs, more = self._page(key_id, Job, limit=limit, after=after)
        results = self.lists.first_results([job.id for job in jobs if job.status in FINISHED])
        return [show_job(job, results.get(job.id), self.delivery, "url") for job in jobs], more

    def batch_page(
        self, key_id: str, *, limit: int, after: str | None
    ) -> tuple[list[dict[str, Any]], bool]:
        """A page of the key's batches, newest first."""
        batches, more = self._page(key_id, Batch, limit=limit, after=after)
        return [self.shown(batch) for batch in batches], more

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

    def shown(self, batch: Work) -> dict[str, Any]:
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

    def _page(
        self, key_id: str, of: type[WorkT], *, limit: int, after: str | None
    ) -> tuple[list[WorkT], bool]:
        anchor = None
        if after is not None:  # the last id of the page before: it must be one of the key's
            found = self.store.get(after) if is_work_id(after) else None
            if not isinstance(found, of) or found.key_id != key_id:
                raise InvalidRequest(f"'{after}' is not a {of.noun} of this key.", param="after")
            anchor = found
        return self.lists.owned(key_id, of, limit=limit, after=anchor)

    def _batch(self, batch_id: str, credentials: Credentials) -> Batch:
        return self.intake.owned_as(Batch, batch_id, credentials)
