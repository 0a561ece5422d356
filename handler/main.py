"""Composition root: the Lambda entry points.

Decorator order, outermost first: Logger (correlation id from API Gateway, cold start,
context keys), Tracer (one segment per invocation; responses are not captured, they may be
megabytes of base64), Metrics (flushed after the response is known).
"""

from functools import cache
from typing import Any, cast

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from mangum import Mangum
from mangum.types import LambdaContext as MangumContext

from handler import container
from handler.app import create_app
from handler.observability import logger, metrics, tracer


@cache
def _asgi() -> Mangum:
    # lifespan="off": Mangum would otherwise run the app's lifespan on every invocation.
    return Mangum(create_app(), lifespan="off")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics(capture_cold_start_metric=True)
def api_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # One Lambda context object; Powertools and Mangum each type it with their own protocol.
    response: dict[str, Any] = _asgi()(event, cast(MangumContext, context))
    status = int(response["statusCode"])
    metrics.add_metric(name=f"Http{status // 100}xx", unit=MetricUnit.Count, value=1)
    return response


@logger.inject_lambda_context
@metrics.log_metrics
def reconcile_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    """Scheduled: refund the reservations no request settled (see ``core/billing.py``)."""
    reconciled = container.billing().reconcile()
    metrics.add_metric(name="ReservationsReconciled", unit=MetricUnit.Count, value=len(reconciled))
    return {"reconciled": len(reconciled)}
