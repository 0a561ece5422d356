"""ApiFunction: the public HTTP API, API Gateway's events through Mangum into the app.

On demand, the init phase builds the app with each route module waiting for the first request
that asks for it, and makes the key store, which every route but the health check and the
console asks first; a snapshotted init phase includes every route module and makes every
service, the catalog's backends among them (``phases.py``)."""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from handler import container
from handler.app import create_app
from handler.main import phases, serving
from handler.main.http import ServedApp
from handler.observability import logger, metrics

served = ServedApp(create_app)


def warm(everything: bool) -> None:
    served.warm(everything)
    container.key_store()
    if everything:
        serving.make_everything()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return served.answer(event, context)


phases.start(warm, keep=(container.catalog,))
