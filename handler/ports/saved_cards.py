"""Charging a key's saved card off-session (``money/stored/stripe_cards.py``)."""

from typing import Protocol

from handler.core.records.payments import Reload


class SavedCards(Protocol):
    def charge_saved_card(self, customer: str, reload: Reload) -> str:
        """Charge the customer's saved card off-session (idempotent by ``reload.reference``);
        the PaymentIntent's id. ``CardDeclined`` if refused; ``PaymentsUnavailable`` if the
        processor could not be reached (try again)."""
        ...
