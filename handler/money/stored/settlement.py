"""A request's settlement on DynamoDB: one transaction that closes its reservation on the
key's item, writes its usage record and enters it in the key's ledger
(``money/stored/charges.py``)."""

from functools import cache

from handler.aws.dynamo import Transaction
from handler.aws.expressions import Named, attr, given, named
from handler.aws.writes import Put, Template, Update
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
    stale = [
        *(f"{prefix}{minute}" for minute in windows.stale_minutes for prefix in _MINUTE_WINDOWS),
        *(f"{SPEND_LEFT}{window}" for window in windows.stale_spend),
    ]
    refund_to = [f"{SPEND_LEFT}{window}" for window in windows.refund_to] if usage.refunded else []
    names = {"request": usage.charge.request_id}
    names |= {f"stale{i}": name for i, name in enumerate(stale)}
    names |= {f"refund{i}": name for i, name in enumerate(refund_to)}
    close = _closing(len(stale), len(refund_to)).write(
        keys_table,
        {"key_id": usage.key_id},
        names=names,
        values={"refunded": usage.refunded, "charged": usage.charged},
    )
    record = Put(usage_table, usage_item(usage)).require(attr("sk").not_exists())
    return Transaction().add(
        {
            "reservation": close,
            "usage": record.write(),
            **entry_put(ledger_table, settled_entry(usage)),
        }
    )


@cache
def _closing(stale: int, refunds: int) -> Template:
    """The reservation closed on the key's item, ``stale`` past windows cleared away and the
    refund given back to ``refunds`` spend windows: one shape per count, rendered once."""
    reservation = attr("reservations", Named("request"))
    close = (
        Update.template()
        .remove(reservation, *(named(f"stale{i}") for i in range(stale)))
        .add("balance", given("refunded"))
        .add("spent", given("charged"))
        .require(reservation.exists())
    )
    for i in range(refunds):
        close.add(named(f"refund{i}"), given("refunded"))
    return Template(close)
