"""Every key's credit ledger: its entries, written with the balance they change
(``money/stored/entries.py``)."""

from collections.abc import Iterator
from typing import Protocol

from handler.core.records.keys import ApiKeyRecord
from handler.core.records.ledger import Audit, EntryPage, LedgerEntry


class Entries(Protocol):
    def post(self, entry: LedgerEntry, *, once: str | None = None) -> ApiKeyRecord:
        """Change the key's balance by ``entry.amount`` and record ``entry`` in one
        transaction; the key after it. ``NotFound`` for no such key. With ``once`` (the
        fingerprint of the request it comes from, kept with the reference), an entry of the
        same reference posted before raises ``AlreadyPosted`` and changes nothing."""
        ...

    def page(self, key_id: str, *, limit: int, before: tuple[int, str] | None) -> EntryPage:
        """The key's entries, newest first, from just before ``before`` (an entry's place)."""
        ...

    def holds(self, key_id: str, at: int, reference: str) -> bool:
        """Whether the key has the entry of that place (a page's ``after``)."""
        ...

    def between(self, start_ms: int, end_ms: int) -> list[LedgerEntry]:
        """Every account's entries made in ``[start_ms, end_ms)``, oldest first."""
        ...

    def audits(self, *, now_ms: int, fold: bool = True) -> Iterator[Audit]:
        """Every key's balance against its ledger, each read as of one moment; keys from
        before the ledger get their opening entry first. ``fold``: old entries go into the
        key's checkpoint (the reconciler's, by the functions' clock)."""
        ...
