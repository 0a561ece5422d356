"""Usage records as items of the usage table: partition ``key_id``, sort
``<reserved at, ms>#<request id>``, so one key's records over a period are one range query."""

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from handler.aws.dynamo import item_of, plain
from handler.aws.errors import aws_errors
from handler.core.records.charges import UsageRecord
from handler.core.records.moderation import Verdict
from handler.money.stored.keys import charge_attributes, charge_of

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef


def usage_sort_key(reserved_at: int, request_id: str) -> str:
    return f"{reserved_at:013d}#{request_id}"


def usage_item(usage: UsageRecord) -> "dict[str, AttributeValueTypeDef]":
    charge = usage.charge
    record = {
        **charge_attributes(charge),
        "key_id": usage.key_id,
        "sk": usage_sort_key(charge.reserved_at, charge.request_id),
        "request_id": charge.request_id,
        "delivered": usage.delivered,
        "price": charge.amount,
        "charged": usage.charged,
        "refunded": usage.refunded,
        "status": usage.status,
        "settled_at": usage.settled_at,
        "error_code": usage.error_code or None,  # "" is no error
        "placement": usage.placement,
        "operator_cost": usage.operator_cost,
        "moderation": [_verdict_item(verdict) for verdict in usage.verdicts] or None,
    }
    return item_of(record)


def usage_record(item: "dict[str, AttributeValueTypeDef]") -> UsageRecord:
    values = plain(item)
    return UsageRecord(
        key_id=values["key_id"],
        charge=charge_of(values["request_id"], item),
        delivered=values["delivered"],
        status=values["status"],
        settled_at=values["settled_at"],
        error_code=values.get("error_code"),
        placement=values.get("placement"),
        operator_cost=values.get("operator_cost", 0),
        verdicts=tuple(Verdict(**verdict) for verdict in values.get("moderation", ())),
    )


def _verdict_item(verdict: Verdict) -> dict[str, object]:
    return {name: value for name, value in asdict(verdict).items() if value is not None}


def records_between(
    client: Any, table: str, key_id: str, start_ms: int, end_ms: int
) -> list[UsageRecord]:
    """The key's records reserved from ``start_ms`` to ``end_ms``, oldest first."""
    records: list[UsageRecord] = []
    with aws_errors("Could not read the usage records."):
        pages = client.get_paginator("query").paginate(
            TableName=table,
            KeyConditionExpression="key_id = :key AND sk BETWEEN :start AND :end",
            ExpressionAttributeValues={
                ":key": {"S": key_id},
                ":start": {"S": f"{start_ms:013d}"},
                ":end": {"S": f"{end_ms:013d}~"},  # '~' sorts after '#<request id>'
            },
        )
        for page in pages:
            records.extend(usage_record(item) for item in page["Items"])
    return records


def recent_records(
    client: Any, table: str, key_id: str, limit: int, before: tuple[int, str] | None
) -> tuple[list[UsageRecord], bool]:
    """A page of the key's records, newest first, and whether there are more."""
    below = "~" if before is None else usage_sort_key(*before)  # '~': after all
    with aws_errors("Could not read the usage records."):
        answer = client.query(
            TableName=table,
            KeyConditionExpression="key_id = :key AND sk < :below",
            ExpressionAttributeValues={":key": {"S": key_id}, ":below": {"S": below}},
            ScanIndexForward=False,
            Limit=limit + 1,  # one more says whether there is more
        )
    items = answer["Items"]
    return [usage_record(item) for item in items[:limit]], len(items) > limit
