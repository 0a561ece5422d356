"""The credit ledger: every change of a key's balance is an entry, written in the same
transaction as the change, so a key's balance plus what its open reservations hold always
equals the sum of its entries.

- ``topup``: money put on the key (by card, an operator, the command line);
- ``adjustment``: an operator's correction, either sign, with its reason;
- ``charge`` / ``refund``: a request settled (what it delivered is charged; a request that
  delivered nothing is a refund of all it reserved);
- ``reversal``: a card payment taken back (refunded or disputed), or given back again.

A reservation is not an entry: it holds money the request's settlement then charges or
refunds, and the audit counts what is held.
"""

import hashlib
import json
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from handler.core.cursors import Held, place_id, place_of
from handler.core.errors import InvalidRequest
from handler.core.ports import ApiKeyRecord, TopUpSource, UsageRecord
from handler.money.amounts import amount_of
from handler.observability import logger

EntryKind = Literal["topup", "adjustment", "charge", "refund", "reversal"]
_ENTRY_ID_PREFIX = "txn_"
MAX_REASON = 500


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

    @property
    def entry_id(self) -> str:
        """The entry's public id, which is also its place in the key's ledger (a cursor)."""
        return place_id(_ENTRY_ID_PREFIX, self.at, self.reference)


def entry_place(entry_id: str, held: Held | None = None) -> tuple[int, str]:
    """``(at, reference)`` of a public entry id (a page's ``after``), or a clear 400 (also,
    with ``held``, for one not in the caller's ledger)."""
    return place_of(_ENTRY_ID_PREFIX, entry_id, "a transaction", held)


def settled_entry(usage: UsageRecord) -> LedgerEntry:
    """The entry of a settled request: a charge of what it delivered, or, when it delivered
    nothing, a refund of all it held (an entry of 0, so the key holder sees it)."""
    charge = usage.charge
    return LedgerEntry(
        key_id=usage.key_id,
        kind="charge" if usage.charged else "refund",
        amount=-usage.charged,
        at=usage.settled_at,
        reference=charge.request_id,
        actor="imagegate",
        model=charge.model,
        reserved=charge.amount,
        refunded=usage.refunded,
    )


def operator_entry(
    kind: Literal["topup", "adjustment"],
    key_id: str,
    amount: int,
    reason: str | None,
    *,
    actor: str,
    at: int,
    source: TopUpSource = "admin",
    reference: str | None = None,
) -> LedgerEntry:
    """An operator's money movement (micro-units; an adjustment signed and with its reason),
    or a clear 400. ``reference``: the movement's own (a retry's), else a fresh one."""
    if kind == "topup" and amount <= 0:
        raise InvalidRequest("A top-up must be more than 0.", param="amount")
    if kind == "adjustment" and amount == 0:
        raise InvalidRequest("An adjustment must not be 0.", param="amount")
    reason = _reason(reason)
    if kind == "adjustment" and reason is None:
        raise InvalidRequest("An adjustment needs its reason.", param="reason")
    return LedgerEntry(
        key_id,
        kind,
        amount,
        at,
        reference or fresh_reference(),
        actor,
        source=source if kind == "topup" else None,
        reason=reason,
    )


def typed_amount(text: str, *, signed: bool = False, param: str = "amount") -> int:
    """Micro-units of an amount as an operator types it: ``10.50``, or ``-2.50`` if ``signed``
    (a decimal point always, so no whole number is taken for units or for micro-units)."""
    try:
        micros = amount_of(text.strip())
    except ValueError as exc:
        raise InvalidRequest(f"{exc}.", param=param) from None
    if micros < 0 and not signed:
        raise InvalidRequest(f"{param} cannot be negative: {text!r}.", param=param)
    return micros


def movement_once(
    idempotency_key: str | None, kind: EntryKind, amount: int, reason: str | None
) -> tuple[str, str] | tuple[None, None]:
    """An operator's movement sent with an ``Idempotency-Key``: its reference (one per key in
    the key's ledger, for good) and its fingerprint (what makes a retry the same movement).
    Without one: neither (a fresh reference, posted as often as it is sent)."""
    if idempotency_key is None:
        return None, None
    reference = "idem_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]
    fingerprint = hashlib.sha256(json.dumps([kind, amount, reason]).encode()).hexdigest()
    return reference, fingerprint


def _reason(reason: str | None) -> str | None:
    if reason is None or not reason.strip():
        return None
    if len(reason) > MAX_REASON:
        raise InvalidRequest(f"A reason is at most {MAX_REASON} characters.", param="reason")
    return reason.strip()


def fresh_reference() -> str:
    """A reference for an entry that is about nothing else (an operator's)."""
    return f"op_{secrets.token_hex(8)}"


@dataclass(frozen=True, slots=True)
class EntryPage:
    entries: Sequence[LedgerEntry]
    has_more: bool


class AlreadyPosted(Exception):
    """An entry of this reference is in the key's ledger already (a retried movement);
    ``fingerprint``: the request it was posted for, as kept beside it."""

    def __init__(self, reference: str, fingerprint: str | None):
        super().__init__(reference)
        self.fingerprint = fingerprint


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

    def audits(self, *, now_ms: int, fold: bool = True) -> Iterator[Audit]:
        """Every key's balance against its ledger, each read as of one moment; keys from
        before the ledger get their opening entry first. ``fold``: old entries go into the
        key's checkpoint (the reconciler's, by the functions' clock)."""
        ...


def off_ledger(entries: Entries, *, now_ms: int) -> list[Audit]:
    """The keys whose balance and holds are not their ledger's sum, each logged: money was
    moved without its entry, or an entry written without its move (never by design)."""
    wrong = [audit for audit in entries.audits(now_ms=now_ms) if audit.difference]
    for audit in wrong:
        logger.error(
            "balance off its ledger",
            key_id=audit.key_id,
            balance=audit.balance,
            held=audit.held,
            entries_total=audit.entries_total,
            difference=audit.difference,
        )
    return wrong
