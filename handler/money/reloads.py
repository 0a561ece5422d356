"""Auto-reload: when a charge takes a key below its reload threshold, its saved card is charged
off-session for the key's reload amount, and the payment's event credits it as any card
payment does (``money/payments.py``).

At most once per crossing: the key's reload mark is set, with the month's reload total, in
one conditional write that only a key without the mark and under its monthly cap passes;
only money put on the key takes the mark away. The charge itself runs off the request's path
(a queue and its function), with the mark's reference as Stripe's idempotency key, so a
retried charge is the same charge. A declined card gives the month's total back and keeps
the mark: the key is not charged again until it is topped up.
"""

import contextlib
from collections.abc import Mapping

from handler.core.errors import ApiError, InvalidRequest
from handler.core.outcomes import CardDeclined
from handler.core.records.keys import ApiKeyRecord
from handler.core.records.payments import Reload
from handler.observability import count, logger
from handler.ports.reload_claims import ReloadClaims
from handler.ports.saved_cards import SavedCards


def reload_due(record: ApiKeyRecord, taken: int) -> bool:
    """Whether taking ``taken`` is what took ``record`` (the key after it) below its reload
    threshold, with a card to charge and no reload already under way."""
    policy = record.policy
    return (
        policy.reload_below is not None
        and policy.reload_amount is not None
        and record.stripe_customer is not None
        and not record.reload_pending
        and record.balance < policy.reload_below <= record.balance + taken
    )


def reload_if_due(
    claims: ReloadClaims | None, record: ApiKeyRecord, taken: int, now: float
) -> None:
    """Claim and queue a reload when ``taken`` crossed the threshold; never failing the
    charge that crossed it (it is logged)."""
    if claims is None or not reload_due(record, taken):
        return
    try:
        reload = claims.claim(record, now)
    except ApiError:
        logger.exception("reload not claimed", key_id=record.key_id)
        return
    if reload is None:
        return
    try:
        claims.queue(reload)
    except ApiError:
        logger.exception("reload not queued", key_id=record.key_id)
        with contextlib.suppress(ApiError):  # the next crossing may try again
            claims.give_back(reload, unmark=True)
        return
    logger.info("reload queued", key_id=record.key_id, amount=reload.amount)


def charge(
    cards: SavedCards, claims: ReloadClaims, record: ApiKeyRecord | None, reload: Reload
) -> None:
    """Run one queued reload: the card charged (its event credits the key), or declined."""
    if record is None or record.stripe_customer is None:
        claims.give_back(reload)
        return
    try:
        payment = cards.charge_saved_card(record.stripe_customer, reload)
    except CardDeclined:
        claims.give_back(reload)
        logger.warning("reload declined", key_id=reload.key_id, reference=reload.reference)
        count("ReloadsDeclined")
        return
    logger.info("reload charged", key_id=reload.key_id, payment_id=payment, amount=reload.amount)
    count("ReloadsCharged")


def check_reload_policy(reload: Mapping[str, int | None]) -> None:
    """Auto-reload is all three (threshold, amount, monthly cap) or none, and a cap that
    holds at least one reload."""
    given = [name for name, value in reload.items() if value is not None]
    if given and len(given) < len(reload):
        missing = next(name for name in reload if name not in given)
        raise InvalidRequest(
            "Auto-reload takes reload_below, reload_amount and reload_monthly_cap together.",
            param=missing,
        )
    if given and reload["reload_monthly_cap"] < reload["reload_amount"]:  # type: ignore[operator]
        raise InvalidRequest(
            "reload_monthly_cap must hold at least one reload_amount.", param="reload_monthly_cap"
        )
