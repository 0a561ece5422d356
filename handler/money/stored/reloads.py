"""Auto-reload's claims on the key's item (``money/reloads.py``): the reload mark and the
month's reload total in one conditional write; the reload itself queued for its function."""

import json
import secrets
from typing import TYPE_CHECKING, Any

from handler.aws.clients import dynamodb_client, sqs_client
from handler.aws.dynamo import ConditionFailed, conditional
from handler.aws.errors import aws_errors
from handler.aws.expressions import attr
from handler.aws.writes import Update
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
        month = attr(f"{RELOADED}{reload.month}")
        claim = (
            Update(self._keys, {"key_id": record.key_id})
            .set("reload_pending", reload.reference)
            .add(month, amount)
            .require(attr("reload_pending").not_exists())
            # Still below it: a top-up that came in between leaves nothing to reload.
            .require(attr("balance").lt(attr("reload_below")))
            .require(month.not_exists() | month.lte(cap - amount))
        )
        try:
            with conditional("Could not claim the key's reload."):
                self._client.update_item(**claim.request())
        except ConditionFailed:
            return None  # under way already, or the month's cap is reached
        return reload

    def queue(self, reload: Reload) -> None:
        with aws_errors("Could not queue the reload."):
            sqs_client().send_message(QueueUrl=self._queue, MessageBody=reload_message(reload))

    def give_back(self, reload: Reload, *, unmark: bool = False) -> None:
        """Once per reload (a redelivered message gives nothing back twice); ``unmark``: the
        reload never started, so the crossing may reload again."""
        back = (
            Update(self._keys, {"key_id": reload.key_id})
            .add(f"{RELOADED}{reload.month}", -reload.amount)
            .add("reloads_returned", {reload.reference})
            .require(attr("key_id").exists())
            .require(~attr("reloads_returned").contains(reload.reference))
        )
        if unmark:
            back.remove("reload_pending").require(attr("reload_pending").eq(reload.reference))
        try:
            with conditional("Could not give the reload back."):
                self._client.update_item(**back.request())
        except ConditionFailed:
            pass  # given back already
