"""The credit ledger's items: partition ``key_id``, sort ``<at, ms>#<reference>`` for an
entry, so a key's entries are one range query newest first. Beside them, in the key's
partition: ``ref#<reference>``, the mark that a reference was posted once (a card payment, say),
and ``checkpoint``, the audit's running total of the entries it has folded (digits sort before
both, so a range below ``:`` holds entries only)."""

import json
import secrets
from typing import TYPE_CHECKING, Any

from handler.aws.dynamo import item_of, plain
from handler.aws.expressions import attr
from handler.aws.writes import Put
from handler.core.records.keys import AuditEntry
from handler.core.records.ledger import LedgerEntry

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef, TransactWriteItemTypeDef

    Item = dict[str, AttributeValueTypeDef]

AUDIT = "audit#"  # an operator's change of a key: after every entry
ENTRIES_BELOW = ":"  # the first character after the digits: every entry's sort key is below
_OPTIONAL = ("source", "reason", "model", "reserved", "refunded", "placement", "operator_cost")


def entry_sort_key(at: int, reference: str) -> str:
    return f"{at:013d}#{reference}"


def entry_put(table: str, entry: LedgerEntry) -> "dict[str, TransactWriteItemTypeDef]":
    """The write of an entry, for the transaction that changes the balance by it."""
    item = {
        "key_id": entry.key_id,
        "sk": entry_sort_key(entry.at, entry.reference),
        "kind": entry.kind,
        "amount": entry.amount,
        "at": entry.at,
        "reference": entry.reference,
        "actor": entry.actor,
        **{name: getattr(entry, name) for name in _OPTIONAL},
    }
    return {"entry": Put(table, item_of(item)).require(attr("sk").not_exists()).write()}


def once_place(key_id: str, reference: str) -> "Item":
    return item_of({"key_id": key_id, "sk": f"ref#{reference}"})


def once_put(
    table: str, key_id: str, reference: str, fingerprint: str
) -> "dict[str, TransactWriteItemTypeDef]":
    """The mark that ``reference`` was posted, for the request of ``fingerprint``: a second
    posting of it is refused."""
    item = {**once_place(key_id, reference), **item_of({"fingerprint": fingerprint})}
    return {"once": Put(table, item).require(attr("sk").not_exists()).write()}


def ledger_entry(item: "dict[str, Any]") -> LedgerEntry:
    values = plain(item)
    return LedgerEntry(
        key_id=values["key_id"],
        kind=values["kind"],
        amount=values["amount"],
        at=values["at"],
        reference=values["reference"],
        actor=values["actor"],
        **{name: values.get(name) for name in _OPTIONAL},
    )


def audit_put(table: str, audit: AuditEntry) -> "dict[str, TransactWriteItemTypeDef]":
    """The write of an operator's change of a key, for the transaction that makes it."""
    item = {
        "key_id": audit.key_id,
        "sk": f"{AUDIT}{audit.at:013d}#{secrets.token_hex(4)}",
        "action": audit.action,
        "actor": audit.actor,
        "at": audit.at,
        "details": json.dumps(audit.details, sort_keys=True, default=sorted),
    }
    return {"audit": Put(table, item_of(item)).write()}
