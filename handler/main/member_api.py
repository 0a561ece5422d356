"""MemberApiFunction: ``/v1/me`` and ``/v1/account``, members signed in to the console
(``handler/member_app.py``)."""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from handler import accounts_container, container
from handler.main import phases
from handler.main.http import ServedApp
from handler.member_app import create_member_app
from handler.observability import logger, metrics

served = ServedApp(create_member_app)


def warm(everything: bool) -> None:
    served.warm(everything)
    if everything:
        accounts_container.account_keys()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return served.answer(event, context)


phases.start(warm, keep=(container.catalog,))
