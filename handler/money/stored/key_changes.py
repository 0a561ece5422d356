"""The key writes only operators make (``keys/admin.py``), each in one transaction with its
audit entry: in the ledger table, in the key's partition, sorted ``audit#<at, ms>#<id>`` (after
every entry, which sort by digits)."""

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from handler.aws.clients import dynamodb_client
from handler.aws.dynamo import Transaction, TransactionRefused, plain
from handler.aws.errors import aws_errors
from handler.core.errors import NotFound
from handler.core.outcomes import KeyChanged
from handler.core.records.keys import ApiKeyRecord, AuditEntry, KeyPage
from handler.money.spend import NO_CAP
from handler.money.stored.entry_items import AUDIT, audit_put
from handler.money.stored.keys import SPEND_LEFT, key_record

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef, UpdateTypeDef

    Item = dict[str, AttributeValueTypeDef]

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


def _value(value: Any) -> "AttributeValueTypeDef":
    if isinstance(value, bool) or value is None:
        raise TypeError(f"not a policy value: {value!r}")
    if isinstance(value, int):
        return {"N": str(value)}
    if isinstance(value, str):
        return {"S": value}
    return {"SS": sorted(value)}  # a set of model ids


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
        names: dict[str, str] = {}
        values: Item = {}
        sets, removes = [], []
        for i, (field, value) in enumerate(sorted(changes.items())):
            names[f"#a{i}"] = _ATTRIBUTES[field]
            if value is None and _ATTRIBUTES[field] in _CAPS:
                value = NO_CAP
            if value is None:
                removes.append(f"#a{i}")
            else:
                values[f":v{i}"] = _value(value)
                sets.append(f"#a{i} = :v{i}")
        condition = "attribute_exists(key_id)"
        for i, (window, moved) in enumerate(sorted((windows or {}).items())):
            names[f"#w{i}"] = f"{SPEND_LEFT}{window}"
            if moved is None:  # not begun: the first charge begins it at the new cap
                condition += f" AND attribute_not_exists(#w{i})"
                continue
            was, now = moved
            values |= {f":was{i}": {"N": str(was)}, f":now{i}": {"N": str(now)}}
            sets.append(f"#w{i} = :now{i}")
            condition += f" AND #w{i} = :was{i}"
        expression = " ".join(
            part
            for part in (
                f"SET {', '.join(sets)}" if sets else "",
                f"REMOVE {', '.join(removes)}" if removes else "",
            )
            if part
        )
        try:
            return self._change(audit, expression, names, values, condition)
        except NotFound:
            if windows:
                raise KeyChanged(key_id) from None
            raise

    def revoke(self, audit: AuditEntry) -> ApiKeyRecord:
        return self._change(
            audit,
            "SET #status = :revoked, revoked_at = if_not_exists(revoked_at, :at)",
            {"#status": "status"},
            {":revoked": {"S": "revoked"}, ":at": {"N": str(audit.at // 1000)}},
        )

    def rotate(self, new_secret_hash: str, previous_until: int, audit: AuditEntry) -> ApiKeyRecord:
        # The old secret's hash moves aside, in force until its grace ends (stores/key_writes).
        return self._change(
            audit,
            "SET previous_secret_hash = secret_hash, previous_until = :until, secret_hash = :new",
            {},
            {":until": {"N": str(previous_until)}, ":new": {"S": new_secret_hash}},
        )

    def _change(
        self,
        audit: AuditEntry,
        expression: str,
        names: dict[str, str],
        values: "Item",
        condition: str = "attribute_exists(key_id)",
    ) -> ApiKeyRecord:
        update: UpdateTypeDef = {
            "TableName": self._keys,
            "Key": {"key_id": {"S": audit.key_id}},
            "UpdateExpression": expression,
            "ConditionExpression": condition,
        }
        if names:
            update["ExpressionAttributeNames"] = names
        if values:
            update["ExpressionAttributeValues"] = values
        transaction = Transaction().add(
            {"key": {"Update": update}, **audit_put(self._ledger, audit)}
        )
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
        if after is not None:
            request["ExclusiveStartKey"] = {"key_id": {"S": after}}
        with aws_errors("Could not list API keys."):
            answer = self._client.scan(**request)
        records = [key_record(item) for item in answer["Items"]]
        last = answer.get("LastEvaluatedKey")
        return KeyPage(records, None if last is None else last["key_id"]["S"])

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
