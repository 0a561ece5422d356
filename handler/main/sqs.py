"""The queue functions' shared step: a batch of SQS records, each given to the function's
record handler, the failed ones reported for retry."""

from collections.abc import Callable
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext


def process(
    function: str,
    event: dict[str, Any],
    context: LambdaContext,
    record_handler: Callable[..., None],
) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor(function), context=context
    )


@cache
def processor(function: str) -> BatchProcessor:
    # Partial batch responses: only the records that failed are retried. One per function:
    # a processor holds its batch's records while it runs (the local stack runs every
    # function in one process). A batch whose every record failed is reported the same way,
    # not raised: a webhook endpoint that is down (one message per invocation) is a record to
    # retry, logged in one line, not a function error with a traceback that FunctionErrorsAlarm
    # would count; records that keep failing reach their dead-letter queue and its alarm.
    return BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
