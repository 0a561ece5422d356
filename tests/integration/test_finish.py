"""A finished batch or job is final in its store before it is announced, and announced at
least once even when its finalizer dies announcing it."""

from collections.abc import Mapping
from typing import Any

import pytest

from handler import container
from handler.core.records.work import Job, LineResult, Work
from handler.work.finish import FINALIZATION_LEASE_SECONDS, Finisher

NOW = 1_800_000_000


class Spy:
    """A notifier that reads the batch from the store when it is told to announce it."""

    def __init__(self, fail_first: bool = False) -> None:
        self.seen: list[str] = []
        self._fail = fail_first

    def finished(self, batch: Work, event: Mapping[str, Any], webhook: Mapping[str, Any]) -> None:
        stored = container.work_store().get(batch.id)
        assert stored is not None
        self.seen.append(stored.status)
        if self._fail:
            self._fail = False
            raise RuntimeError("the finalizer died here")


def _job() -> str:
    jobs = container.work_store()
    jobs.create(Job("imgjob_1", "key1", "in_progress", NOW, total=1))
    jobs.record(LineResult("imgjob_1", 0, None, 400, {"error": {"message": "x"}}))
    return "imgjob_1"


def _finisher(spy: Spy, now: int) -> Finisher:
    return Finisher(
        container.work_store(),
        container.batch_files(),
        spy,
        container.delivery(),
        clock=lambda: now,
    )


@pytest.mark.usefixtures("aws")
def test_the_job_is_final_when_it_is_announced() -> None:
    job_id = _job()
    spy = Spy()
    _finisher(spy, NOW).finish(job_id)
    assert spy.seen == ["completed_with_errors"]
    stored = container.work_store().get(job_id)
    assert stored is not None
    assert stored.announced_at == NOW


@pytest.mark.usefixtures("aws")
def test_an_announcement_cut_short_is_made_by_a_later_finish() -> None:
    # Given a finalizer that stored the final status, then died announcing it
    job_id = _job()
    with pytest.raises(RuntimeError):
        _finisher(Spy(fail_first=True), NOW).finish(job_id)
    # When finish is called again within the lease, then after it
    within, after = Spy(), Spy()
    _finisher(within, NOW + 60).finish(job_id)
    _finisher(after, NOW + FINALIZATION_LEASE_SECONDS + 1).finish(job_id)
    again = Spy()
    _finisher(again, NOW + 2 * FINALIZATION_LEASE_SECONDS + 2).finish(job_id)
    # Then the first waits for the lease, the next announces it, and none does so twice
    assert (within.seen, after.seen, again.seen) == ([], ["completed_with_errors"], [])
