"""Composition root: the Lambda entry points.

Decorator order, outermost first: Logger (correlation id from API Gateway, cold start,
context keys), Metrics (flushed after the response is known).

In Lambda, importing this module is the init phase (what SnapStart snapshots): ``initialize``
builds the app, loads and checks the catalog, imports the backends it serves and makes the
clients, so the first request does none of it; ``after_restore`` renews what restored copies
of one snapshot must not share.
"""

import random
from functools import cache
from typing import Any, cast

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext
from mangum.types import LambdaContext as MangumContext

from handler import billing_container, container, queued
from handler.api.lambda_entry import LambdaEntry
from handler.aws.clients import forget_sessions
from handler.config import lambda_runtime
from handler.keys import commands
from handler.money import reconciler
from handler.observability import count_status, logger, metrics


@cache
def _asgi() -> LambdaEntry:
    # Imported here: the queue functions share this module and never serve HTTP, so they
    # do not register its routes (the API function builds the app in its init phase).
    from handler.app import create_app

    # Mangum, with lifespan="off", each invocation on an event loop of its own.
    return LambdaEntry(create_app())


@cache
def _admin_asgi() -> LambdaEntry:
    from handler.app import create_admin_app

    return LambdaEntry(create_admin_app())


@cache
def _member_asgi() -> LambdaEntry:
    from handler.app import create_member_app

    return LambdaEntry(create_member_app())


def stream_app() -> Any:
    """The streaming function's app (``StreamFunction``): the same app, served by uvicorn
    behind the Lambda Web Adapter (``infra/web-adapter/run.sh``), which streams what it
    answers back through API Gateway."""
    from handler.api.web_adapter import FromWebAdapter
    from handler.app import create_app

    return FromWebAdapter(create_app())


def initialize() -> None:
    """Lambda's init phase: the app built, the catalog loaded and checked, the backends it
    serves imported, the clients made. A failure is logged, not raised: the first request
    meets it again and answers with it."""
    try:
        serving = lambda_runtime().handler
        if serving.endswith(".api_handler"):
            _asgi()
        elif serving.endswith(".admin_api_handler"):
            _admin_asgi()
        elif serving.endswith(".member_api_handler"):
            _member_asgi()
        _warm()
    except Exception:  # noqa: BLE001 - whatever it is, the first request reports it
        logger.exception("initialization failed; requests will report it")


def after_restore() -> None:
    """SnapStart restored this copy of the snapshot, as it did others: each draws its own
    random sequence and makes its own clients (connections, credentials and their clocks are
    not to be shared). The app, the catalog and the imported modules are kept."""
    random.seed()
    forget_sessions()  # the default session's credentials, resolved before the snapshot
    container.reset(keep=(_asgi, _admin_asgi, _member_asgi, container.catalog))
    try:
        _warm()
    except Exception:  # noqa: BLE001 - as at init: the first request reports it
        logger.exception("warming after restore failed; requests will report it")


def _warm() -> None:
    """Make what requests and queued work use (the backends the catalog serves, their
    modules imported; services and their clients), calling nothing over the network."""

    backends = container.backends()
    for name in backends:
        backends[name]
    container.generation_service()
    container.async_jobs()
    container.batches()
    container.work_reader()
    container.worker()
    container.splitter()


def _snapstart_hooks() -> None:
    try:
        from snapshot_restore_py import register_after_restore  # in Lambda's Python runtimes
    except ImportError:
        return
    register_after_restore(after_restore)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics(capture_cold_start_metric=True)
def api_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # One Lambda context object; Powertools and Mangum each type it with their own protocol.
    response: dict[str, Any] = _asgi()(event, cast(MangumContext, context))
    status = int(response["statusCode"])
    count_status(status)
    return response


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def admin_api_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """``/admin/v1``, IAM-signed: the operators' routes (``create_admin_app``)."""
    response: dict[str, Any] = _admin_asgi()(event, cast(MangumContext, context))
    count_status(int(response["statusCode"]))
    return response


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def member_api_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """``/v1/me`` and ``/v1/account``, members signed in to the console (``create_member_app``)."""
    response: dict[str, Any] = _member_asgi()(event, cast(MangumContext, context))
    count_status(int(response["statusCode"]))
    return response


@logger.inject_lambda_context
@metrics.log_metrics
def reconcile_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    """Scheduled: refund the reservations no request settled, then hold every key's balance
    against its ledger (``money/reconciler.py``)."""
    found = reconciler.reconcile(container.charge_store(), container.entries())
    metrics.add_metric(
        name="ReservationsReconciled", unit=MetricUnit.Count, value=found["reconciled"]
    )
    metrics.add_metric(name="LedgerMismatches", unit=MetricUnit.Count, value=found["off_ledger"])
    return found


@logger.inject_lambda_context
@metrics.log_metrics
def splitter_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """SQS (S3 notifications of batch input files): validate each file, queue its lines."""
    return process_partial_response(
        event=event, record_handler=queued.split, processor=_processor("splitter"), context=context
    )


@logger.inject_lambda_context
@metrics.log_metrics
def worker_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """SQS (the work queue): run each batch line or async job; failed ones come back."""
    return process_partial_response(
        event=event, record_handler=queued.run, processor=_processor("worker"), context=context
    )


@logger.inject_lambda_context
@metrics.log_metrics
def dead_letter_handler(
    event: dict[str, Any], context: LambdaContext
) -> PartialItemFailureResponse:
    """SQS (the work queue's dead letters): record each line that kept failing as an error."""
    return process_partial_response(
        event=event,
        record_handler=queued.give_up,
        processor=_processor("dead_letter"),
        context=context,
    )


@logger.inject_lambda_context
def admin_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """``aws lambda invoke``: an operator's command on keys (``keys/commands.py``)."""
    result = commands.run(event, billing_container.key_admin())
    # Never the key itself: only its id reaches the logs.
    action = event.get("action") if isinstance(event, dict) else None
    logger.info("admin command", action=action, key_id=result.get("key_id"))
    return result


@logger.inject_lambda_context
@metrics.log_metrics
def webhook_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """SQS (the webhook queue): one delivery attempt per message; a failed one comes back."""
    return process_partial_response(
        event=event,
        record_handler=queued.deliver,
        processor=_processor("webhook"),
        context=context,
    )


@logger.inject_lambda_context
@metrics.log_metrics
def reload_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """SQS (the reload queue): charge each queued auto-reload to its key's saved card."""
    return process_partial_response(
        event=event, record_handler=queued.reload, processor=_processor("reload"), context=context
    )


@cache
def _processor(function: str) -> BatchProcessor:
    # Partial batch responses: only the records that failed are retried. One per function:
    # a processor holds its batch's records while it runs (the local stack runs all three
    # functions in one process). A batch whose every record failed is reported the same way,
    # not raised: a webhook endpoint that is down (one message per invocation) is a record to
    # retry, logged in one line, not a function error with a traceback that FunctionErrorsAlarm
    # would count; records that keep failing reach their dead-letter queue and its alarm.
    return BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


# Lambda's init phase only: importing this module elsewhere (tests, the local stack) does no
# work.
if lambda_runtime().in_lambda:
    initialize()
    _snapstart_hooks()
