"""MemberApiFunction: ``/v1/me`` and ``/v1/account``, members signed in to the console
(``handler/member_app.py``)."""

from functools import cache
from typing import Any, cast

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from fastapi import FastAPI
from mangum.types import LambdaContext as MangumContext

from handler import accounts_container, container
from handler.api.lambda_entry import LambdaEntry
from handler.api.lazy_routes import include_all
from handler.main import phases
from handler.member_app import create_member_app
from handler.observability import count_status, logger, metrics


@cache
def app() -> FastAPI:
    return create_member_app(lazy=not phases.complete())


@cache
def entry() -> LambdaEntry:
    return LambdaEntry(app())


def warm(everything: bool) -> None:
    entry()
    if everything:
        include_all(app())
        accounts_container.account_keys()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    response: dict[str, Any] = entry()(event, cast(MangumContext, context))
    count_status(int(response["statusCode"]))
    return response


phases.start(warm, keep=(app, entry, container.catalog))
