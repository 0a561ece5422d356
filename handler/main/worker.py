"""WorkerFunction: the work queue; each message a batch line or an async job, run through the
paid path; failed ones come back (``work/worker.py``). Each backend is loaded by the first line
that needs it, or by an init phase that makes everything."""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from handler import generation_container
from handler.config import get_settings
from handler.core.deadline import Deadline
from handler.main import phases, sqs
from handler.observability import logger, metrics
from handler.stores.queue import from_message


def run(record: SQSRecord, lambda_context: LambdaContext) -> None:
    margin = get_settings().worker_margin_ms
    deadline = Deadline.after((lambda_context.get_remaining_time_in_millis() - margin) / 1000)
    generation_container.worker().run(from_message(record.body), deadline)
    metrics.add_metric(name="LinesRun", unit=MetricUnit.Count, value=1)


def warm(everything: bool) -> None:
    generation_container.worker()
    if everything:
        backends = generation_container.backends()
        for name in backends:
            backends[name]


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return sqs.process("worker", event, context, run)


phases.start(warm)
