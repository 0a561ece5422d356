"""The app as the streaming function runs it: behind the AWS Lambda Web Adapter.

API Gateway can stream a response only from a function invoked with response streaming, which
Lambda's Python runtime does not offer; the Lambda Web Adapter (an AWS extension) does: it
forwards each event to a web server in the function as plain HTTP and streams the answer
back. API Gateway's request context and Lambda's invocation context come along in two headers
(``x-amzn-request-context``, ``x-amzn-lambda-context``). ``FromWebAdapter`` puts them back
where Mangum puts them for the buffered function (``scope["aws.event"]``,
``scope["aws.context"]``), so the app answers alike behind both; and, as the buffered
function's decorators do, it sets the log's correlation id and flushes the metrics of each
request.
"""

import json
import time
from dataclasses import dataclass
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from handler.observability import count_status, logger, metrics

REQUEST_CONTEXT = b"x-amzn-request-context"
LAMBDA_CONTEXT = b"x-amzn-lambda-context"


@dataclass(frozen=True)
class Invocation:
    """What the app reads of a Lambda context: the time left."""

    deadline_ms: int

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self.deadline_ms - int(time.time() * 1000))


class FromWebAdapter:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope = {**scope, **_lambda_scope(scope)}
        request_id = ((scope.get("aws.event") or {}).get("requestContext") or {}).get("requestId")
        logger.set_correlation_id(request_id)
        status = 500

        async def sent(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sent)
        finally:
            count_status(status)
            metrics.flush_metrics()
            logger.set_correlation_id(None)


def _lambda_scope(scope: Scope) -> dict[str, Any]:
    """``aws.event`` (the proxy event's parts the app reads) and ``aws.context``, from the
    adapter's headers; nothing where they are missing or unreadable."""
    headers = dict(scope.get("headers") or [])
    extra: dict[str, Any] = {}
    context = _json(headers.get(REQUEST_CONTEXT))
    if context is not None:
        # A streamed route is a literal resource: it has no path parameters to fill in.
        extra["aws.event"] = {"resource": context.get("resourcePath"), "requestContext": context}
    invocation = _json(headers.get(LAMBDA_CONTEXT))
    if invocation is not None:
        deadline = invocation.get("deadline", invocation.get("deadline_ms"))
        if isinstance(deadline, int):
            extra["aws.context"] = Invocation(deadline)
    return extra


def _json(raw: bytes | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
