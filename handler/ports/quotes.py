"""Quotes, kept for the few minutes they hold (``money/stored/quotes.py``)."""

from typing import Protocol

from handler.core.records.quotes import PricedTerms, Quote


class QuoteStore(Protocol):
    def put(self, quote: Quote) -> None:
        """Keep a new quote until a while after it expires."""
        ...

    def claim(
        self, quote_id: str, *, key_id: str, terms: PricedTerms, request_id: str, now: int
    ) -> Quote | None:
        """In one conditional write: hold the quote for ``request_id`` if it is ``key_id``'s,
        for ``terms``, not expired at ``now`` and held for no other request (a request may
        claim its quote again: a retry). Returns the quote as it stands after the write (its
        ``used_by`` is ``request_id``), or as it stood if the write was refused; None if
        there is no such quote."""
        ...

    def release(self, quote_id: str, request_id: str) -> None:
        """Let the quote be claimed again, if ``request_id`` still holds it (its generation
        delivered nothing). Nothing if another holds it, or it is gone."""
        ...
