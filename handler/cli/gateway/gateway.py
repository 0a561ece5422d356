"""One request, answered as API Gateway answers it: routed, limited, handed to the function
as a proxy event, and its answer (or its failure) turned back into HTTP."""

import json
import logging
import threading
import time
import uuid
from collections.abc import Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from handler.cli.functions import Handler, import_handler, invoke
from handler.cli.gateway.answers import (
    MAX_LAMBDA_PAYLOAD_BYTES,
    Answer,
    gateway_headers,
    proxy_answer,
)
from handler.cli.gateway.events import ACCOUNT_ID, first_header, proxy_event
from handler.cli.gateway.iam import Refusal, SigningKeys, keys_for, process_signing_keys, verify
from handler.cli.gateway.rest_api import RestApi, Route
from handler.cli.gateway.streaming import streamed_answer, web_app
from handler.cli.sqs_event import LambdaContext

logger = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 10 * 1024 * 1024  # API Gateway's payload quota, not adjustable
REGION = "us-east-1"


@dataclass(frozen=True)
class _Kind:
    """A gateway response type: its status (unless the template sets one), the message
    ``$context.error.messageString`` holds, and the ``x-amzn-ErrorType`` header."""

    status: int
    message: str
    error_type: str


_NO_ROUTE = _Kind(403, "Missing Authentication Token", "MissingAuthenticationTokenException")
_TOO_LARGE = _Kind(413, "Request Too Long", "RequestTooLongException")
_TIMED_OUT = _Kind(504, "Endpoint request timed out", "InternalServerErrorException")
_FUNCTION_FAILED = _Kind(502, "Internal server error", "InternalServerErrorException")
_KINDS = {
    _NO_ROUTE: "MISSING_AUTHENTICATION_TOKEN",
    _TOO_LARGE: "REQUEST_TOO_LARGE",
    _TIMED_OUT: "INTEGRATION_TIMEOUT",
    _FUNCTION_FAILED: "DEFAULT_5XX",  # a Lambda error has no response type of its own
}
_DEFAULT_TEMPLATE = '{"message":$context.error.messageString}'


class Gateway:
    """Takes one HTTP request at a time per thread and answers it as API Gateway would."""

    def __init__(
        self,
        api: RestApi,
        handlers: Mapping[str, Handler] | None = None,
        signing_keys: SigningKeys | None = None,
    ):
        """``handlers``: the functions by logical id (tests); by default, each route's
        ``Handler`` from the template, imported. ``signing_keys``: the credentials an
        ``AWS_IAM`` route takes signatures of (by default, this process's own: the local
        stack's)."""
        self.api = api
        if handlers is None:
            handlers = {
                route.function: import_handler(route.handler)
                for route in api.routes
                if not route.streams
            }
        self._handlers = dict(handlers)
        # A streamed route's web app, made once, as its function's web server makes it.
        self._web_apps = {
            route.function: web_app(route.web_app)
            for route in api.routes
            if route.web_app is not None
        }
        self._signing_keys = signing_keys or process_signing_keys()

    def handle(
        self,
        method: str,
        path: str,
        query: str,
        headers: list[tuple[str, str]],
        body: bytes | None,
        source_ip: str,
    ) -> Answer:
        """``body`` is None when it was over the limit and not read."""
        request_id = str(uuid.uuid4())
        received = time.time()
        stage, _, rest = path.lstrip("/").partition("/")
        if stage != self.api.stage:
            return _outside_the_stage(self.api.stage, headers, request_id)
        resource_path = f"/{rest}"
        found = self.api.route(resource_path, method)
        if found is None:
            return self._respond(_NO_ROUTE, request_id)
        if body is None:
            return self._respond(_TOO_LARGE, request_id)
        route, parameters = found
        identity = None
        if route.authorization == "AWS_IAM":
            host = first_header(headers, "host") or "localhost"
            url = f"http://{host}{path}" + (f"?{query}" if query else "")
            keys = keys_for(first_header(headers, "authorization"), self._signing_keys)
            checked = verify(keys, method=method, url=url, headers=headers, body=body)
            if isinstance(checked, Refusal):
                kind = _Kind(403, checked.message, checked.error_type)
                return self._respond(kind, request_id, checked.kind)
            identity = checked
        event = proxy_event(
            self.api,
            route,
            parameters,
            method=method,
            path=resource_path,
            query=query,
            headers=headers,
            body=body,
            source_ip=source_ip,
            request_id=request_id,
            received=received,
        )
        if identity is not None:
            event["requestContext"]["identity"].update(identity)
        if len(json.dumps(event).encode()) > MAX_LAMBDA_PAYLOAD_BYTES:
            # Under API Gateway's 10 MB, over what Lambda takes: a binary body is a third
            # larger as base64. The function never runs.
            return self._respond(_TOO_LARGE, request_id)
        if route.streams:
            return self._stream(route, event, request_id)
        outcome = self._invoke(route, event)
        if outcome is None:
            return self._respond(_TIMED_OUT, request_id)
        answer = proxy_answer(self.api, outcome, headers, request_id)
        if answer is None:
            return self._respond(_FUNCTION_FAILED, request_id)
        return answer

    def _stream(self, route: Route, event: dict[str, Any], request_id: str) -> Answer:
        """A streamed route's answer: its headers once the app sent them (within the
        integration timeout), its body as the app writes it."""
        answer = streamed_answer(
            self._web_apps[route.function], route, event, self._function_arn(route)
        )
        return answer or self._respond(_TIMED_OUT, request_id)

    @staticmethod
    def _function_arn(route: Route) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{route.function}"

    def _invoke(self, route: Route, event: dict[str, Any]) -> "Future[Any] | None":
        """The handler's outcome, or None at the integration timeout (the call runs on, as the
        function would until its own timeout)."""
        context = LambdaContext(
            self._function_arn(route),
            route.memory_mb,
            route.function_timeout_seconds,
        )
        outcome: Future[Any] = Future()
        handler = self._handlers[route.function]

        def call() -> None:
            # No event loop is set on this thread, as none is on Lambda's: the handler makes
            # its own.
            try:
                request_id = event["requestContext"]["requestId"]
                outcome.set_result(invoke(handler, event, context, request_id))
            except BaseException as exc:  # what a crashed Lambda process gives: nothing
                logger.exception("%s failed", route.function)
                outcome.set_exception(exc)

        threading.Thread(target=call, name=route.function, daemon=True).start()
        try:
            outcome.exception(timeout=route.integration_timeout_ms / 1000)
        except TimeoutError:
            return None
        return outcome

    def _respond(self, kind: _Kind, request_id: str, response_type: str | None = None) -> Answer:
        """The template's response for ``kind`` (replacing the default whole), else its default."""
        fallback = "DEFAULT_5XX" if kind.status >= 500 else "DEFAULT_4XX"
        chosen = self.api.responses.get(response_type or _KINDS[kind])
        chosen = chosen or self.api.responses.get(fallback)
        template = (chosen and chosen.template) or _DEFAULT_TEMPLATE
        extra = chosen.header_values(request_id) if chosen else []
        status = chosen.status if chosen and chosen.status else kind.status
        body = template.replace("$context.error.messageString", json.dumps(kind.message))
        body = body.replace("$context.error.message", kind.message)
        body = body.replace("$context.requestId", request_id)
        headers = _json_headers(request_id, kind.error_type) + extra
        return Answer(status, headers, body.encode(), request_id)


def _outside_the_stage(stage: str, headers: list[tuple[str, str]], request_id: str) -> Answer:
    """A path before any stage: API Gateway's own 403, which no setting of the API reaches.
    Here, where the mistake is a base URL without the stage, its body is OpenAI's envelope
    naming the base URL to use (an SDK shows the message; the bare one reads as a bad key)."""
    base_url = f"http://{first_header(headers, 'host') or 'localhost'}/{stage}/v1"
    message = f"This path is outside the API's stage: the base URL is {base_url}"
    error = {"message": message, "type": "invalid_request_error", "param": None}
    body = json.dumps({"error": {**error, "code": "wrong_base_url"}}).encode()
    return Answer(403, _json_headers(request_id, "ForbiddenException"), body, request_id)


def _json_headers(request_id: str, error_type: str) -> list[tuple[str, str]]:
    headers = [("Content-Type", "application/json"), *gateway_headers(request_id)]
    if error_type:
        headers.append(("x-amzn-ErrorType", error_type))
    return headers
