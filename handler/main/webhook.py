"""WebhookFunction: the webhook queue; one delivery attempt per message, a failed one comes
back (``stores/webhooks.py``). Nothing else sends webhooks."""

from functools import cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from handler.aws.secrets import secret_reader
from handler.config import get_settings
from handler.core.webhooks import WebhookMessage
from handler.main import phases, sqs
from handler.observability import logger, metrics
from handler.stores.webhook_errors import WebhookFailed, WebhookRefused
from handler.stores.webhooks import WebhookSender


@cache
def webhook_sender() -> WebhookSender:
    settings = get_settings()
    secret = secret_reader(settings.webhook_secret, settings.webhook_secret_name, "webhook secret")
    return WebhookSender(secret, allow_local=settings.local_webhooks)


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


def warm(everything: bool) -> None:
    webhook_sender()


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return sqs.process("webhook", event, context, deliver)


phases.start(warm)
