"""Low-balance alerts (``money/alerts.py``): the key's mark set by a conditional write (so one
alert per crossing however many requests see it), then the event and the webhook, queued for
the webhook function as every webhook is."""

import json
import time
from typing import TYPE_CHECKING

from handler.aws.clients import dynamodb_client, sqs_client
from handler.aws.dynamo import ConditionFailed, conditional
from handler.aws.errors import aws_errors
from handler.aws.expressions import attr
from handler.aws.writes import Update
from handler.core.records.keys import ApiKeyRecord
from handler.core.webhooks import WebhookMessage
from handler.observability import count, logger
from handler.stores.notifier import EventNotifier

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient


class DynamoDBBalanceAlerts:
    def __init__(
        self,
        keys_table: str,
        event_bus: str,
        webhook_queue_url: str,
        client: "DynamoDBClient | None" = None,
    ):
        self._keys = keys_table
        self._bus = event_bus
        self._webhook_queue = webhook_queue_url
        self._client = client or dynamodb_client()

    def balance_low(self, record: ApiKeyRecord) -> bool:
        at = int(time.time() * 1000)
        mark = (
            Update(self._keys, {"key_id": record.key_id})
            .set("low_balance_alerted", at)
            .require(attr("low_balance_alerted").not_exists())
            # Still low: a top-up that came in between leaves nothing to tell.
            .require(attr("balance").lt(attr("low_balance")))
        )
        try:
            with conditional("Could not mark the key's low balance."):
                self._client.update_item(**mark.request())
        except ConditionFailed:
            return False  # told already, by the request that crossed first
        detail = {
            "key_id": record.key_id,
            "balance": record.balance,
            "threshold": record.policy.low_balance_threshold,
            "created_ms": at,
        }
        # The bus's and the queue's clients are made here, at a crossing: not at every init.
        EventNotifier(self._bus, self._webhook_queue).announce(
            "Balance Low", detail, about=record.key_id
        )
        url = record.policy.webhook_url
        if url:
            body = json.dumps({"type": "balance.low", "data": detail}, separators=(",", ":"))
            message = WebhookMessage(url, record.key_id, f"msg_balance_low_{at}", body)
            with aws_errors("Could not queue the webhook."):
                sqs_client().send_message(
                    QueueUrl=self._webhook_queue, MessageBody=message.encode()
                )
        logger.info("balance low", key_id=record.key_id, balance=record.balance)
        count("BalanceLowAlerts")
        return True
