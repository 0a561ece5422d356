"""The paid path, the one way any generation is paid for: the price reserved before the work,
the work done inside ``paying``, and on leaving it what was delivered charged and the rest
refunded, or everything refunded if the work failed.

A synchronous request (buffered or streamed), an async job and a batch line all take it; the
buffered ones through ``generating``, a stream by reserving before its first byte. A
queued line passes its ``WorkItem``: its result, good or bad, is then written in the same
transaction that settles its charge, so a retried line finds either both or neither.
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, TypeVar

from handler.core.deadline import Deadline
from handler.core.errors import ApiError, BackendError, StorageError, WorkPending
from handler.core.inference import GeneratedImage
from handler.core.outcomes import ResultRecorded
from handler.core.records.charges import Trail
from handler.core.records.keys import Payer
from handler.core.records.work import LineResult, WorkItem, error_result, retryable
from handler.core.spec import GenerationSpec
from handler.money.charging import Charging, Reservation
from handler.money.policy import Meter
from handler.money.quotes import Quotes
from handler.observability import logger


class Answer(Protocol):
    """What a delivery answers with: its images, and room for what they cost."""

    @property
    def data(self) -> Sequence[object]: ...

    cost: int | None
    remaining_balance: int | None

    def model_dump(self, *, mode: str, exclude_none: bool) -> dict[str, Any]: ...


A = TypeVar("A", bound=Answer)


@dataclass
class Receipt:
    """What the work inside ``paying`` delivered; once it is left, what that cost and, for a
    queued line, its result as recorded."""

    reservation: Reservation
    delivered: int = 0
    answer: Answer | None = None
    result: LineResult | None = None
    trail: Trail = field(default_factory=Trail)  # each placement tried, verdicts

    @property
    def cost(self) -> int:
        return self.delivered * self.reservation.charge.unit_price

    @property
    def remaining_balance(self) -> int:
        """The key's balance once this request is settled."""
        return self.reservation.balance + self.reservation.charge.amount - self.cost

    def bill(self, answer: A) -> A:
        """Count ``answer``'s images as delivered and write their cost on it."""
        self.delivered = len(answer.data)
        answer.cost, answer.remaining_balance = self.cost, self.remaining_balance
        self.answer = answer
        return answer

    def line_result(self, line: WorkItem) -> LineResult:
        body = self.answer.model_dump(mode="json", exclude_none=True) if self.answer else {}
        return LineResult(line.batch_id, line.index, line.custom_id, 200, body, self.cost)


class Placed(Protocol):
    """Where a request's images are made (``generation/routing.py``'s ``Routed``): its
    placements chosen, each one tried recorded on its ``trail``."""

    @property
    def trail(self) -> Trail: ...

    def generate(self, spec: GenerationSpec, deadline: Deadline) -> list[GeneratedImage]: ...


@dataclass(frozen=True, slots=True)
class PaidGeneration:
    charging: Charging
    quotes: Quotes

    def reserve(self, payer: Payer, spec: GenerationSpec, meter: Meter) -> Reservation:
        """Reserve ``spec``'s price: its quote's, or the catalog's; within its ``max_cost``
        (refused before anything is reserved if not)."""
        price = self.quotes.unit_price(payer.key_id, spec)
        try:
            reservation = self.charging.reserve(payer, spec, meter, price=price)
        except BaseException:
            self.quotes.release(spec.quote_id, spec.request_id)
            raise
        return replace(reservation, quote_id=spec.quote_id)

    @contextmanager
    def generating(
        self,
        payer: Payer,
        spec: GenerationSpec,
        meter: Meter,
        placed: Placed,
        deadline: Deadline,
        line: WorkItem | None = None,
    ) -> Iterator[tuple[list[GeneratedImage], Receipt]]:
        """A buffered generation's price reserved, then its images made where ``placed``
        says, inside ``paying``: the caller delivers them and bills the receipt."""
        reservation = self.reserve(payer, spec, meter)
        with self.paying(reservation, line=line, trail=placed.trail) as receipt:
            yield placed.generate(spec, deadline), receipt

    @contextmanager
    def paying(
        self,
        reservation: Reservation,
        line: WorkItem | None = None,
        trail: Trail | None = None,
    ) -> Iterator[Receipt]:
        """Settle the reservation for what the work inside delivered (``Receipt.bill``), or
        refund it all if the work fails or is abandoned (a stream its client closed).

        For a queued ``line``, its result is written with the settlement: its answer, or a
        failure that is the line's own (the client's mistake, filtered content). A failure of
        ours is refunded with no result, for the queue to try the line again; ``WorkPending``
        leaves the reservation open for the attempt that collects the work. ``trail``: where the
        work records each placement it tried, its cost, and moderation's verdicts, settled
        with it."""
        receipt = Receipt(reservation, trail=Trail() if trail is None else trail)
        try:
            yield receipt
        except BaseException as exc:
            if line is not None and isinstance(exc, WorkPending):
                raise
            if not isinstance(exc, ApiError):
                self._refund(receipt, "internal_error", None)
                raise
            failed = error_result(line, exc) if line and not retryable(exc) else None
            self._refund(receipt, exc.code, failed)
            raise
        receipt.result = receipt.line_result(line) if line else None
        self.settle(reservation, receipt.delivered, None, receipt.result, receipt.trail)

    def _refund(self, receipt: Receipt, code: str | None, failed: LineResult | None) -> None:
        """Settle a failed attempt as nothing delivered. If that cannot be written, the client
        (or the queue) hears of the first failure and reconciliation refunds; a line's result
        that could not be written fails the attempt instead, to be tried again."""
        reservation = receipt.reservation
        try:
            if not self.settle(reservation, 0, code, failed, receipt.trail):
                return  # the attempt that recorded the line keeps its quote
        except StorageError:
            if failed is not None:
                raise
            request_id = reservation.charge.request_id
            logger.exception("settling a failed request failed", request_id=request_id)
        self.quotes.release(reservation.quote_id, reservation.charge.request_id)

    def settle(
        self,
        reservation: Reservation,
        delivered: int,
        code: str | None,
        result: LineResult | None = None,
        trail: Trail | None = None,
    ) -> bool:
        """Settle for ``delivered`` images, recording a line's ``result`` in the same write; if
        another attempt recorded the line first, release this one's reservation instead (and
        say so: False)."""
        try:
            self.charging.settle(
                reservation, delivered, error_code=code, result=result, trail=trail
            )
        except ResultRecorded:
            self.charging.release(reservation, error_code="duplicate_attempt")
            logger.info(
                "line recorded by another attempt", request_id=reservation.charge.request_id
            )
            return False
        return True


def delivered(spec: GenerationSpec, generated: list[GeneratedImage]) -> list[GeneratedImage]:
    """What a backend returned, never more than was asked (and reserved for); none at all is
    the backend's error."""
    generated = generated[: spec.n]
    if not generated:
        raise BackendError(f"{spec.model.id} returned no images.")
    if len(generated) < spec.n:
        logger.warning(
            "partial delivery",
            request_id=spec.request_id,
            model=spec.model.id,
            asked=spec.n,
            delivered=len(generated),
        )
    return generated
