"""The end of a batch or job: once its last line is recorded, write ``output.jsonl`` (batches),
set the final status and announce it.

Whoever records a line, or finds a line recorded already, calls ``finish``; the claim
(``WorkStore.claim_finalization``) lets one of them through, and lets another take over if that
one died mid-way. The output is rebuilt from the recorded results, so writing it again gives
the same file.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, assert_never

from handler.core.records.work import Batch, BatchStatus, Job, Work
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

    def finish(self, batch_id: str) -> Work | None:
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
        output = claimed.output_file  # None for a job: it answers like the synchronous call
        if output is not None:
            # Streamed: a page of results and a part of the file in memory, however long.
            changes["output_key"] = output
            self.files.write_output(output, output_lines(self.store.results(batch_id)))
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

    def _announce_final(self, batch: Work, now: int) -> None:
        self.announce(batch)
        self.store.transition(
            batch.id, from_=[batch.status], to=batch.status, changes={"announced_at": now}
        )

    def announce(self, work: Work) -> None:
        """A batch's announcement carries its counts; a job's, its one result. The event
        carries no images nor URLs; a job's webhook, its result by URL (its receiver asked
        for it, signed; base64 stays with ``GET /v1/images/jobs/{id}``)."""
        match work:
            case Batch():
                self.notifier.finished(work, describe(work), describe(work))
            case Job():
                results = list(self.store.results(work.id, limit=1))
                result = results[0] if results else None
                self.notifier.finished(
                    work,
                    describe_job(work, result, None),
                    show_job(work, result, self.delivery, "url"),
                )
            case _:
                assert_never(work)


def final_status(batch: Work) -> BatchStatus:
    if batch.cancelled_at is not None:
        return "cancelled"
    return "completed" if batch.failed == 0 else "completed_with_errors"
