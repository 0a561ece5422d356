"""Card payments as they reach a key's ledger: exactly once each, in whatever order and however
often the card processor (Stripe) tells of them.

A payment is kept as a small state (what was credited, what was refunded, which disputes took
what) and every event is applied to that state, which says what entries it makes: a paid
checkout credits the key once; a refund takes back what Stripe's running total of refunds grew
by; a dispute takes back its amount, and gives it back if the dispute is won. A refund or a
dispute that arrives before the payment it is about is kept and taken when the credit comes.
Nothing is ever taken back beyond what was credited.
"""

from dataclasses import replace

from handler.core.records.ledger import LedgerEntry
from handler.core.records.payments import CardEvent, Disputed, DisputeWon, Paid, Payment, Refunded

ACTOR = "stripe"


def apply(
    payment: Payment | None, event: CardEvent, *, at: int
) -> tuple[Payment, list[LedgerEntry]]:
    """The payment after ``event``, and the entries that brings its key: none for an event
    seen before (or one about a payment not yet credited, kept for when it is)."""
    before = payment or Payment(event.payment_id)
    after = _after(before, event)
    if after is None:
        return before, []
    entries = []
    if isinstance(event, Paid) and before.key_id is None:
        entries.append(
            LedgerEntry(
                event.key_id, "topup", event.amount, at, event.session_id, ACTOR, source="card"
            )
        )
    target = min(_owed(after), after.credited) if after.key_id else 0
    if after.key_id is not None and target != before.taken:
        entries.append(
            LedgerEntry(
                after.key_id,
                "reversal",
                before.taken - target,
                at,
                _reference(event),
                ACTOR,
                reason=_REASONS[type(event)],
            )
        )
    return replace(after, taken=target), entries


def _after(state: Payment, event: CardEvent) -> Payment | None:
    match event:
        case Paid() if state.key_id is None:
            return replace(state, key_id=event.key_id, credited=event.amount)
        case Refunded() if event.total > state.refunded:
            return replace(state, refunded=event.total)
        case Disputed() if event.dispute_id not in state.disputes:
            return replace(state, disputes={**state.disputes, event.dispute_id: event.amount})
        case DisputeWon() if event.dispute_id not in state.won:  # even before its dispute
            return replace(state, won=state.won | {event.dispute_id})
    return None


def _owed(state: Payment) -> int:
    """What the key must give back: refunds, and disputes not won."""
    held = sum(amount for dispute, amount in state.disputes.items() if dispute not in state.won)
    return state.refunded + held


def _reference(event: CardEvent) -> str:
    match event:
        case Paid():
            return f"{event.payment_id}:before-credit"  # refunds or disputes that came first
        case Refunded():
            return f"{event.charge_id}:refunded:{event.total}"
        case Disputed():
            return event.dispute_id
        case DisputeWon():
            return f"{event.dispute_id}:won"


_REASONS = {
    Paid: "refunded or disputed before it was credited",
    Refunded: "card payment refunded",
    Disputed: "card payment disputed",
    DisputeWon: "dispute won: the payment stands",
}
