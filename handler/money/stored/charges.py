"""The money side of a request in DynamoDB.

Reserve: one ``UpdateItem`` on the key's item whose condition checks the secret's hash, status,
expiry, allowed models, the minute's request and image windows and the balance, and whose
update spends them and records the open reservation. On refusal the item comes back with the
error (``ReturnValuesOnConditionCheckFailure``), so explaining it costs no second read. A key
that is not its account's item (``core/keys.py``) spends in one ``TransactWriteItems`` of two
writes, the key's and the account's (``key_writes.py``), then reads both: what a transaction
does not answer.

Settle: one ``TransactWriteItems``: close the reservation on the account (refunding the part
not delivered) and put the usage record, conditioned on the reservation still being open, so a
request and the reconciler can never both settle it.
"""

from typing import TYPE_CHECKING, cast

from handler.aws.clients import dynamodb_client
from handler.aws.dynamo import (
    ConditionFailed,
    Transaction,
    TransactionRefused,
    conditional,
    holds,
    retry_conflicts,
)
from handler.aws.errors import aws_errors
from handler.aws.expressions import attr, if_not_exists
from handler.aws.writes import Put, Update
from handler.core.errors import StorageError
from handler.core.outcomes import ReservationClosed, ReservationRefused, ResultRecorded
from handler.core.records.charges import Admission, Charge, UsageRecord, WindowUpkeep
from handler.core.records.keys import ApiKeyRecord, Credentials, Payer
from handler.core.records.work import LineResult
from handler.money.spend import NO_CAP
from handler.money.stored.key_writes import admitting, reserving
from handler.money.stored.keys import charge_of, key_record, spender
from handler.money.stored.settlement import settlement
from handler.money.stored.usage_items import (
    recent_records,
    records_between,
    usage_item,
    usage_sort_key,
)
from handler.stores.work_items import RESULT, result_writes

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef, UpdateItemInputTypeDef


class DynamoDBChargeStore:
    def __init__(
        self,
        keys_table: str,
        usage_table: str,
        ledger_table: str,
        client: "DynamoDBClient | None" = None,
        *,
        work_table: str | None = None,
    ):
        self._keys = keys_table
        self._usage = usage_table
        self._entries = ledger_table
        self._work = work_table  # where line results settled with their charge go
        self._client = client or dynamodb_client()

    def reserve(self, payer: Payer, charge: Charge, *, minute: int) -> ApiKeyRecord:
        try:
            return self._spend(payer.key_id, reserving(self._keys, payer, charge, minute=minute))
        except ReservationRefused as refused:
            record = refused.record
            if record is not None and charge.request_id in record.funds.open_reservations:
                return record  # our own earlier attempt committed
            raise

    def admit(
        self, credentials: Credentials, admission: Admission, *, minute: int, now: int
    ) -> ApiKeyRecord:
        writes = admitting(self._keys, credentials, admission, minute=minute, now=now)
        return self._spend(credentials.key_id, writes)

    def _spend(self, key_id: str, writes: "list[TransactWriteItemTypeDef]") -> ApiKeyRecord:
        """The key's write (and its account's): the key after it, or ReservationRefused
        with the key as it stood."""
        message = "Could not charge the API key."
        if len(writes) == 2:
            key, account = writes
            try:
                Transaction().add({"key": key, "account": account}).commit(self._client, message)
            except TransactionRefused:
                raise ReservationRefused(spender(self._client, self._keys, key_id)) from None
            record = spender(self._client, self._keys, key_id)
            if record is None:
                raise StorageError(message)
            return record
        request = cast(
            "UpdateItemInputTypeDef",
            {
                **writes[0]["Update"],
                "ReturnValues": "ALL_NEW",
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            },
        )
        try:
            with conditional(message):
                response = retry_conflicts(lambda: self._client.update_item(**request))
        except ConditionFailed as failed:
            record = None if failed.item is None else key_record(failed.item)
            raise ReservationRefused(record) from None
        return key_record(response["Attributes"])

    def settle(
        self,
        usage: UsageRecord,
        *,
        windows: WindowUpkeep | None = None,
        result: LineResult | None = None,
    ) -> None:
        charge = usage.charge
        upkeep = windows or WindowUpkeep()
        transaction = settlement(self._keys, self._usage, self._entries, usage, upkeep)
        if result is not None:
            if self._work is None:
                raise ValueError("this ledger has no jobs table to record line results in")
            transaction.add(result_writes(self._work, result))
        try:
            transaction.commit(self._client, "Could not settle the charge.")
        except TransactionRefused as refused:
            if result is not None and RESULT in refused.failed:
                raise ResultRecorded(result.request_id) from None
            raise ReservationClosed(charge.request_id) from None

    def record(self, usage: UsageRecord) -> None:
        put = Put(self._usage, usage_item(usage)).require(attr("sk").not_exists())
        with aws_errors("Could not record the request."):
            self._client.put_item(**put.request())

    def complete_caps(self, key_id: str) -> None:
        completion = (
            Update(self._keys, {"key_id": key_id})
            .set("daily_cap", if_not_exists("daily_cap", NO_CAP))
            .set("monthly_cap", if_not_exists("monthly_cap", NO_CAP))
            .require(attr("key_id").exists())
        )
        with aws_errors("Could not complete the API key."):
            self._client.update_item(**completion.request())

    def usage(self, key_id: str, *, start_ms: int, end_ms: int) -> list[UsageRecord]:
        return records_between(self._client, self._usage, key_id, start_ms, end_ms)

    def recent_usage(
        self, key_id: str, *, limit: int, before: tuple[int, str] | None
    ) -> tuple[list[UsageRecord], bool]:
        return recent_records(self._client, self._usage, key_id, limit, before)

    def holds_usage(self, key_id: str, reserved_at: int, request_id: str) -> bool:
        sort_key = usage_sort_key(reserved_at, request_id)
        return holds(self._client, self._usage, key_id, sort_key, "Could not read the usage.")

    def open_reservations(self) -> list[tuple[str, Charge]]:
        found: list[tuple[str, Charge]] = []
        with aws_errors("Could not read the open reservations."):
            pages = self._client.get_paginator("scan").paginate(
                TableName=self._keys,
                ProjectionExpression="key_id, reservations",
                FilterExpression="size(reservations) > :none",
                ExpressionAttributeValues={":none": {"N": "0"}},
                ConsistentRead=True,
            )
            for page in pages:
                for item in page["Items"]:
                    for request_id, entry in item["reservations"]["M"].items():
                        charge = charge_of(request_id, entry["M"])
                        # The key that reserved it: one of the account's, or the account's own.
                        key_id = entry["M"].get("key_id", item["key_id"])["S"]
                        found.append((key_id, charge))
        return found
