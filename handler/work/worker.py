"""Runs queued lines: one line of a batch, or an async job, per message.

Delivery is at least once. A line whose result is recorded is done, whichever attempt
recorded it; a line charged and not recorded (the attempt died) is run again under the same
request id, and its reservation is found again rather than taken twice (``ChargeStore.reserve``).

A line whose backend work is pending (an asynchronous SageMaker invocation still running) is
queued again as a new message, delayed, rather than failed: it does not use up the receives
after which the queue dead-letters it, nor wait out the queue's visibility timeout, and the
worker is free for other lines meanwhile.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from handler.core.deadline import Deadline
from handler.core.errors import WorkPending
from handler.core.records.keys import Owner
from handler.core.records.work import (
    FINISHED,
    PENDING_LIMIT_SECONDS,
    LineResult,
    Work,
    WorkItem,
    unrun_result,
)
from handler.observability import logger
from handler.ports.work_queue import WorkQueue
from handler.ports.work_store import WorkStore
from handler.work.finish import Finisher
from handler.work.lines import LineRunner


@dataclass(frozen=True, slots=True)
class Worker:
    lines: LineRunner
    store: WorkStore
    finisher: Finisher
    queue: WorkQueue
    check_seconds: int  # how long a pending line waits before it looks again
    now: Callable[[], float] = field(default=time.time)

    def run(self, item: WorkItem, deadline: Deadline) -> None:
        """Run the line unless it has its result; raise to have it tried again."""
        batch = self.store.get(item.batch_id)
        if batch is None:
            logger.error("work for an unknown batch dropped", batch_id=item.batch_id)
            return
        if batch.status not in FINISHED and self.store.result(item.batch_id, item.index) is None:
            if batch.cancelled_at is not None or not self._starts(batch):
                result = batch.cancelled_line(item)
                self.lines.abandon(result, owner=Owner(batch.key_id), code=result.body["code"])
            else:
                try:
                    result = self.lines.run(
                        item,
                        owner=Owner(batch.key_id),
                        deadline=deadline,
                        prefix=batch.images_prefix(item.index),
                    )
                except WorkPending:
                    if not self._look_again(item):
                        raise
                    return
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
        batch = self.store.get(item.batch_id)
        if batch is None:
            logger.error("dead work for an unknown batch dropped", batch_id=item.batch_id)
            return
        result = every_attempt_failed(item, self.store.last_failure(item.batch_id, item.index))
        self.lines.abandon(result, owner=Owner(batch.key_id), code="processing_failed")
        logger.error("line failed on every attempt", batch_id=item.batch_id, index=item.index)
        self.finisher.finish(item.batch_id)

    def _starts(self, batch: Work) -> bool:
        """Whether the line may run: an async job is marked started first, so a cancel
        either comes before it (and it never runs) or is refused."""
        if not batch.marked_started:
            return True
        started = self.store.transition(
            batch.id,
            from_=["in_progress"],
            to="in_progress",
            changes={"started_at": int(self.now())},
            absent=["cancelled_at"],
        )
        return started is not None

    def _look_again(self, item: WorkItem) -> bool:
        """Queue the line again, to look for its pending work later; False once it has been
        pending too long."""
        now = int(self.now())
        since = item.pending_since if item.pending_since is not None else now
        if now - since > PENDING_LIMIT_SECONDS:
            logger.error("line pending too long", batch_id=item.batch_id, index=item.index)
            return False
        self.queue.send([replace(item, pending_since=since)], delay_seconds=self.check_seconds)
        logger.info("line pending", batch_id=item.batch_id, index=item.index, seconds=now - since)
        return True


def every_attempt_failed(item: WorkItem, last: LineResult | None) -> LineResult:
    """The result of a line no attempt could run: the error the last attempt that got that
    far failed with, as the synchronous call would have answered it; or, if none did (they
    crashed), ``processing_failed``."""
    if last is None or last.status_code is None or "error" not in last.body:
        return unrun_result(
            item, "processing_failed", "The line failed on every attempt; it was not charged."
        )
    error = dict(last.body["error"])
    error["message"] = f"Every attempt failed; the last: {error['message']}"
    return replace(last, body={"error": error})
