"""The end of a batch or job: once its last line is recorded, write ``output.jsonl`` (batches),
set the final status and announce it.

Whoever records a line, or finds a line recorded already, calls ``finish``; the claim
(``WorkStore.claim_finalization``) lets one of them through, and lets another take over if that
one died mid-way. The output is rebuilt from the recorded results, so writing it again gives
the same file.
"""

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from handler.core.records.work import Batch, BatchStatus, LineResult
from handler.generation.delivery import Delivery
from handler.observability import logger
from handler.ports.batch_files import BatchFiles
from handler.ports.notifier import Notifier
from handler.ports.work_store import WorkStore
from handler.work.views import describe, describe_job, output_lines, show_job

# How long a finalization may run before another may take it over: Lambda's longest run.
FINALIZATION_LEASE_SECONDS = 15 * 60


@dataclass(frozen=True, slots=True)
class Finisher:
    store: WorkStore
    files: BatchFiles
    notifier: Notifier
    delivery: Delivery  # a job's webhook carries its result, by URL
    clock: Callable[[], float] = field(default=time.time)

    def finish(self, batch_id: str) -> Batch | None:
        """Finalize the batch if all its lines are recorded and no one else is at it."""
        now = int(self.clock())
        claimed = self.store.claim_finalization(
            batch_id, now=now, lease_seconds=FINALIZATION_LEASE_SECONDS
        )
        if claimed is None:
            # Final, but its finalizer died announcing it: announce it (again).
            unannounced = self.store.claim_announcement(
                batch_id, now=now, lease_seconds=FINALIZATION_LEASE_SECONDS
            )
            if unannounced is not None:
                self._announce_final(unannounced, now)
            return unannounced
        changes: dict[str, Any] = {"finished_at": now, "announcing_at": now}
        if claimed.kind == "batch":
            # Streamed: a page of results and a part of the file in memory, however long.
            changes["output_key"] = f"batches/{batch_id}/output.jsonl"
            self.files.write_output(
                changes["output_key"], output_lines(self.store.results(batch_id))
            )
        status = final_status(claimed)
        # Final in the store before it is announced: a receiver that reads the batch on
        # hearing of it finds it finished. Should this die before the announcement is done,
        # a later finish() announces it (claim_announcement): at least once.
        done = self.store.transition(batch_id, from_=["finalizing"], to=status, changes=changes)
        if done is not None:
            self._announce_final(done, now)
        logger.info(
            "batch finished",
            batch_id=batch_id,
            status=status,
            succeeded=claimed.succeeded,
            failed=claimed.failed,
            cost=claimed.cost,
        )
        return done

    def _announce_final(self, batch: Batch, now: int) -> None:
        # A batch's announcement carries its counts; a job's, its one result.
        results = list(self.store.results(batch.id, limit=1)) if batch.kind == "job" else []
        self.announce(batch, results)
        self.store.transition(
            batch.id, from_=[batch.status], to=batch.status, changes={"announced_at": now}
        )

    def announce(self, batch: Batch, results: Sequence[LineResult]) -> None:
        """The event carries no images nor URLs; a job's webhook, its result by URL (its
        receiver asked for it, signed; base64 stays with ``GET /v1/images/jobs/{id}``)."""
        if batch.kind == "batch":
            self.notifier.finished(batch, describe(batch), describe(batch))
            return
        result = results[0] if results else None
        self.notifier.finished(
            batch, describe_job(batch, result, None), show_job(batch, result, self.delivery, "url")
        )


def final_status(batch: Batch) -> BatchStatus:
    if batch.cancelled_at is not None:
        return "cancelled"
    return "completed" if batch.failed == 0 else "completed_with_errors"
