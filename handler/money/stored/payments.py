"""Card payments' states (``money/payments.py``) in the ledger table, beside the entries they
make: partition ``payment#<payment id>``, sort ``payment``. A state, the balance change and
the entries of one event are one transaction, conditioned on the state being the version it
was read as, so concurrent deliveries of a payment's events apply one at a time."""

from typing import TYPE_CHECKING

from handler.aws.clients import dynamodb_client
from handler.aws.dynamo import Transaction, TransactionRefused, item_of, plain
from handler.aws.errors import aws_errors
from handler.aws.expressions import attr, if_not_exists
from handler.aws.writes import Put, Update
from handler.core.outcomes import NoSuchKey, PaymentChanged
from handler.core.records.ledger import LedgerEntry
from handler.core.records.payments import Payment
from handler.money.stored.entries import credited
from handler.money.stored.entry_items import entry_put

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

SORT = "payment"


def _place(payment_id: str) -> dict[str, str]:
    return {"key_id": f"payment#{payment_id}", "sk": SORT}


class DynamoDBPayments:
    def __init__(self, keys_table: str, ledger_table: str, client: "DynamoDBClient | None" = None):
        self._keys = keys_table
        self._ledger = ledger_table
        self._client = client or dynamodb_client()

    def get(self, payment_id: str) -> Payment | None:
        with aws_errors("Could not read the payment."):
            item = self._client.get_item(
                TableName=self._ledger, Key=item_of(_place(payment_id)), ConsistentRead=True
            ).get("Item")
        if item is None:
            return None
        values = plain(item)
        return Payment(
            payment_id=payment_id,
            key_id=values.get("owner"),
            credited=values["credited"],
            refunded=values["refunded"],
            taken=values["taken"],
            disputes=values["disputes"],
            won=values.get("won", frozenset()),
            version=values["version"],
        )

    def record(
        self, after: Payment, entries: list[LedgerEntry], *, customer: str | None = None
    ) -> None:
        state = {
            **_place(after.payment_id),
            "owner": after.key_id,
            "credited": after.credited,
            "refunded": after.refunded,
            "taken": after.taken,
            "disputes": dict(after.disputes),
            "won": after.won or None,  # DynamoDB has no empty set
            "version": after.version + 1,
        }
        put = Put(self._ledger, item_of(state)).require(
            attr("version").eq(after.version) if after.version else attr("sk").not_exists()
        )
        transaction = Transaction().add({"payment": put.write()})
        if entries:
            transaction.add(self._balance_change(entries, customer))
        for i, entry in enumerate(entries):
            transaction.add({f"entry{i}": entry_put(self._ledger, entry)["entry"]})
        try:
            transaction.commit(self._client, "Could not record the card payment.")
        except TransactionRefused as refused:
            if "payment" in refused.failed:
                raise PaymentChanged(after.payment_id) from None
            raise NoSuchKey(entries[0].key_id) from None

    def _balance_change(
        self, entries: list[LedgerEntry], customer: str | None
    ) -> "dict[str, TransactWriteItemTypeDef]":
        key = Update(self._keys, {"key_id": entries[0].key_id}).require(attr("key_id").exists())
        if customer is not None:  # the key's checkouts reuse it (and its saved card)
            key.set("stripe_customer", if_not_exists("stripe_customer", customer))
        return {"key": credited(key, sum(entry.amount for entry in entries)).write()}
