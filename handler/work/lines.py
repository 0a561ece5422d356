"""Running queued lines (batch lines, async jobs): each paid for by the key that submitted
it, its result recorded in the write that settles its charge, so a retried line finds either
both or neither."""

from dataclasses import dataclass

from handler.core.deadline import Deadline
from handler.core.errors import ApiError, StorageError, WorkPending
from handler.core.image_input import from_request
from handler.core.outcomes import ResultRecorded
from handler.core.records.charges import WindowUpkeep
from handler.core.records.keys import Owner
from handler.core.records.work import LineResult, WorkItem, error_result, line_request_id, retryable
from handler.core.schemas import parse_request
from handler.core.spec import build_spec
from handler.generation.service import GenerationService
from handler.money.charging import Billing, Reservation
from handler.money.policy import Meter
from handler.observability import logger
from handler.ports.keys import KeyStore
from handler.ports.work_store import WorkStore


@dataclass(frozen=True, slots=True)
class LineRunner:
    generation: GenerationService  # the paid path's generate-and-keep
    keys: KeyStore
    billing: Billing
    store: WorkStore

    def run(self, item: WorkItem, *, owner: Owner, deadline: Deadline, prefix: str) -> LineResult:
        """Run one line of queued work (a batch line, an async job) paid for by ``owner``.

        Its images are kept under ``prefix`` and its result is recorded in the write that
        settles its charge. A mistake of the client's (a bad request, a refused charge,
        filtered content) is the line's result, recorded unpaid; a failure of ours raises,
        refunded, for the queue to try the line again. ``WorkPending`` raises with the charge
        still reserved: the attempt that collects the work settles it (should none come, the
        dead-letter path or reconciliation refunds it).
        """
        request_id = line_request_id(item.batch_id, item.index)
        try:
            request = parse_request(item.body)
            sources = from_request(request)
            spec = build_spec(
                self.generation.catalog.get(request.model), request, request_id, sources
            )
            reservation = self.billing.reserve(owner, spec, Meter())
        except ApiError as exc:
            if retryable(exc):
                self._note_failure(item, exc)
                raise
            refused = error_result(item, exc)
            self.store.record(refused)
            return refused
        try:
            kept = self.generation.keep(request, spec, deadline, prefix)
        except WorkPending:
            raise  # its reservation stays open for the attempt that collects the work
        except ApiError as exc:
            if retryable(exc):
                self.settle(reservation, 0, None, exc.code)
                self._note_failure(item, exc)
                raise
            failed = error_result(item, exc)
            self.settle(reservation, 0, failed, exc.code)
            return failed
        except BaseException:
            self.settle(reservation, 0, None, "internal_error")
            raise
        cost = len(kept.data) * reservation.charge.unit_price
        kept.cost = cost
        kept.remaining_balance = reservation.balance + reservation.charge.amount - cost
        body = kept.model_dump(mode="json", exclude_none=True)
        result = LineResult(item.batch_id, item.index, item.custom_id, 200, body, cost)
        self.settle(reservation, len(kept.data), result, None)
        return result

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
        charge = record.open_reservations.get(result.request_id) if record else None
        if record is None or charge is None:
            self.store.record(result)
            return
        reservation = Reservation(owner.key_id, charge, record.balance, WindowUpkeep())
        self.settle(reservation, 0, result, code)

    def settle(
        self, reservation: Reservation, delivered: int, result: LineResult | None, code: str | None
    ) -> None:
        """Settle an attempt's reservation for ``delivered`` images, recording ``result`` in
        the same write; if another attempt recorded the line first, release ours instead."""
        try:
            self.billing.settle(reservation, delivered, error_code=code, result=result)
        except ResultRecorded:
            # Another attempt recorded the line, settling its charge: release ours, if it was
            # not that same reservation.
            self.billing.release(reservation, error_code="duplicate_attempt")
            logger.info(
                "line recorded by another attempt", request_id=reservation.charge.request_id
            )
