"""Usage records as items of the usage table: partition ``key_id``, sort
``<reserved at, ms>#<request id>``, so one key's records over a period are one range query."""

from typing import TYPE_CHECKING

from handler.core.ports import UsageRecord
from handler.stores.dynamo import plain
from handler.stores.keys import charge_attributes, charge_of

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef


def usage_item(usage: UsageRecord) -> "dict[str, AttributeValueTypeDef]":
    charge = usage.charge
    item: dict[str, AttributeValueTypeDef] = {
        **charge_attributes(charge),
        "key_id": {"S": usage.key_id},
        "sk": {"S": f"{charge.reserved_at:013d}#{charge.request_id}"},
        "request_id": {"S": charge.request_id},
        "delivered": {"N": str(usage.delivered)},
        "price": {"N": str(charge.amount)},
        "charged": {"N": str(usage.charged)},
        "refunded": {"N": str(usage.refunded)},
        "status": {"S": usage.status},
        "settled_at": {"N": str(usage.settled_at)},
    }
    if usage.error_code:
        item["error_code"] = {"S": usage.error_code}
    return item


def usage_record(item: "dict[str, AttributeValueTypeDef]") -> UsageRecord:
    values = plain(item)
    return UsageRecord(
        key_id=values["key_id"],
        charge=charge_of(values["request_id"], item),
        delivered=values["delivered"],
        status=values["status"],
        settled_at=values["settled_at"],
        error_code=values.get("error_code"),
    )
