"""DeadLetterFunction: the work queue's dead letters; each line that kept failing is recorded
as an error line, what it still had reserved refunded (``work/worker.py``, ``give_up``)."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from handler import generation_container
from handler.main import phases, sqs
from handler.observability import logger, metrics
from handler.stores.queue import from_message


def give_up(record: SQSRecord) -> None:
    generation_container.worker().give_up(from_message(record.body))
    metrics.add_metric(name="LinesDeadLettered", unit=MetricUnit.Count, value=1)


def warm(everything: bool) -> None:
    generation_container.worker()


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return sqs.process("dead_letter", event, context, give_up)


phases.start(warm)
