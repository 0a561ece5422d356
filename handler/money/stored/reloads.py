"""Auto-reload's claims on the key's item (``money/reloads.py``): the reload mark and the
month's reload total in one conditional write; the reload itself queued for its function."""

import json
import secrets
from typing import TYPE_CHECKING, Any

from handler.aws.clients import dynamodb_client, sqs_client
from handler.aws.dynamo import ConditionFailed, conditional
from handler.aws.errors import aws_errors
from handler.core.records.keys import ApiKeyRecord
from handler.core.records.payments import Reload
from handler.money.spend import month_window
from handler.money.stored.keys import RELOADED

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient


def reload_message(reload: Reload) -> str:
    return json.dumps(
        {
            "key_id": reload.key_id,
            "reference": reload.reference,
            "amount": reload.amount,
            "month": reload.month,
        }
    )


def reload_of(body: str) -> Reload:
    values: dict[str, Any] = json.loads(body)
    return Reload(values["key_id"], values["reference"], values["amount"], values["month"])


class DynamoDBReloadClaims:
    def __init__(self, keys_table: str, queue_url: str, client: "DynamoDBClient | None" = None):
        self._keys = keys_table
        self._queue = queue_url
        self._client = client or dynamodb_client()

    def claim(self, record: ApiKeyRecord, now: float) -> Reload | None:
        policy = record.policy
        amount, cap = policy.reload_amount, policy.reload_monthly_cap
        if amount is None or cap is None or cap < amount:
            return None
        reload = Reload(record.key_id, f"reload_{secrets.token_hex(8)}", amount, month_window(now))
        try:
            with conditional("Could not claim the key's reload."):
                self._client.update_item(
                    TableName=self._keys,
                    Key={"key_id": {"S": record.key_id}},
                    UpdateExpression="SET reload_pending = :reference ADD #month :amount",
                    # Still below it: a top-up that came in between leaves nothing to reload.
                    ConditionExpression="attribute_not_exists(reload_pending) AND "
                    "balance < reload_below AND "
                    "(attribute_not_exists(#month) OR #month <= :room)",
                    ExpressionAttributeNames={"#month": f"{RELOADED}{reload.month}"},
                    ExpressionAttributeValues={
                        ":reference": {"S": reload.reference},
                        ":amount": {"N": str(amount)},
                        ":room": {"N": str(cap - amount)},
                    },
                )
        except ConditionFailed:
            return None  # under way already, or the month's cap is reached
        return reload

    def queue(self, reload: Reload) -> None:
        with aws_errors("Could not queue the reload."):
            sqs_client().send_message(QueueUrl=self._queue, MessageBody=reload_message(reload))

    def give_back(self, reload: Reload, *, unmark: bool = False) -> None:
        """Once per reload (a redelivered message gives nothing back twice); ``unmark``: the
        reload never started, so the crossing may reload again."""
        update = "ADD #month :back, reloads_returned :reference"
        condition = "attribute_exists(key_id) AND NOT contains(reloads_returned, :one)"
        values: dict[str, Any] = {
            ":back": {"N": str(-reload.amount)},
            ":reference": {"SS": [reload.reference]},
            ":one": {"S": reload.reference},
        }
        if unmark:
            update += " REMOVE reload_pending"
            condition += " AND reload_pending = :one"
        try:
            with conditional("Could not give the reload back."):
                self._client.update_item(
                    TableName=self._keys,
                    Key={"key_id": {"S": reload.key_id}},
                    UpdateExpression=update,
                    ConditionExpression=condition,
                    ExpressionAttributeNames={"#month": f"{RELOADED}{reload.month}"},
                    ExpressionAttributeValues=values,
                )
        except ConditionFailed:
            pass  # given back already
