"""What the queue functions do with one SQS record each (``handler.main`` batches them)."""

import json
from functools import cache

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from handler import billing_container, container
from handler.config import get_settings
from handler.core.deadline import Deadline
from handler.core.webhooks import WebhookMessage
from handler.money.stored.reloads import reload_of
from handler.observability import logger, metrics
from handler.stores.queue import from_message
from handler.stores.webhook_errors import WebhookFailed, WebhookRefused
from handler.stores.webhooks import WebhookSender


def split(record: SQSRecord) -> None:
    files = json.loads(record.body).get("Records", [])  # none in S3's test event
    for entry in files:
        s3 = entry["s3"]
        container.splitter().split(
            s3["bucket"]["name"], s3["object"]["key"], s3["object"].get("eTag", "")
        )
    metrics.add_metric(name="BatchFilesRead", unit=MetricUnit.Count, value=len(files))


def run(record: SQSRecord, lambda_context: LambdaContext) -> None:
    margin = get_settings().worker_margin_ms
    deadline = Deadline.after((lambda_context.get_remaining_time_in_millis() - margin) / 1000)
    container.worker().run(from_message(record.body), deadline)
    metrics.add_metric(name="LinesRun", unit=MetricUnit.Count, value=1)


def reload(record: SQSRecord) -> None:
    billing_container.card_top_ups().reload(reload_of(record.body))


@cache
def webhook_sender() -> WebhookSender:
    """The webhook function's sender: nothing else sends webhooks."""
    settings = get_settings()
    return WebhookSender(container.webhook_master_secret, allow_local=settings.local_webhooks)


def deliver(record: SQSRecord) -> None:
    message = WebhookMessage.decode(record.body)
    try:
        webhook_sender().deliver(message)
    except WebhookRefused as refused:  # trying again cannot help
        logger.error("webhook refused", message_id=message.message_id, reason=str(refused))
        metrics.add_metric(name="WebhooksRefused", unit=MetricUnit.Count, value=1)
        return
    except WebhookFailed as failed:
        logger.warning("webhook failed", message_id=message.message_id, reason=str(failed))
        metrics.add_metric(name="WebhooksFailed", unit=MetricUnit.Count, value=1)
        raise
    metrics.add_metric(name="WebhooksDelivered", unit=MetricUnit.Count, value=1)


def give_up(record: SQSRecord) -> None:
    container.worker().give_up(from_message(record.body))
    metrics.add_metric(name="LinesDeadLettered", unit=MetricUnit.Count, value=1)
