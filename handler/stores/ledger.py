"""The money side of a request in DynamoDB.

Reserve: one ``UpdateItem`` on the key's item whose condition checks the secret's hash, status,
expiry, allowed models, the minute's request and image windows and the balance, and whose
update spends them and records the open reservation. On refusal the item comes back with the
error (``ReturnValuesOnConditionCheckFailure``), so explaining it costs no second read.

Settle: one ``TransactWriteItems``: close the reservation on the key (refunding the part not
delivered) and put the usage record, conditioned on the reservation still being open, so a
request and the reconciler can never both settle it.

Usage records: table ``usage``, partition ``key_id``, sort ``<reserved at, ms>#<request id>``,
so one key's records over a period are one range query.
"""

from collections.abc import Sequence
from typing import TYPE_CHECKING

from handler.core.ports import (
    Admission,
    ApiKeyRecord,
    Charge,
    Credentials,
    Owner,
    Payer,
    ReservationClosed,
    ReservationRefused,
    UsageRecord,
)
from handler.core.work.model import LineResult, ResultRecorded
from handler.stores.aws_errors import aws_errors
from handler.stores.clients import dynamodb_client
from handler.stores.dynamo import (
    ConditionFailed,
    Transaction,
    TransactionRefused,
    conditional,
    plain,
    retry_conflicts,
)
from handler.stores.jobs import RESULT, result_writes
from handler.stores.keys import (
    IMAGES_LEFT,
    REQUESTS_LEFT,
    charge_attributes,
    charge_of,
    key_record,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import AttributeValueTypeDef, UpdateItemInputTypeDef

    Item = dict[str, AttributeValueTypeDef]

_RESERVE = (
    "SET balance = balance - :price, reservations.#request = :reservation, "
    "#requests = if_not_exists(#requests, rpm) - :one, "
    "#images = if_not_exists(#images, ipm) - :n "
    "REMOVE #past_requests, #past_images"
)
_RESERVE_IF = (
    "secret_hash = :hash AND #status = :active "
    # Written already: botocore resent a write that had committed. Never take it twice.
    "AND attribute_not_exists(reservations.#request) "
    # A later minute has begun on another clock: this one's window is closed (and may have
    # been cleared away, which must not reopen it).
    "AND attribute_not_exists(#next_requests) "
    "AND (attribute_not_exists(expires_at) OR expires_at > :now) "
    "AND (attribute_not_exists(models) OR contains(models, :model)) "
    "AND ((attribute_not_exists(#requests) AND rpm >= :one) OR #requests >= :one) "
    "AND ((attribute_not_exists(#images) AND ipm >= :n) OR #images >= :n) "
    "AND balance >= :price"
)
# An owner's standing instruction (a batch line, an async job): no secret, no minute windows.
_RESERVE_FOR_OWNER = "SET balance = balance - :price, reservations.#request = :reservation"
_RESERVE_FOR_OWNER_IF = (
    "#status = :active "
    "AND attribute_not_exists(reservations.#request) "
    "AND (attribute_not_exists(expires_at) OR expires_at > :now) "
    "AND (attribute_not_exists(models) OR contains(models, :model)) "
    "AND balance >= :price"
)

# A submission (an async job, a batch): one request of the window, and the balance checked.
_ADMIT = "SET #requests = if_not_exists(#requests, rpm) - :one REMOVE #past_requests, #past_images"
_ADMIT_IF = (
    "secret_hash = :hash AND #status = :active "
    "AND attribute_not_exists(#next_requests) "
    "AND (attribute_not_exists(expires_at) OR expires_at > :now) "
    "AND ((attribute_not_exists(#requests) AND rpm >= :one) OR #requests >= :one) "
    "AND balance >= :balance"
)
_ADMIT_MODEL_IF = " AND (attribute_not_exists(models) OR contains(models, :model))"


class DynamoDBLedger:
    def __init__(
        self,
        keys_table: str,
        usage_table: str,
        client: "DynamoDBClient | None" = None,
        *,
        jobs_table: str | None = None,
    ):
        self._keys = keys_table
        self._usage = usage_table
        self._jobs = jobs_table  # where line results settled with their charge go
        self._client = client or dynamodb_client()

    def reserve(self, payer: Payer, charge: Charge, *, minute: int) -> ApiKeyRecord:
        names = {"#status": "status", "#request": charge.request_id}
        values: Item = {
            ":active": {"S": "active"},
            ":now": {"N": str(charge.reserved_at // 1000)},
            ":model": {"S": charge.model},
            ":price": {"N": str(charge.amount)},
            ":reservation": {"M": charge_attributes(charge)},
        }
        if isinstance(payer, Owner):
            update, condition = _RESERVE_FOR_OWNER, _RESERVE_FOR_OWNER_IF
        else:
            update, condition = _RESERVE, _RESERVE_IF
            names |= _window_names(minute)
            values |= {
                ":hash": {"S": payer.secret_hash},
                ":one": {"N": "1"},
                ":n": {"N": str(charge.n)},
            }
        try:
            return self._update_key(payer.key_id, update, condition, names, values)
        except ReservationRefused as refused:
            record = refused.record
            if record is not None and charge.request_id in record.open_reservations:
                return record  # our own earlier attempt committed
            raise

    def admit(
        self, credentials: Credentials, admission: Admission, *, minute: int, now: int
    ) -> ApiKeyRecord:
        names = {"#status": "status", **_window_names(minute)}
        del names["#images"]  # a submission takes no images
        values: Item = {
            ":hash": {"S": credentials.secret_hash},
            ":active": {"S": "active"},
            ":now": {"N": str(now)},
            ":one": {"N": "1"},
            ":balance": {"N": str(admission.balance)},
        }
        condition = _ADMIT_IF
        if admission.model is not None:
            condition += _ADMIT_MODEL_IF
            values[":model"] = {"S": admission.model}
        return self._update_key(credentials.key_id, _ADMIT, condition, names, values)

    def _update_key(
        self, key_id: str, update: str, condition: str, names: dict[str, str], values: "Item"
    ) -> ApiKeyRecord:
        """One conditional write on the key's item: the key after it, or ReservationRefused
        with the key as it stood."""
        request: UpdateItemInputTypeDef = {
            "TableName": self._keys,
            "Key": {"key_id": {"S": key_id}},
            "UpdateExpression": update,
            "ConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": values,
            "ReturnValues": "ALL_NEW",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        try:
            with conditional("Could not charge the API key."):
                response = retry_conflicts(lambda: self._client.update_item(**request))
        except ConditionFailed as failed:
            record = None if failed.item is None else key_record(failed.item)
            raise ReservationRefused(record) from None
        return key_record(response["Attributes"])

    def settle(
        self,
        usage: UsageRecord,
        *,
        stale_minutes: Sequence[int] = (),
        result: LineResult | None = None,
    ) -> None:
        charge = usage.charge
        stale = [
            f"{prefix}{minute}"
            for minute in stale_minutes
            for prefix in (REQUESTS_LEFT, IMAGES_LEFT)
        ]
        names = {"#request": charge.request_id} | {f"#s{i}": name for i, name in enumerate(stale)}
        remove = ", ".join(["reservations.#request", *(f"#s{i}" for i in range(len(stale)))])
        transaction = Transaction().add(
            {
                "reservation": {
                    "Update": {
                        "TableName": self._keys,
                        "Key": {"key_id": {"S": usage.key_id}},
                        "UpdateExpression": f"REMOVE {remove} ADD balance :refund, spent :charged",
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
                        "TableName": self._usage,
                        "Item": _usage_item(usage),
                        "ConditionExpression": "attribute_not_exists(sk)",
                    }
                },
            }
        )
        if result is not None:
            if self._jobs is None:
                raise ValueError("this ledger has no jobs table to record line results in")
            transaction.add(result_writes(self._jobs, result))
        try:
            transaction.commit(self._client, "Could not settle the charge.")
        except TransactionRefused as refused:
            if result is not None and RESULT in refused.failed:
                raise ResultRecorded(result.request_id) from None
            raise ReservationClosed(charge.request_id) from None

    def usage(self, key_id: str, *, start_ms: int, end_ms: int) -> list[UsageRecord]:
        records: list[UsageRecord] = []
        with aws_errors("Could not read the usage records."):
            pages = self._client.get_paginator("query").paginate(
                TableName=self._usage,
                KeyConditionExpression="key_id = :key AND sk BETWEEN :start AND :end",
                ExpressionAttributeValues={
                    ":key": {"S": key_id},
                    ":start": {"S": f"{start_ms:013d}"},
                    ":end": {"S": f"{end_ms:013d}~"},  # '~' sorts after '#<request id>'
                },
            )
            for page in pages:
                records.extend(_usage_record(item) for item in page["Items"])
        return records

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
                        found.append((item["key_id"]["S"], charge))
        return found


def _window_names(minute: int) -> dict[str, str]:
    """The key item's attributes of the minute's window, and of the minutes around it."""
    return {
        "#requests": f"{REQUESTS_LEFT}{minute}",
        "#images": f"{IMAGES_LEFT}{minute}",
        "#past_requests": f"{REQUESTS_LEFT}{minute - 1}",
        "#past_images": f"{IMAGES_LEFT}{minute - 1}",
        "#next_requests": f"{REQUESTS_LEFT}{minute + 1}",
    }


def _usage_item(usage: UsageRecord) -> "dict[str, AttributeValueTypeDef]":
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


def _usage_record(item: "dict[str, AttributeValueTypeDef]") -> UsageRecord:
    values = plain(item)
    return UsageRecord(
        key_id=values["key_id"],
        charge=charge_of(values["request_id"], item),
        delivered=values["delivered"],
        status=values["status"],
        settled_at=values["settled_at"],
        error_code=values.get("error_code"),
    )
