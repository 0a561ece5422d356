"""A request's settlement on DynamoDB: one transaction that closes its reservation on the
key's item, writes its usage record and enters it in the key's ledger
(``money/stored/charges.py``)."""

from handler.aws.dynamo import Transaction
from handler.core.records.charges import UsageRecord, WindowUpkeep
from handler.money.ledger import settled_entry
from handler.money.stored.entry_items import entry_put
from handler.money.stored.keys import IMAGES_LEFT, REQUESTS_LEFT, SPEND_LEFT
from handler.money.stored.usage_items import usage_item


def settlement(
    keys_table: str,
    usage_table: str,
    ledger_table: str,
    usage: UsageRecord,
    windows: WindowUpkeep,
) -> Transaction:
    """Close the reservation on the key (refunding what was not delivered, into the balance
    and the current spend windows; clearing past windows), put the usage record and the
    ledger's entry, if the reservation is still open."""
    charge = usage.charge
    stale = [
        f"{prefix}{minute}"
        for minute in windows.stale_minutes
        for prefix in (REQUESTS_LEFT, IMAGES_LEFT)
    ] + [f"{SPEND_LEFT}{window}" for window in windows.stale_spend]
    names = {"#request": charge.request_id} | {f"#s{i}": name for i, name in enumerate(stale)}
    remove = ", ".join(["reservations.#request", *(f"#s{i}" for i in range(len(stale)))])
    add = "balance :refund, spent :charged"
    if usage.refunded:
        for i, window in enumerate(windows.refund_to):
            names[f"#r{i}"] = f"{SPEND_LEFT}{window}"
            add += f", #r{i} :refund"
    return Transaction().add(
        {
            "reservation": {
                "Update": {
                    "TableName": keys_table,
                    "Key": {"key_id": {"S": usage.key_id}},
                    "UpdateExpression": f"REMOVE {remove} ADD {add}",
                    "ConditionExpression": "attribute_exists(reservations.#request)",
                    "ExpressionAttributeNames": names,
                    "ExpressionAttributeValues": {
                        ":refund": {"N": str(usage.refunded)},
                        ":charged": {"N": str(usage.charged)},
                    },
                }
            },
            "usage": {
                "Put": {
                    "TableName": usage_table,
                    "Item": usage_item(usage),
                    "ConditionExpression": "attribute_not_exists(sk)",
                }
            },
            **entry_put(ledger_table, settled_entry(usage)),
        }
    )
