"""Every key's balance held against its ledger (``money/ledger.py``), each as of one moment.

A key's item and its entries cannot be read in one transaction, so the key is read, then its
entries, then the key again: when the key is as it was, no write came between (every write
that changes an entry total changes the key too). Entries older than ``FOLD_AFTER_MS`` are
folded into the key's checkpoint, so a run reads only recent entries; no write commits that
long after the time in its sort key (Lambda's longest run is 15 minutes).

A key from before the ledger gets an opening entry, at its first audit, of whatever its
balance and holds are beyond the entries it has: from then on it is held to its ledger. A key
from before accounts gets its account named (its own id: ``accounts.backfill_account``), so the
account's list of keys shows it. Both are done once, and the next run does what one left.
"""

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from handler.aws.dynamo import (
    ConditionFailed,
    Transaction,
    TransactionRefused,
    conditional,
    item_of,
    plain,
    queried,
)
from handler.aws.errors import aws_errors
from handler.aws.expressions import attr
from handler.aws.writes import Put, Update
from handler.core.keys import account_of
from handler.core.records.ledger import Audit, LedgerEntry
from handler.money.stored.accounts import backfill_account
from handler.money.stored.entry_items import ENTRIES_BELOW, entry_put
from handler.observability import count, logger

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

FOLD_AFTER_MS = 60 * 60 * 1000
CHECKPOINT = "checkpoint"
_READS = 3  # a key this busy is audited on the next run
_PAGE = 1000


def audits(
    client: "DynamoDBClient", keys: str, ledger: str, *, now_ms: int, fold: bool = True
) -> Iterator[Audit]:
    with aws_errors("Could not read the API keys."):
        pages = client.get_paginator("scan").paginate(
            TableName=keys,
            ProjectionExpression="key_id, account_id, balance, spent, reservations, ledgered",
            ConsistentRead=True,
        )
        for page in pages:
            for item in page["Items"]:
                key_id = item["key_id"]["S"]
                if "account_id" not in item and backfill_account(client, keys, key_id):
                    logger.info("account named", key_id=key_id)
                if account_of(key_id) != key_id:
                    continue  # a key apart from its account holds no money of its own
                audit = _audited(client, keys, ledger, plain(item), now_ms, fold)
                if audit is not None:
                    yield audit


def _audited(
    client: "DynamoDBClient",
    keys: str,
    ledger: str,
    key: dict[str, Any],
    now_ms: int,
    fold: bool,
) -> Audit | None:
    key_id = key["key_id"]
    with aws_errors(f"Could not audit key {key_id}."):
        checkpoint = plain(
            client.get_item(
                TableName=ledger,
                Key={"key_id": {"S": key_id}, "sk": {"S": CHECKPOINT}},
                ConsistentRead=True,
            ).get("Item", {})
        )
        if fold:  # what no write can still come before needs no snapshot of the key
            checkpoint = _fold(
                client,
                ledger,
                key_id,
                checkpoint,
                _entries_after(client, ledger, key_id, checkpoint.get("through", "")),
                now_ms,
            )
        through, folded = checkpoint.get("through", ""), checkpoint.get("total", 0)
        for _ in range(_READS):
            entries = _entries_after(client, ledger, key_id, through)
            again = plain(
                client.get_item(
                    TableName=keys,
                    Key={"key_id": {"S": key_id}},
                    ProjectionExpression="key_id, balance, spent, reservations, ledgered",
                    ConsistentRead=True,
                )["Item"]
            )
            if _state(again) == _state(key):
                break
            key = again
        else:
            logger.warning("key too busy to audit this run", key_id=key_id)
            count("LedgerAuditsSkipped")
            return None
    held = sum(r["n"] * r["unit_price"] for r in key.get("reservations", {}).values())
    audit = Audit(key_id, key.get("balance", 0), held, folded + sum(a for _, a in entries))
    if "ledgered" not in key:
        return _opened(client, keys, ledger, key, audit, now_ms)
    return audit


def _state(key: dict[str, Any]) -> tuple[Any, ...]:
    return (key.get("balance"), key.get("spent"), sorted(key.get("reservations", {})))


def _entries_after(
    client: "DynamoDBClient", ledger: str, key_id: str, through: str
) -> list[tuple[str, int]]:
    condition = (
        "key_id = :key AND sk BETWEEN :from AND :below"
        if through
        else ("key_id = :key AND sk < :below")
    )
    values: dict[str, Any] = {":key": {"S": key_id}, ":below": {"S": ENTRIES_BELOW}}
    if through:
        values[":from"] = {"S": through}
    query = {
        "TableName": ledger,
        "KeyConditionExpression": condition,
        "ExpressionAttributeValues": values,
        "ProjectionExpression": "sk, amount",
        "ConsistentRead": True,
    }
    found = [plain(item) for item in queried(client, query, limit=None, page=_PAGE)]
    return [(item["sk"], item["amount"]) for item in found if item["sk"] != through]


def _fold(
    client: "DynamoDBClient",
    ledger: str,
    key_id: str,
    checkpoint: dict[str, Any],
    entries: list[tuple[str, int]],
    now_ms: int,
) -> dict[str, Any]:
    """Add the entries no write can still be coming before to the key's checkpoint; the
    checkpoint from now on."""
    old = [(sk, amount) for sk, amount in entries if int(sk[:13]) < now_ms - FOLD_AFTER_MS]
    if not old:
        return checkpoint
    folded = {"through": old[-1][0], "total": checkpoint.get("total", 0) + sum(a for _, a in old)}
    previous = checkpoint.get("through")
    put = Put(ledger, item_of({"key_id": key_id, "sk": CHECKPOINT, **folded})).require(
        attr("sk").not_exists() if previous is None else attr("through").eq(previous)
    )
    try:
        with conditional("Could not fold the ledger."):
            client.put_item(**put.request())
    except ConditionFailed:  # another run folded them first: read from where it is now
        fresh = client.get_item(
            TableName=ledger,
            Key={"key_id": {"S": key_id}, "sk": {"S": CHECKPOINT}},
            ConsistentRead=True,
        ).get("Item", {})
        return plain(fresh)
    return folded


def _opened(
    client: "DynamoDBClient",
    keys: str,
    ledger: str,
    key: dict[str, Any],
    audit: Audit,
    now_ms: int,
) -> Audit | None:
    """Start the ledger of a key from before it: an opening entry of what it holds beyond
    its entries, if nothing changed the key since it was read (else the next run)."""
    mark = (
        Update(keys, {"key_id": audit.key_id})
        .set("ledgered", True)
        .require(attr("ledgered").not_exists())
    )
    for name in ("balance", "spent"):
        mark.require(attr(name).eq(key[name]) if name in key else attr(name).not_exists())
    transaction = Transaction().add({"key": mark.write()})
    if audit.difference:
        opening = LedgerEntry(
            key_id=audit.key_id,
            kind="adjustment",
            amount=audit.difference,
            at=now_ms,
            reference="opening",
            actor="imagegate",
            reason="the key's balance when its ledger began",
        )
        transaction.add(entry_put(ledger, opening))
    try:
        transaction.commit(client, f"Could not open the ledger of key {audit.key_id}.")
    except TransactionRefused:
        return None
    logger.info("ledger opened", key_id=audit.key_id, opening=audit.difference)
    return Audit(audit.key_id, audit.balance, audit.held, audit.entries_total + audit.difference)
