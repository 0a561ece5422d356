"""A key's credit ledger as records: its entries, a page of them, and an audit of a balance
against them (the rules are ``money/ledger.py``)."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from handler.core.cursors import place_id
from handler.core.records.keys import TopUpSource

EntryKind = Literal["topup", "adjustment", "charge", "refund", "reversal"]


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    key_id: str
    kind: EntryKind
    amount: int  # signed micro-units: what the entry changed the balance by
    at: int  # unix milliseconds
    reference: str  # unique within the key: a request id, a payment's, a refund's, or fresh
    actor: str  # who made the change: an IAM principal, "stripe", "cli:<user>", "imagegate"
    source: TopUpSource | None = None  # topup only
    reason: str | None = None  # adjustments and reversals
    # A settled request: what it reserved and what of that came back.
    model: str | None = None
    reserved: int | None = None
    refunded: int | None = None
    # ... and, for the operator only, where it ran and what that cost them (micro-units)
    placement: str | None = None
    operator_cost: int | None = None

    @property
    def entry_id(self) -> str:
        """The entry's public id, which is also its place in the key's ledger (a cursor)."""
        return place_id(ENTRY_ID_PREFIX, self.at, self.reference)


@dataclass(frozen=True, slots=True)
class EntryPage:
    entries: Sequence[LedgerEntry]
    has_more: bool


@dataclass(frozen=True, slots=True)
class Audit:
    """One key's balance held against its ledger."""

    key_id: str
    balance: int
    held: int  # what its open reservations hold
    entries_total: int

    @property
    def difference(self) -> int:
        return self.balance + self.held - self.entries_total


ENTRY_ID_PREFIX = "txn_"
