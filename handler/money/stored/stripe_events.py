"""What a Stripe event says of an imagegate payment, read strictly.

Only the kinds imagegate acts on are read, and of them only what it needs, each field as
Stripe documents it (ids and currencies strings, amounts whole numbers of the currency's
smallest unit, metadata a map of strings), so a signed event of another shape is refused as
not Stripe's (``ValueError``), never half-read. Stripe adds fields to its objects as it
pleases: those are ignored. Events of other kinds are acknowledged unread.
"""

from collections.abc import Callable
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from handler.core.records.payments import CardEvent, Disputed, DisputeWon, Paid, Refunded

# Stripe's amounts: up to eight digits of the currency's smallest unit.
Minor = Annotated[int, Field(ge=0, le=99_999_999)]
_PAID = ("checkout.session.completed", "checkout.session.async_payment_succeeded")


class _StripeObject(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    id: Annotated[str, Field(min_length=1)]


class _Owned(_StripeObject):
    """A session or a PaymentIntent: imagegate's own carry their key in their metadata."""

    metadata: dict[str, str] | None = None

    @property
    def key_id(self) -> str | None:
        """The imagegate key a session or a PaymentIntent was made for (None: not ours)."""
        return (self.metadata or {}).get("key_id") or None


class _Session(_Owned):
    payment_status: str


class _PaidSession(_Session):
    payment_intent: Annotated[str, Field(min_length=1)]
    amount_total: Minor
    currency: str
    customer: str | None = None


class _Intent(_Owned):
    amount: Minor
    amount_received: Minor | None = None
    currency: str
    customer: str | None = None


class _Charge(_StripeObject):
    payment_intent: Annotated[str, Field(min_length=1)] | None = None
    amount_refunded: Minor
    currency: str


class _Dispute(_StripeObject):
    payment_intent: Annotated[str, Field(min_length=1)] | None = None
    amount: Minor
    currency: str
    status: str


def card_event(kind: str, thing: object, micros: Callable[[int, str], int]) -> CardEvent | None:
    """What a Stripe event says of an imagegate payment, in micro-units; None for the rest;
    ``ValueError`` for an object that is not what Stripe sends."""
    if kind in _PAID:
        session = _Session.model_validate(thing)
        if session.key_id is None or session.payment_status != "paid":
            return None  # another integration's, or paid later (async_payment_succeeded)
        paid = _PaidSession.model_validate(thing)
        amount = micros(paid.amount_total, paid.currency)
        return Paid(paid.payment_intent, paid.id, session.key_id, amount, paid.customer)
    if kind == "payment_intent.succeeded":
        # A reload's (off-session); a checkout's too, which its session credits first.
        intent = _Intent.model_validate(thing)
        if intent.key_id is None:
            return None
        received = intent.amount if intent.amount_received is None else intent.amount_received
        amount = micros(received, intent.currency)
        return Paid(intent.id, intent.id, intent.key_id, amount, intent.customer)
    if kind == "charge.refunded":
        charge = _Charge.model_validate(thing)
        if charge.payment_intent is None:
            return None
        total = micros(charge.amount_refunded, charge.currency)
        return Refunded(charge.payment_intent, charge.id, total)
    if kind in ("charge.dispute.created", "charge.dispute.closed"):
        return _dispute_event(kind, _Dispute.model_validate(thing), micros)
    return None


def _dispute_event(
    kind: str, dispute: _Dispute, micros: Callable[[int, str], int]
) -> CardEvent | None:
    inquiry = dispute.status.startswith("warning_")  # no funds withdrawn
    if dispute.payment_intent is None or inquiry:
        return None
    if kind == "charge.dispute.created":
        amount = micros(dispute.amount, dispute.currency)
        return Disputed(dispute.payment_intent, dispute.id, amount)
    return DisputeWon(dispute.payment_intent, dispute.id) if dispute.status == "won" else None
