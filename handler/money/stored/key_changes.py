"""The key writes only operators make (``keys/admin.py``), each in one transaction with its
audit entry: in the ledger table, in the key's partition, sorted ``audit#<at, ms>#<id>`` (after
every entry, which sort by digits)."""

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from handler.aws.clients import dynamodb_client
from handler.aws.dynamo import Transaction, TransactionRefused, batch_items, plain
from handler.aws.errors import aws_errors
from handler.aws.expressions import attr, if_not_exists
from handler.aws.writes import Update
from handler.core.errors import NotFound
from handler.core.keys import account_of
from handler.core.outcomes import KeyChanged
from handler.core.records.keys import ApiKeyRecord, AuditEntry, KeyPage
from handler.money.spend import NO_CAP
from handler.money.stored.entry_items import AUDIT, audit_put
from handler.money.stored.keys import SPEND_LEFT, key_record

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

# A policy's fields in the admin API, by their attribute on the key's item.
_ATTRIBUTES = {
    "name": "name",
    "requests_per_minute": "rpm",
    "images_per_minute": "ipm",
    "models": "models",
    "expires_at": "expires_at",
    "daily_spend_cap": "daily_cap",
    "monthly_spend_cap": "monthly_cap",
    "low_balance_threshold": "low_balance",
    "webhook_url": "webhook_url",
    "reload_below": "reload_below",
    "reload_amount": "reload_amount",
    "reload_monthly_cap": "reload_monthly_cap",
}
_CAPS = {"daily_cap", "monthly_cap"}  # lifted: NO_CAP, not removed (money/stored/key_writes.py)


class DynamoDBKeyChanges:
    def __init__(self, keys_table: str, ledger_table: str, client: "DynamoDBClient | None" = None):
        self._keys = keys_table
        self._ledger = ledger_table
        self._client = client or dynamodb_client()

    def update(
        self,
        key_id: str,
        changes: Mapping[str, Any],
        audit: AuditEntry,
        *,
        windows: Mapping[str, tuple[int, int] | None] | None = None,
    ) -> ApiKeyRecord:
        key = self._key(key_id)
        for field, value in sorted(changes.items()):
            name = _ATTRIBUTES[field]
            if value is None and name in _CAPS:
                value = NO_CAP
            if value is None:
                key.remove(name)
            else:
                key.set(name, value)
        for window, moved in sorted((windows or {}).items()):
            left = attr(f"{SPEND_LEFT}{window}")
            if moved is None:  # not begun: the first charge begins it at the new cap
                key.require(left.not_exists())
                continue
            was, now = moved
            key.set(left, now).require(left.eq(was))
        try:
            return self._change(audit, key)
        except NotFound:
            if windows:
                raise KeyChanged(key_id) from None
            raise

    def revoke(self, audit: AuditEntry) -> ApiKeyRecord:
        revoked = (
            self._key(audit.key_id)
            .set("status", "revoked")
            .set("revoked_at", if_not_exists("revoked_at", audit.at // 1000))
        )
        return self._change(audit, revoked)

    def rotate(self, new_secret_hash: str, previous_until: int, audit: AuditEntry) -> ApiKeyRecord:
        # The old secret's hash moves aside, in force until its grace ends (key_writes.py).
        rotated = (
            self._key(audit.key_id)
            .set("previous_secret_hash", attr("secret_hash"))
            .set("previous_until", previous_until)
            .set("secret_hash", new_secret_hash)
        )
        return self._change(audit, rotated)

    def _key(self, key_id: str) -> Update:
        """A change of the key's item, which must be there."""
        return Update(self._keys, {"key_id": key_id}).require(attr("key_id").exists())

    def _change(self, audit: AuditEntry, key: Update) -> ApiKeyRecord:
        transaction = Transaction().add({"key": key.write(), **audit_put(self._ledger, audit)})
        try:
            transaction.commit(self._client, f"Could not change key {audit.key_id}.")
        except TransactionRefused:
            raise NotFound(f"No API key with id {audit.key_id}.", param="key_id") from None
        with aws_errors("Could not read the API key."):
            item = self._client.get_item(
                TableName=self._keys, Key={"key_id": {"S": audit.key_id}}, ConsistentRead=True
            )["Item"]
        return key_record(item)

    def page(self, *, limit: int, after: str | None) -> KeyPage:
        request: dict[str, Any] = {"TableName": self._keys, "Limit": limit}
        # Keys only: an account opened by sign-up has an item and no key (no secret)
        request["FilterExpression"] = "attribute_exists(secret_hash)"
        if after is not None:
            request["ExclusiveStartKey"] = {"key_id": {"S": after}}
        with aws_errors("Could not list API keys."):
            answer = self._client.scan(**request)
        records = self._spending(answer["Items"])
        last = answer.get("LastEvaluatedKey")
        return KeyPage(records, None if last is None else last["key_id"]["S"])

    def _spending(self, items: list[dict[str, Any]]) -> list[ApiKeyRecord]:
        """The keys, each with its account's money where that is another item (the accounts
        not on the page read in one go)."""
        ids = [item["key_id"]["S"] for item in items]
        apart = sorted({account_of(key_id) for key_id in ids} - set(ids))
        wanted = [{"key_id": {"S": account_id}} for account_id in apart]
        found = batch_items(self._client, self._keys, wanted, "Could not read the accounts.")
        records = {item["key_id"]["S"]: key_record(item) for item in [*items, *found]}
        return [
            records[key_id]
            if account_of(key_id) == key_id
            else key_record(item, records.get(account_of(key_id)))
            for key_id, item in zip(ids, items, strict=True)
        ]

    def audit(self, key_id: str, *, limit: int) -> Sequence[AuditEntry]:
        with aws_errors("Could not read the key's audit entries."):
            answer = self._client.query(
                TableName=self._ledger,
                KeyConditionExpression="key_id = :key AND begins_with(sk, :audit)",
                ExpressionAttributeValues={":key": {"S": key_id}, ":audit": {"S": AUDIT}},
                ScanIndexForward=False,
                Limit=limit,
            )
        found = [plain(item) for item in answer["Items"]]
        return [
            AuditEntry(key_id, e["action"], e["actor"], e["at"], json.loads(e["details"]))
            for e in found
        ]
