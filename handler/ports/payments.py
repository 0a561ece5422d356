"""Card payments' records, written with the ledger entries they make
(``money/stored/payments.py``)."""

from typing import Protocol

from handler.core.records.ledger import LedgerEntry
from handler.core.records.payments import Payment


class PaymentStore(Protocol):
    def get(self, payment_id: str) -> Payment | None: ...

    def record(
        self, after: Payment, entries: list[LedgerEntry], *, customer: str | None = None
    ) -> None:
        """Store ``after`` in place of the version it was read as, change its key's balance
        by the entries and write them, all at once; ``PaymentChanged`` if it was not the
        stored version any more, ``NoSuchKey`` if the entries' key is not here."""
        ...
