"""The credit ledger in DynamoDB (its items: ``money/stored/entry_items.py``)."""

from collections.abc import Iterator
from typing import TYPE_CHECKING

from handler.aws.clients import dynamodb_client
from handler.aws.dynamo import Transaction, TransactionRefused, holds
from handler.aws.errors import aws_errors
from handler.aws.expressions import attr, if_not_exists
from handler.aws.writes import Update
from handler.core.errors import NotFound
from handler.core.outcomes import AlreadyPosted
from handler.core.records.keys import DEFAULT_POLICY, ApiKeyRecord
from handler.core.records.ledger import Audit, EntryPage, LedgerEntry
from handler.money.stored.entry_items import (
    ENTRIES_BELOW,
    entry_put,
    entry_sort_key,
    ledger_entry,
    once_place,
    once_put,
)
from handler.money.stored.keys import key_record

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient


def credited(key: Update, amount: int) -> Update:
    """``amount`` added to the key's balance. Money put on a key takes its low-balance and
    reload marks away: the next crossing counts."""
    key.add("balance", amount)
    return key.remove("low_balance_alerted", "reload_pending") if amount > 0 else key


class DynamoDBEntries:
    def __init__(self, keys_table: str, ledger_table: str, client: "DynamoDBClient | None" = None):
        self._keys = keys_table
        self._ledger = ledger_table
        self._client = client or dynamodb_client()

    def post(self, entry: LedgerEntry, *, once: str | None = None) -> ApiKeyRecord:
        key = (
            Update(self._keys, {"key_id": entry.key_id})
            # Also completes a key made before billing (no limits, no reservations).
            .set("rpm", if_not_exists("rpm", DEFAULT_POLICY.requests_per_minute))
            .set("ipm", if_not_exists("ipm", DEFAULT_POLICY.images_per_minute))
            .set("spent", if_not_exists("spent", 0))
            .set("reservations", if_not_exists("reservations", {}))
            .require(attr("key_id").exists())
        )
        transaction = Transaction().add({"key": credited(key, entry.amount).write()})
        transaction.add(entry_put(self._ledger, entry))
        if once is not None:
            transaction.add(once_put(self._ledger, entry.key_id, entry.reference, once))
        try:
            transaction.commit(self._client, f"Could not change the balance of {entry.key_id}.")
        except TransactionRefused as refused:
            if "key" in refused.failed:
                raise NotFound(f"No API key with id {entry.key_id}.", param="key_id") from None
            raise AlreadyPosted(entry.reference, self._posted_for(entry)) from None
        with aws_errors("Could not read the API key."):
            item = self._client.get_item(
                TableName=self._keys, Key={"key_id": {"S": entry.key_id}}, ConsistentRead=True
            )["Item"]
        return key_record(item)

    def _posted_for(self, entry: LedgerEntry) -> str | None:
        """The fingerprint kept with the mark of ``entry``'s reference (None: a mark made
        without one)."""
        with aws_errors("Could not read the ledger."):
            mark = self._client.get_item(
                TableName=self._ledger,
                Key=once_place(entry.key_id, entry.reference),
                ConsistentRead=True,
            ).get("Item", {})
        return mark.get("fingerprint", {}).get("S")

    def page(self, key_id: str, *, limit: int, before: tuple[int, str] | None) -> EntryPage:
        below = ENTRIES_BELOW if before is None else entry_sort_key(*before)
        with aws_errors("Could not read the ledger."):
            answer = self._client.query(
                TableName=self._ledger,
                KeyConditionExpression="key_id = :key AND sk < :below",
                ExpressionAttributeValues={":key": {"S": key_id}, ":below": {"S": below}},
                ScanIndexForward=False,
                Limit=limit + 1,  # one more says whether there is more
            )
        items = answer["Items"]
        return EntryPage([ledger_entry(item) for item in items[:limit]], len(items) > limit)

    def holds(self, key_id: str, at: int, reference: str) -> bool:
        sort_key = entry_sort_key(at, reference)
        return holds(self._client, self._ledger, key_id, sort_key, "Could not read the ledger.")

    def between(self, start_ms: int, end_ms: int) -> list[LedgerEntry]:
        """Every account's entries made in ``[start_ms, end_ms)``: a scan, for the operators'
        report (money moves far less often than it is read)."""
        found: list[LedgerEntry] = []
        with aws_errors("Could not read the ledger."):
            pages = self._client.get_paginator("scan").paginate(
                TableName=self._ledger,
                FilterExpression="attribute_exists(kind) AND #at >= :start AND #at < :end",
                ExpressionAttributeNames={"#at": "at"},
                ExpressionAttributeValues={
                    ":start": {"N": str(start_ms)},
                    ":end": {"N": str(end_ms)},
                },
            )
            for page in pages:
                found.extend(ledger_entry(item) for item in page["Items"])
        return sorted(found, key=lambda entry: (entry.at, entry.reference))

    def audits(self, *, now_ms: int, fold: bool = True) -> Iterator[Audit]:
        from handler.money.stored.audit import audits  # the reconciler's alone

        return audits(self._client, self._keys, self._ledger, now_ms=now_ms, fold=fold)
