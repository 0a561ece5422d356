"""Card payments' states (``money/payments.py``) in the ledger table, beside the entries they
make: partition ``payment#<payment id>``, sort ``payment``. A state, the balance change and
the entries of one event are one transaction, conditioned on the state being the version it
was read as, so concurrent deliveries of a payment's events apply one at a time."""

from typing import TYPE_CHECKING

from handler.aws.clients import dynamodb_client
from handler.aws.dynamo import Transaction, TransactionRefused, plain
from handler.aws.errors import aws_errors
from handler.core.outcomes import NoSuchKey, PaymentChanged
from handler.core.records.ledger import LedgerEntry
from handler.core.records.payments import Payment
from handler.money.stored.entries import REARM
from handler.money.stored.entry_items import entry_put

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import (
        AttributeValueTypeDef,
        PutTypeDef,
        TransactWriteItemTypeDef,
    )

    Item = dict[str, AttributeValueTypeDef]

SORT = "payment"


def _place(payment_id: str) -> "Item":
    return {"key_id": {"S": f"payment#{payment_id}"}, "sk": {"S": SORT}}


class DynamoDBPayments:
    def __init__(self, keys_table: str, ledger_table: str, client: "DynamoDBClient | None" = None):
        self._keys = keys_table
        self._ledger = ledger_table
        self._client = client or dynamodb_client()

    def get(self, payment_id: str) -> Payment | None:
        with aws_errors("Could not read the payment."):
            item = self._client.get_item(
                TableName=self._ledger, Key=_place(payment_id), ConsistentRead=True
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
        item: Item = {
            **_place(after.payment_id),
            "credited": {"N": str(after.credited)},
            "refunded": {"N": str(after.refunded)},
            "taken": {"N": str(after.taken)},
            "disputes": {"M": {d: {"N": str(amount)} for d, amount in after.disputes.items()}},
            "version": {"N": str(after.version + 1)},
        }
        if after.key_id is not None:
            item["owner"] = {"S": after.key_id}
        if after.won:
            item["won"] = {"SS": sorted(after.won)}
        put: PutTypeDef = {"TableName": self._ledger, "Item": item}
        if after.version:
            put["ConditionExpression"] = "version = :read"
            put["ExpressionAttributeValues"] = {":read": {"N": str(after.version)}}
        else:
            put["ConditionExpression"] = "attribute_not_exists(sk)"
        transaction = Transaction().add({"payment": {"Put": put}})
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
        change = sum(entry.amount for entry in entries)
        update = "ADD balance :change" + REARM * (change > 0)
        values: Item = {":change": {"N": str(change)}}
        if customer is not None:  # the key's checkouts reuse it (and its saved card)
            update = "SET stripe_customer = if_not_exists(stripe_customer, :customer) " + update
            values[":customer"] = {"S": customer}
        return {
            "key": {
                "Update": {
                    "TableName": self._keys,
                    "Key": {"key_id": {"S": entries[0].key_id}},
                    "UpdateExpression": update,
                    "ConditionExpression": "attribute_exists(key_id)",
                    "ExpressionAttributeValues": values,
                }
            }
        }
