"""A line whose backend work is pending is queued again, delayed, until a limit."""

from collections.abc import Sequence
from typing import Any

import pytest

from handler.core.deadline import Deadline
from handler.core.errors import WorkPending
from handler.core.records.work import PENDING_LIMIT_SECONDS, Job, WorkItem
from handler.stores.queue import from_message, to_message
from handler.work.worker import Worker

NOW = 1_800_000_000


class Pending:
    """Runs lines whose backend is still at work."""

    def run(self, item: WorkItem, **kwargs: Any) -> Any:
        raise WorkPending("still running")


class Jobs:
    def get(self, batch_id: str) -> Job:
        return Job(batch_id, "key1", "in_progress", NOW - 60, total=1)

    def result(self, batch_id: str, index: int) -> None:
        return None

    def transition(self, batch_id: str, **kwargs: Any) -> Job:  # the job's start
        return self.get(batch_id)


class Queue:
    def __init__(self) -> None:
        self.sent: list[tuple[list[WorkItem], int]] = []

    def send(self, items: Sequence[WorkItem], *, delay_seconds: int = 0) -> None:
        # through the message's text, as SQS would carry it
        self.sent.append(([from_message(to_message(item)) for item in items], delay_seconds))


class Finisher:
    def finish(self, batch_id: str) -> None:
        raise AssertionError("a pending line has not finished")


def _worker(queue: Queue) -> Worker:
    return Worker(
        Pending(),  # type: ignore[arg-type]
        Jobs(),  # type: ignore[arg-type]
        Finisher(),  # type: ignore[arg-type]
        queue,
        check_seconds=45,
        now=lambda: NOW,
    )


def test_a_pending_line_is_queued_again_to_look_later() -> None:
    queue = Queue()
    item = WorkItem("job_1", 0, None, {"prompt": "a fox"})
    _worker(queue).run(item, Deadline.after(60))
    assert queue.sent == [([WorkItem("job_1", 0, None, {"prompt": "a fox"}, NOW)], 45)]
    # and a second look keeps the time it first became pending
    queue.sent.clear()
    _worker(queue).run(WorkItem("job_1", 0, None, {}, NOW - 600), Deadline.after(60))
    assert queue.sent[0][0][0].pending_since == NOW - 600


def test_a_line_pending_too_long_fails_as_any_other() -> None:
    queue = Queue()
    stale = WorkItem("job_1", 0, None, {}, NOW - PENDING_LIMIT_SECONDS - 1)
    with pytest.raises(WorkPending):
        _worker(queue).run(stale, Deadline.after(60))
    assert queue.sent == []
