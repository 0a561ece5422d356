"""The paid path's two ends: the price reserved before the work, refunded if the work fails,
and what a backend delivered counted within what was reserved for.

A synchronous request, buffered or streamed, runs its work inside ``paid`` (or
``refunded_on_failure`` once it holds its reservation) and settles what ``delivered`` kept.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from handler.core.errors import ApiError, BackendError, StorageError
from handler.core.inference import GeneratedImage
from handler.core.records.keys import Credentials
from handler.core.spec import GenerationSpec
from handler.money.charging import Billing, Reservation
from handler.money.policy import Meter
from handler.observability import logger


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


@contextmanager
def paid(
    billing: Billing, payer: Credentials, spec: GenerationSpec, meter: Meter
) -> Iterator[Reservation]:
    """The request's price reserved for the work inside, refunded if that work fails. The
    caller settles what was delivered once the block is done."""
    reservation = billing.reserve(payer, spec, meter)
    with refunded_on_failure(billing, reservation, spec.request_id):
        yield reservation


@contextmanager
def refunded_on_failure(
    billing: Billing, reservation: Reservation, request_id: str
) -> Iterator[None]:
    """If the work inside fails (or is abandoned: a stream its client closed), the
    reservation is settled as nothing delivered."""
    try:
        yield
    except BaseException as exc:
        code = exc.code if isinstance(exc, ApiError) else "internal_error"
        try:
            billing.settle(reservation, 0, error_code=code)
        except StorageError:  # the client hears of the first failure; reconcile refunds
            logger.exception("settling a failed request failed", request_id=request_id)
        raise
