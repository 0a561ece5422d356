"""Runs queued lines: one line of a batch, or an async job, per message.

Delivery is at least once. A line whose result is recorded is done, whichever attempt
recorded it; a line charged and not recorded (the attempt died) is run again under the same
request id, and its reservation is found again rather than taken twice (``Ledger.reserve``).
"""

from dataclasses import dataclass

from handler.batch.finish import Finisher
from handler.core.batches import FINISHED, Batch, JobStore, WorkItem, unrun_result
from handler.core.deadline import Deadline
from handler.core.generation import GenerationService, object_prefix
from handler.core.ports import Owner
from handler.observability import logger


@dataclass(frozen=True, slots=True)
class Worker:
    service: GenerationService
    jobs: JobStore
    finisher: Finisher

    def run(self, item: WorkItem, deadline: Deadline) -> None:
        """Run the line unless it has its result; raise to have it tried again."""
        batch = self.jobs.get(item.batch_id)
        if batch is None:
            logger.error("work for an unknown batch dropped", batch_id=item.batch_id)
            return
        if batch.status not in FINISHED and self.jobs.result(item.batch_id, item.index) is None:
            if batch.cancelled_at is not None:
                self.jobs.record(
                    unrun_result(
                        item, "batch_cancelled", "The batch was cancelled before this line ran."
                    )
                )
            else:
                result = self.service.fulfil(
                    item,
                    owner=Owner(batch.key_id),
                    deadline=deadline,
                    prefix=images_prefix(batch, item),
                )
                logger.info(
                    "line done",
                    batch_id=item.batch_id,
                    index=item.index,
                    status_code=result.status_code,
                    cost=result.cost,
                )
        self.finisher.finish(item.batch_id)

    def give_up(self, item: WorkItem) -> None:
        """A line that failed on every attempt (from the dead-letter queue): its error is its
        result, and whatever it still had reserved is refunded in the same write."""
        batch = self.jobs.get(item.batch_id)
        if batch is None:
            logger.error("dead work for an unknown batch dropped", batch_id=item.batch_id)
            return
        self.service.abandon(
            unrun_result(
                item, "processing_failed", "The line failed on every attempt; it was not charged."
            ),
            owner=Owner(batch.key_id),
        )
        logger.error("line failed on every attempt", batch_id=item.batch_id, index=item.index)
        self.finisher.finish(item.batch_id)


def images_prefix(batch: Batch, item: WorkItem) -> str:
    if batch.kind == "job":  # beside the synchronous calls' images, kept as long
        return object_prefix(batch.created_at, batch.id)
    return f"batches/{batch.id}/images/{item.index}"
