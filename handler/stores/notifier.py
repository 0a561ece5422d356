"""Telling the world a batch or job finished: an EventBridge event, and a signed webhook.

Both are at least once: a finalization that is retried announces again, with the same
``webhook-id`` so receivers can tell. A webhook that keeps failing is logged and given up on;
the batch's status stays the source of truth.
"""

import json
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import httpx
from botocore.exceptions import BotoCoreError, ClientError

from handler.core.batches import Batch
from handler.core.webhooks import signature_headers, signing_secret
from handler.observability import logger
from handler.stores.clients import events_client

if TYPE_CHECKING:
    from mypy_boto3_events.client import EventBridgeClient

EVENT_SOURCE = "imagegate"
_DETAIL_TYPES = {"batch": "Batch Finished", "job": "Image Job Finished"}
WEBHOOK_ATTEMPTS = 3
_WEBHOOK_TIMEOUT = httpx.Timeout(10.0, connect=3.0)


class EventNotifier:
    def __init__(
        self,
        event_bus: str,
        master_secret: Callable[[], str],
        client: "EventBridgeClient | None" = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self._bus = event_bus
        self._master_secret = master_secret
        self._client = client or events_client()
        self._transport = transport  # a fake receiver in tests
        self._sleep = sleep

    def finished(self, batch: Batch, event: Mapping[str, Any], webhook: Mapping[str, Any]) -> None:
        self._event(batch, event)
        if batch.webhook_url:
            self._webhook(batch, batch.webhook_url, webhook)

    def _event(self, batch: Batch, payload: Mapping[str, Any]) -> None:
        try:
            response = self._client.put_events(
                Entries=[
                    {
                        "Source": EVENT_SOURCE,
                        "DetailType": _DETAIL_TYPES[batch.kind],
                        "Detail": json.dumps(payload),
                        "EventBusName": self._bus,
                        "Resources": [],
                    }
                ]
            )
        except (ClientError, BotoCoreError):
            logger.exception("event not sent", batch_id=batch.id)
            return
        if response.get("FailedEntryCount"):
            logger.error("event not accepted", batch_id=batch.id, entries=response["Entries"])

    def _webhook(self, batch: Batch, url: str, payload: Mapping[str, Any]) -> None:
        body = json.dumps(
            {"type": f"{batch.kind}.{payload['status']}", "data": payload}, separators=(",", ":")
        ).encode()
        secret = signing_secret(self._master_secret(), batch.key_id)
        # A client per delivery: webhooks go to many hosts, rarely twice to one.
        with httpx.Client(
            timeout=_WEBHOOK_TIMEOUT, follow_redirects=False, transport=self._transport
        ) as http:
            self._deliver(http, url, batch.id, secret, body)

    def _deliver(
        self, http: httpx.Client, url: str, batch_id: str, secret: str, body: bytes
    ) -> None:
        for attempt in range(WEBHOOK_ATTEMPTS):
            headers = signature_headers(secret, f"msg_{batch_id}", int(time.time()), body)
            try:
                response = http.post(
                    url,
                    content=body,
                    headers={**headers, "content-type": "application/json"},
                )
            except httpx.HTTPError as exc:
                outcome = type(exc).__name__
            else:
                if response.is_success:
                    logger.info("webhook delivered", batch_id=batch_id, attempt=attempt + 1)
                    return
                outcome = f"HTTP {response.status_code}"
            logger.warning(
                "webhook failed", batch_id=batch_id, attempt=attempt + 1, outcome=outcome
            )
            if attempt + 1 < WEBHOOK_ATTEMPTS:
                self._sleep(2.0**attempt)
        logger.error("webhook given up", batch_id=batch_id)
