"""ReloadFunction: the reload queue; each queued auto-reload charged to its key's saved card
(``money/reloads.py``)."""

from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from handler import billing_container
from handler.main import phases, sqs
from handler.money.stored.reloads import reload_of
from handler.observability import logger, metrics


def reload(record: SQSRecord) -> None:
    billing_container.card_top_ups().reload(reload_of(record.body))


def warm(everything: bool) -> None:
    if billing_container.card_terms() is not None:  # no cards, no reloads to run
        billing_container.card_top_ups()


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return sqs.process("reload", event, context, reload)


phases.start(warm)
