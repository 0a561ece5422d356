"""The credit ledger: every change of an account's balance is an entry, written in the same
transaction as the change, so an account's balance plus what its open reservations hold always
equals the sum of its entries. An entry's ``key_id`` is the account's (``core/keys.py``): for
every key from before accounts, the key's own.

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
from typing import Literal

from handler.core.amounts import amount_of
from handler.core.cursors import Held, place_of
from handler.core.errors import InvalidRequest
from handler.core.keys import account_of
from handler.core.records.charges import UsageRecord
from handler.core.records.keys import TopUpSource
from handler.core.records.ledger import ENTRY_ID_PREFIX, Audit, EntryKind, LedgerEntry
from handler.observability import logger
from handler.ports.ledger import Entries

MAX_REASON = 500


def entry_place(entry_id: str, held: Held | None = None) -> tuple[int, str]:
    """``(at, reference)`` of a public entry id (a page's ``after``), or a clear 400 (also,
    with ``held``, for one not in the caller's ledger)."""
    return place_of(ENTRY_ID_PREFIX, entry_id, "a transaction", held)


def settled_entry(usage: UsageRecord) -> LedgerEntry:
    """The entry of a settled request: a charge of what it delivered, or, when it delivered
    nothing, a refund of all it held (an entry of 0, so the key holder sees it)."""
    charge = usage.charge
    return LedgerEntry(
        key_id=account_of(usage.key_id),
        kind="charge" if usage.charged else "refund",
        amount=-usage.charged,
        at=usage.settled_at,
        reference=charge.request_id,
        actor="imagegate",
        model=charge.model,
        reserved=charge.amount,
        refunded=usage.refunded,
        placement=usage.placement,
        operator_cost=usage.operator_cost,
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
        account_of(key_id),
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
