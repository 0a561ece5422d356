"""AdminApiFunction: ``/admin/v1``, IAM-signed callers only (``handler/admin_app.py``)."""

from functools import cache
from typing import Any, cast

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from fastapi import FastAPI
from mangum.types import LambdaContext as MangumContext

from handler import accounts_container, container, moderation_container
from handler.admin_app import create_admin_app
from handler.api.lambda_entry import LambdaEntry
from handler.api.lazy_routes import include_all
from handler.main import phases
from handler.observability import count_status, logger, metrics


@cache
def app() -> FastAPI:
    return create_admin_app(lazy=not phases.complete())


@cache
def entry() -> LambdaEntry:
    return LambdaEntry(app())


def warm(everything: bool) -> None:
    entry()
    if everything:
        include_all(app())
        accounts_container.key_admin()
        accounts_container.account_members()
        moderation_container.account_moderation()


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    response: dict[str, Any] = entry()(event, cast(MangumContext, context))
    count_status(int(response["statusCode"]))
    return response


phases.start(warm, keep=(app, entry, container.catalog))
