"""Telling the world a batch or job finished: an EventBridge event, and a signed webhook.

Both are at least once: a finalization that is retried announces again, with the same
``webhook-id`` so receivers can tell. The webhook is not sent here: it is queued for the
webhook function (``stores/webhooks.py``), so a slow or failing receiver delays only its own
delivery, never the line or job that finished. An event the bus refuses is logged; a webhook
that cannot be queued raises, for the finalization to be tried again.
"""

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from handler.aws.clients import events_client, sqs_client
from handler.aws.errors import aws_errors
from handler.core.records.work import Work
from handler.core.webhooks import WebhookMessage
from handler.observability import logger

if TYPE_CHECKING:
    from mypy_boto3_events.client import EventBridgeClient
    from mypy_boto3_sqs.client import SQSClient

EVENT_SOURCE = "imagegate"


class EventNotifier:
    def __init__(
        self,
        event_bus: str,
        webhook_queue_url: str,
        client: "EventBridgeClient | None" = None,
        sqs: "SQSClient | None" = None,
    ):
        self._bus = event_bus
        self._webhook_queue = webhook_queue_url
        self._client = client or events_client()
        self._sqs = sqs or sqs_client()

    def finished(self, batch: Work, event: Mapping[str, Any], webhook: Mapping[str, Any]) -> None:
        self._event(batch, event)
        if batch.webhook_url:
            self._queue_webhook(batch, batch.webhook_url, webhook)

    def _event(self, batch: Work, payload: Mapping[str, Any]) -> None:
        self.announce(batch.detail_type, payload, about=batch.id)

    def announce(self, detail_type: str, detail: Mapping[str, Any], *, about: str) -> None:
        """One event on the bus (source ``imagegate``); one it refuses is logged."""
        try:
            response = self._client.put_events(
                Entries=[
                    {
                        "Source": EVENT_SOURCE,
                        "DetailType": detail_type,
                        "Detail": json.dumps(detail),
                        "EventBusName": self._bus,
                        "Resources": [],
                    }
                ]
            )
        except (ClientError, BotoCoreError):
            logger.exception("event not sent", about=about)
            return
        if response.get("FailedEntryCount"):
            logger.error("event not accepted", about=about, entries=response["Entries"])

    def _queue_webhook(self, batch: Work, url: str, payload: Mapping[str, Any]) -> None:
        body = json.dumps(
            {"type": batch.webhook_type(payload["status"]), "data": payload}, separators=(",", ":")
        )
        message = WebhookMessage(url, batch.key_id, f"msg_{batch.id}", body)
        # Raised: the finalization is retried, and announces again (at least once).
        with aws_errors("Could not queue the webhook."):
            self._sqs.send_message(QueueUrl=self._webhook_queue, MessageBody=message.encode())
