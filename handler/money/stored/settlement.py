"""A request's settlement on DynamoDB: one transaction that closes its reservation on the
key's item, writes its usage record and enters it in the key's ledger
(``money/stored/charges.py``)."""

from handler.aws.dynamo import Transaction
from handler.aws.expressions import Put, Update, attr
from handler.core.records.charges import UsageRecord, WindowUpkeep
from handler.money.ledger import settled_entry
from handler.money.stored.entry_items import entry_put
from handler.money.stored.keys import IMAGES_LEFT, REQUESTS_LEFT, SPEND_LEFT
from handler.money.stored.usage_items import usage_item

_MINUTE_WINDOWS = (REQUESTS_LEFT, IMAGES_LEFT)


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
    reservation = attr("reservations", usage.charge.request_id)
    stale = [
        *(f"{prefix}{minute}" for minute in windows.stale_minutes for prefix in _MINUTE_WINDOWS),
        *(f"{SPEND_LEFT}{window}" for window in windows.stale_spend),
    ]
    close = (
        Update(keys_table, {"key_id": usage.key_id})
        .remove(reservation, *stale)
        .add("balance", usage.refunded)
        .add("spent", usage.charged)
        .require(reservation.exists())
    )
    if usage.refunded:
        for window in windows.refund_to:
            close.add(f"{SPEND_LEFT}{window}", usage.refunded)
    record = Put(usage_table, usage_item(usage)).require(attr("sk").not_exists())
    return Transaction().add(
        {
            "reservation": close.write(),
            "usage": record.write(),
            **entry_put(ledger_table, settled_entry(usage)),
        }
    )
