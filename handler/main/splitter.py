"""SplitterFunction: S3's notifications of batch input files, through SQS; each file is checked
and its lines queued (``work/splitter.py``)."""

import json
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from handler import work_container
from handler.main import phases, sqs
from handler.observability import logger, metrics


def split(record: SQSRecord) -> None:
    files = json.loads(record.body).get("Records", [])  # none in S3's test event
    for entry in files:
        s3 = entry["s3"]
        work_container.splitter().split(
            s3["bucket"]["name"], s3["object"]["key"], s3["object"].get("eTag", "")
        )
    metrics.add_metric(name="BatchFilesRead", unit=MetricUnit.Count, value=len(files))


def warm(everything: bool) -> None:
    work_container.splitter()


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return sqs.process("splitter", event, context, split)


phases.start(warm)
