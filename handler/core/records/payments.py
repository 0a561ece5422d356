"""Card payments as records: a checkout asked for and made, the processor's events, a payment's
state, and an auto-reload to charge."""

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Paid:
    """A checkout was paid: ``amount`` (micro-units) goes on the key the session was for."""

    payment_id: str  # the PaymentIntent's
    session_id: str
    key_id: str
    amount: int
    customer: str | None = None


@dataclass(frozen=True, slots=True)
class Refunded:
    payment_id: str
    charge_id: str
    total: int  # everything refunded of the charge so far (Stripe's running total)


@dataclass(frozen=True, slots=True)
class Disputed:
    payment_id: str
    dispute_id: str
    amount: int


@dataclass(frozen=True, slots=True)
class DisputeWon:
    payment_id: str
    dispute_id: str


CardEvent = Paid | Refunded | Disputed | DisputeWon


@dataclass(frozen=True, slots=True)
class Payment:
    payment_id: str
    key_id: str | None = None  # None until its checkout completes
    credited: int = 0
    refunded: int = 0  # the running total of refunds seen
    taken: int = 0  # taken back from the key so far
    disputes: Mapping[str, int] = field(default_factory=dict)  # dispute → amount it holds
    won: frozenset[str] = frozenset()
    version: int = 0  # the stored state this one was read as (0: none yet)


@dataclass(frozen=True, slots=True)
class CheckoutOrder:
    key_id: str
    amount: int  # micro-units
    success_url: str
    cancel_url: str
    customer: str | None  # the key's customer at the processor, once it has one
    idempotency_key: str | None = None
    save_card: bool = False  # for the key's auto-reload: the card is kept for off-session use


@dataclass(frozen=True, slots=True)
class CheckoutSession:
    id: str
    url: str
    amount: int  # micro-units
    currency: str
    expires_at: int
    replayed: bool = False  # the first answer to the checkout's Idempotency-Key, again


@dataclass(frozen=True, slots=True)
class Reload:
    key_id: str
    reference: str  # the crossing's: Stripe's idempotency key for its one charge
    amount: int  # micro-units
    month: str  # the month whose total it counts in ("m202612")
