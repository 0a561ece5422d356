"""The card processor a top-up is paid through (``money/stored/stripe_cards.py``)."""

from typing import Protocol

from handler.core.records.payments import CardEvent, CheckoutOrder, CheckoutSession, Reload


class CardProcessor(Protocol):
    def checkout(self, order: CheckoutOrder) -> CheckoutSession: ...

    def charge_saved_card(self, customer: str, reload: Reload) -> str: ...

    def event(self, payload: bytes, signature: str | None) -> CardEvent | None:
        """The verified event (``InvalidRequest`` if its signature is missing, wrong or
        stale); None for one that is not about an imagegate payment."""
        ...
