"""Running queued lines (batch lines, async jobs): each paid for by the key that submitted
it, its result recorded in the write that settles its charge, so a retried line finds either
both or neither."""

from dataclasses import dataclass

from handler.core.deadline import Deadline
from handler.core.errors import ApiError, StorageError, WorkPending
from handler.core.records.charges import WindowUpkeep
from handler.core.records.keys import Owner
from handler.core.records.work import LineResult, WorkItem, error_result, line_request_id, retryable
from handler.core.schemas import parse_request
from handler.generation.service import GenerationService
from handler.money.charging import Reservation
from handler.money.paid import PaidGeneration
from handler.money.policy import Meter
from handler.observability import logger
from handler.ports.keys import KeyStore
from handler.ports.work_store import WorkStore


@dataclass(frozen=True, slots=True)
class LineRunner:
    generation: GenerationService  # generates and keeps, unpaid
    paid: PaidGeneration
    keys: KeyStore
    store: WorkStore

    def run(self, item: WorkItem, *, owner: Owner, deadline: Deadline, prefix: str) -> LineResult:
        """Run one line of queued work (a batch line, an async job) paid for by ``owner``.

        Its images are kept under ``prefix`` and its result is recorded in the write that
        settles its charge (``money/paid.py``). A mistake of the client's (a bad request, a
        refused charge, filtered content) is the line's result, recorded unpaid; a failure of
        ours raises, refunded, for the queue to try the line again. ``WorkPending`` raises
        with the charge still reserved: the attempt that collects the work settles it (should
        none come, the dead-letter path or reconciliation refunds it).
        """
        generation = self.generation
        try:
            request = parse_request(item.body)
            spec = generation.queued_spec(request, line_request_id(item.batch_id, item.index))
            with generation.paying(spec, deadline, owner, Meter(), line=item) as (images, paid):
                paid.bill(generation.keep(request, spec, images, prefix))
        except WorkPending:
            raise  # its reservation stays open for the attempt that collects the work
        except ApiError as exc:
            if retryable(exc):
                self._note_failure(item, exc)
                raise
            failed = error_result(item, exc)
            # Refused before it was charged, it is recorded here; once charged, its refund
            # recorded it (and this write finds it there).
            self.store.record(failed)
            return failed
        assert paid.result is not None  # paying records a line's result
        return paid.result

    def _note_failure(self, item: WorkItem, exc: ApiError) -> None:
        """What this attempt failed with, for the line's result should no attempt pass."""
        try:
            self.store.note_failure(error_result(item, exc))
        except StorageError:
            logger.exception("failure not noted", batch_id=item.batch_id, index=item.index)

    def abandon(self, result: LineResult, *, owner: Owner, code: str) -> None:
        """Record a line that will not run again, refunding in the same write whatever
        reservation its last attempt left open (it died, or its work was pending)."""
        record = self.keys.get(owner.key_id)
        funds = record.funds if record else None
        charge = funds.open_reservations.get(result.request_id) if funds else None
        if funds is None or charge is None:
            self.store.record(result)
            return
        reservation = Reservation(owner.key_id, charge, funds.balance, WindowUpkeep())
        self.paid.settle(reservation, 0, code, result)
