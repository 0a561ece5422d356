"""A request's settlement on DynamoDB: one transaction that closes its reservation on the
account's item, writes its usage record, enters it in the account's ledger and, where the key
is not its account's item, gives the refund back to the key's own budget
(``money/stored/charges.py``)."""

from functools import cache

from handler.aws.dynamo import Transaction
from handler.aws.expressions import Named, attr, given, named
from handler.aws.writes import Put, Template, Update
from handler.core.keys import account_of
from handler.core.records.charges import UsageRecord, WindowUpkeep
from handler.money.ledger import settled_entry
from handler.money.stored.entry_items import entry_put
from handler.money.stored.key_writes import Part
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
    """Close the reservation on the account (refunding what was not delivered, into the
    balance and the current spend windows of the account and the key; clearing past
    windows), put the usage record and the ledger's entry, if the reservation is still open."""
    stale = [
        *(f"{prefix}{minute}" for minute in windows.stale_minutes for prefix in _MINUTE_WINDOWS),
        *(f"{SPEND_LEFT}{window}" for window in windows.stale_spend),
    ]
    refund_to = [f"{SPEND_LEFT}{window}" for window in windows.refund_to] if usage.refunded else []
    names = {"request": usage.charge.request_id}
    names |= {f"stale{i}": name for i, name in enumerate(stale)}
    names |= {f"refund{i}": name for i, name in enumerate(refund_to)}
    values = {"refunded": usage.refunded, "charged": usage.charged}
    account_id = account_of(usage.key_id)
    one = account_id == usage.key_id
    close = _closing(len(stale), len(refund_to), Part.BOTH if one else Part.ACCOUNT)
    record = Put(usage_table, usage_item(usage)).require(attr("sk").not_exists())
    transaction = Transaction().add(
        {
            "reservation": close.write(
                keys_table, {"key_id": account_id}, names=names, values=values
            ),
            "usage": record.write(),
            **entry_put(ledger_table, settled_entry(usage)),
        }
    )
    if not one:
        key = _closing(len(stale), len(refund_to), Part.KEY)
        transaction.add(
            {"key": key.write(keys_table, {"key_id": usage.key_id}, names=names, values=values)}
        )
    return transaction


@cache
def _closing(stale: int, refunds: int, part: Part) -> Template:
    """The reservation closed on the account's item (not on a key's apart from it), ``stale``
    past windows cleared away and the refund given back to ``refunds`` spend windows: one
    shape per count, rendered once."""
    close = Update.template().remove(*(named(f"stale{i}") for i in range(stale)))
    close.add("spent", given("charged"))
    if part is not Part.KEY:
        reservation = attr("reservations", Named("request"))
        close.remove(reservation).add("balance", given("refunded"))
        close.require(reservation.exists())
    for i in range(refunds):
        close.add(named(f"refund{i}"), given("refunded"))
    return Template(close)
