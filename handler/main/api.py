"""ApiFunction: the public HTTP API, API Gateway's events through Mangum into the app.

On demand, the init phase builds the app with each route module waiting for the first request
that asks for it, and makes the key store, which every route but the health check and the
console asks first; a snapshotted init phase includes every route module and makes every
service, the catalog's backends among them (``phases.py``)."""

from functools import cache
from typing import Any, cast

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from fastapi import FastAPI
from mangum.types import LambdaContext as MangumContext

from handler import container
from handler.api.lambda_entry import LambdaEntry
from handler.api.lazy_routes import include_all
from handler.app import create_app
from handler.main import phases, serving
from handler.observability import count_status, logger, metrics


@cache
def app() -> FastAPI:
    return create_app(lazy=not phases.complete())


@cache
def entry() -> LambdaEntry:
    # Mangum, with lifespan="off", each invocation on an event loop of its own.
    return LambdaEntry(app())


def warm(everything: bool) -> None:
    entry()
    container.key_store()
    if everything:
        include_all(app())
        serving.make_everything()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # One Lambda context object; Powertools and Mangum each type it with their own protocol.
    response: dict[str, Any] = entry()(event, cast(MangumContext, context))
    count_status(int(response["statusCode"]))
    return response


phases.start(warm, keep=(app, entry, container.catalog))
