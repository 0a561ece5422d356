"""A card payment's events, in any order and any number of times, end in one balance."""

import itertools
import random

import pytest

from handler.core.records.payments import CardEvent, Disputed, DisputeWon, Paid, Payment, Refunded
from handler.money.payments import apply

PAID = Paid("pi_1", "cs_1", "key", 10_000_000, "cus_1")


def _run(events: list[CardEvent]) -> tuple[Payment | None, int]:
    payment: Payment | None = None
    balance = 0
    for at, event in enumerate(events):
        payment, entries = apply(payment, event, at=at)
        assert all(entry.key_id == "key" for entry in entries)
        balance += sum(entry.amount for entry in entries)
    return payment, balance


@pytest.mark.parametrize(
    ("events", "balance"),
    [
        ([PAID], 10_000_000),
        ([PAID, Refunded("pi_1", "ch_1", 3_000_000)], 7_000_000),
        ([PAID, Refunded("pi_1", "ch_1", 3_000_000), Refunded("pi_1", "ch_1", 10_000_000)], 0),
        ([PAID, Disputed("pi_1", "dp_1", 10_000_000)], 0),
        ([PAID, Disputed("pi_1", "dp_1", 10_000_000), DisputeWon("pi_1", "dp_1")], 10_000_000),
        # A refund and a dispute of the same money never take more than was paid
        ([PAID, Refunded("pi_1", "ch_1", 4_000_000), Disputed("pi_1", "dp_1", 10_000_000)], 0),
    ],
)
def test_each_story_ends_in_its_balance(events: list[CardEvent], balance: int) -> None:
    for order in itertools.permutations(events):
        assert _run(list(order))[1] == balance, order


def test_any_order_with_redeliveries_ends_in_the_same_balance() -> None:
    rng = random.Random(7)
    story: list[CardEvent] = [
        PAID,
        Refunded("pi_1", "ch_1", 1_000_000),
        Refunded("pi_1", "ch_1", 2_500_000),
        Disputed("pi_1", "dp_1", 7_500_000),
        DisputeWon("pi_1", "dp_1"),
    ]
    for _ in range(300):
        events = story + rng.choices(story, k=rng.randint(0, 6))
        rng.shuffle(events)
        payment, balance = _run(events)
        assert balance == 10_000_000 - 2_500_000
        assert payment is not None
        assert payment.taken == 2_500_000


def test_an_event_seen_before_changes_nothing() -> None:
    payment, entries = apply(None, PAID, at=1)
    assert [(e.kind, e.amount, e.source) for e in entries] == [("topup", 10_000_000, "card")]
    again, none = apply(payment, PAID, at=2)
    assert (again, none) == (payment, [])


def test_a_dispute_inquiry_takes_nothing() -> None:
    from handler.money.stored.stripe_events import card_event

    def micros(minor: int, currency: str) -> int:
        return minor * 10_000

    inquiry = {"id": "dp_1", "payment_intent": "pi_1", "amount": 1000, "currency": "usd"}
    assert (
        card_event(
            "charge.dispute.created", {**inquiry, "status": "warning_needs_response"}, micros
        )
        is None
    )
    assert (
        card_event("charge.dispute.closed", {**inquiry, "status": "warning_closed"}, micros) is None
    )
    assert card_event(
        "charge.dispute.created", {**inquiry, "status": "needs_response"}, micros
    ) == (Disputed("pi_1", "dp_1", 10_000_000))
