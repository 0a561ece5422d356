"""API Gateway's REST semantics, played locally in front of the API function's real handler.

A request reaches ``http://<host>:<port>/<stage>/...`` and goes the way it goes deployed:
the stage is the first path segment (another stage is API Gateway's bare 403), the path is
matched against the template's ``Api`` events (``/`` and ``/{proxy+}``), a body over 10 MB
is refused before any function runs, the proxy event is built (``headers`` and
``multiValueHeaders``, query strings, ``requestContext`` with the stage, request id and
arrival time, the body base64-encoded exactly when the template's ``BinaryMediaTypes`` match
its ``Content-Type``), and the function's handler is called in this process with a Lambda
context counting down from the function's ``Timeout``. A call still running at the
integration timeout is answered 504; a handler that raises, a malformed answer or one over
Lambda's 6 MB response limit is 502. Those answers, and every other one API Gateway makes by
itself, are the template's ``GatewayResponses``.

What it does not play: authorizers, API keys and usage plans, stage throttling, request
validation, CORS, mapping templates, WAF, and anything only an edge or custom domain does.

Dev-only: Lambda code never imports this.
"""

import asyncio
import base64
import binascii
import json
import logging
import re
import socket
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from handler.cli.runtime import Handler, import_handler, invoke
from handler.cli.sqs_event import LambdaContext
from handler.cli.template import Template

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

logger = logging.getLogger(__name__)

MAX_REQUEST_BYTES = 10 * 1024 * 1024  # API Gateway's payload quota, not adjustable
# A synchronous invocation's payload, each way, as Lambda counts it (the event, the answer).
MAX_LAMBDA_PAYLOAD_BYTES = 6_291_556
ACCOUNT_ID = "123456789012"
API_ID = "local"
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
_RAW_HEADERS = "imagegate.raw_headers"
# Hop-by-hop headers: the HTTP server writes its own.
_NOT_FORWARDED = {"connection", "keep-alive", "transfer-encoding", "content-length"}


@dataclass(frozen=True)
class Route:
    """One ``Api`` event of a function: a resource path and a method."""

    resource: str  # "/", "/v1/models/{id}", "/{proxy+}"
    method: str  # "ANY" or a verb
    function: str
    handler: str
    function_timeout_seconds: int
    memory_mb: int
    integration_timeout_ms: int

    def match(self, path: str, method: str) -> dict[str, str] | None:
        """The path parameters when the route takes ``path`` and ``method``, else None."""
        if self.method not in ("ANY", method):
            return None
        pattern = "".join(
            _segment_pattern(part) for part in re.split(r"(\{[^}]+\})", self.resource) if part
        )
        found = re.fullmatch(pattern, path)
        if found is None:
            return None
        return found.groupdict()

    @property
    def specificity(self) -> tuple[int, int]:
        """API Gateway prefers literal paths to parameters, and parameters to greedy ones."""
        return ("+}" not in self.resource, self.resource.count("/"))


def _segment_pattern(part: str) -> str:
    if part.startswith("{") and part.endswith("+}"):
        return f"(?P<{part[1:-2]}>.+)"
    if part.startswith("{"):
        return f"(?P<{part[1:-1]}>[^/]+)"
    return re.escape(part)


@dataclass(frozen=True)
class GatewayResponse:
    status: int | None
    headers: dict[str, str]
    template: str | None


@dataclass(frozen=True)
class RestApi:
    """What ``template.yaml`` declares of the REST API and the functions behind it."""

    stage: str
    binary_media_types: tuple[str, ...]
    routes: tuple[Route, ...]
    responses: dict[str, GatewayResponse]

    @classmethod
    def from_template(cls, template: Template, api: str = "Api") -> "RestApi":
        props = template.body["Resources"][api]["Properties"]
        names: dict[str, str] = {}
        routes = []
        for function, function_props in template.resources("AWS::Serverless::Function").items():
            for event in function_props.get("Events", {}).values():
                settings = event["Properties"]
                if event["Type"] != "Api" or settings.get("RestApiId") != {"Ref": api}:
                    continue
                timeout = template.function_property(function, "Timeout")
                memory = template.function_property(function, "MemorySize")
                routes.append(
                    Route(
                        resource=settings["Path"],
                        method=settings["Method"].upper(),
                        function=function,
                        handler=function_props["Handler"],
                        function_timeout_seconds=int(template.resolve(timeout or 3, names)),
                        memory_mb=int(template.resolve(memory or 128, names)),
                        integration_timeout_ms=int(
                            template.resolve(settings.get("TimeoutInMillis", 29000), names)
                        ),
                    )
                )
        responses = {
            kind: GatewayResponse(
                status=int(spec["StatusCode"]) if "StatusCode" in spec else None,
                headers={
                    name: value.strip("'")  # static values are quoted: "'false'"
                    for name, value in spec.get("ResponseParameters", {}).get("Headers", {}).items()
                },
                template=spec.get("ResponseTemplates", {}).get("application/json"),
            )
            for kind, spec in props.get("GatewayResponses", {}).items()
        }
        return cls(
            stage=template.resolve(props["StageName"], names),
            # SAM spells "/" as "~1" in BinaryMediaTypes (they become OpenAPI keys).
            binary_media_types=tuple(
                str(kind).replace("~1", "/").lower() for kind in props.get("BinaryMediaTypes", [])
            ),
            routes=tuple(sorted(routes, key=lambda route: route.specificity, reverse=True)),
            responses=responses,
        )

    def is_binary(self, media_type: str | None) -> bool:
        if not media_type:
            return False
        bare = media_type.split(";", 1)[0].strip().lower()
        return any(fnmatchcase(bare, pattern) for pattern in self.binary_media_types)

    def route(self, path: str, method: str) -> tuple[Route, dict[str, str]] | None:
        for route in self.routes:
            parameters = route.match(path, method)
            if parameters is not None:
                return route, parameters
        return None


@dataclass(frozen=True)
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    request_id: str


def proxy_event(
    api: RestApi,
    route: Route,
    parameters: dict[str, str],
    *,
    method: str,
    path: str,
    query: str,
    headers: list[tuple[str, str]],
    body: bytes,
    source_ip: str,
    request_id: str,
    received: float,
) -> dict[str, Any]:
    """The event API Gateway's Lambda proxy integration (payload 1.0) hands the function."""
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in headers:
        single[name] = value  # the last value, as API Gateway keeps it
        multi.setdefault(name, []).append(value)
    pairs = parse_qsl(query, keep_blank_values=True)
    multi_query: dict[str, list[str]] = {}
    for name, value in pairs:
        multi_query.setdefault(name, []).append(value)
    binary = api.is_binary(_first(headers, "content-type"))
    if not body:
        encoded: str | None = None
    elif binary:
        encoded = base64.b64encode(body).decode("ascii")
    else:
        # A text payload is UTF-8; bytes that are not become U+FFFD on the way.
        encoded = body.decode("utf-8", errors="replace")
    host = (_first(headers, "host") or "localhost").rsplit(":", 1)[0]
    return {
        "resource": route.resource,
        "path": path,
        "httpMethod": method,
        "headers": single or None,
        "multiValueHeaders": multi or None,
        "queryStringParameters": {name: values[-1] for name, values in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": parameters or None,
        "stageVariables": None,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": API_ID,
            "domainName": host,
            "domainPrefix": host.split(".", 1)[0],
            "extendedRequestId": _short_id(),
            "httpMethod": method,
            "identity": {
                "accessKey": None,
                "accountId": None,
                "caller": None,
                "cognitoAuthenticationProvider": None,
                "cognitoAuthenticationType": None,
                "cognitoIdentityId": None,
                "cognitoIdentityPoolId": None,
                "sourceIp": source_ip,
                "user": None,
                "userAgent": _first(headers, "user-agent"),
                "userArn": None,
            },
            "path": f"/{api.stage}{path}",
            "protocol": "HTTP/1.1",
            "requestId": request_id,
            "requestTime": datetime.fromtimestamp(received, UTC).strftime("%d/%b/%Y:%H:%M:%S %z"),
            "requestTimeEpoch": int(received * 1000),
            "resourceId": "local",
            "resourcePath": route.resource,
            "stage": api.stage,
        },
        "body": encoded,
        "isBase64Encoded": binary and bool(body),
    }


def _first(headers: list[tuple[str, str]], name: str) -> str | None:
    return next((value for key, value in headers if key.lower() == name), None)


class Gateway:
    """Takes one HTTP request at a time per thread and answers it as API Gateway would."""

    def __init__(self, api: RestApi, handlers: Mapping[str, Handler] | None = None):
        """``handlers``: the functions by logical id (tests); by default, each route's
        ``Handler`` from the template, imported."""
        self.api = api
        if handlers is None:
            handlers = {route.function: import_handler(route.handler) for route in api.routes}
        self._handlers = dict(handlers)

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
            # Before any stage: not even a gateway response.
            forbidden = _json_headers(request_id, "ForbiddenException")
            return Answer(403, forbidden, b'{"message":"Forbidden"}', request_id)
        resource_path = f"/{rest}"
        found = self.api.route(resource_path, method)
        if found is None:
            return self._respond(_NO_ROUTE, request_id)
        if body is None:
            return self._respond(_TOO_LARGE, request_id)
        route, parameters = found
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
        if len(json.dumps(event).encode()) > MAX_LAMBDA_PAYLOAD_BYTES:
            # Under API Gateway's 10 MB, over what Lambda takes: a binary body is a third
            # larger as base64. The function never runs.
            return self._respond(_TOO_LARGE, request_id)
        outcome = self._invoke(route, event)
        if outcome is None:
            return self._respond(_TIMED_OUT, request_id)
        answer = self._proxy_answer(outcome, headers, request_id)
        if answer is None:
            return self._respond(_FUNCTION_FAILED, request_id)
        return answer

    def _invoke(self, route: Route, event: dict[str, Any]) -> "Future[Any] | None":
        """The handler's outcome, or None at the integration timeout (the call runs on, as the
        function would until its own timeout)."""
        context = LambdaContext(
            f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{route.function}",
            route.memory_mb,
            route.function_timeout_seconds,
        )
        outcome: Future[Any] = Future()
        handler = self._handlers[route.function]

        def call() -> None:
            # Each invocation runs as in an execution environment of its own, whose thread
            # has an event loop (Mangum runs the app on the current one).
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            try:
                request_id = event["requestContext"]["requestId"]
                outcome.set_result(invoke(handler, event, context, request_id))
            except BaseException as exc:  # what a crashed Lambda process gives: nothing
                logger.exception("%s failed", route.function)
                outcome.set_exception(exc)
            finally:
                loop.run_until_complete(loop.shutdown_asyncgens())
                asyncio.set_event_loop(None)
                loop.close()

        threading.Thread(target=call, name=route.function, daemon=True).start()
        try:
            outcome.exception(timeout=route.integration_timeout_ms / 1000)
        except TimeoutError:
            return None
        return outcome

    def _proxy_answer(
        self, outcome: "Future[Any]", request_headers: list[tuple[str, str]], request_id: str
    ) -> Answer | None:
        """The HTTP answer of a proxy integration's result; None where API Gateway gives 502."""
        if outcome.exception() is not None:
            return None
        result = outcome.result()
        try:
            size = len(json.dumps(result).encode())
        except (TypeError, ValueError):
            return None
        if size > MAX_LAMBDA_PAYLOAD_BYTES:
            logger.error("the function's response is %d bytes, over Lambda's limit", size)
            return None
        if not isinstance(result, dict) or not isinstance(result.get("statusCode"), int):
            return None
        headers: dict[str, list[str]] = {
            name: [str(value)] for name, value in (result.get("headers") or {}).items()
        }
        # Where a header is in both, the multi-value list wins.
        headers.update(
            {
                name: [str(v) for v in values]
                for name, values in (result.get("multiValueHeaders") or {}).items()
            }
        )
        body = result.get("body") or ""
        if not isinstance(body, str):
            return None
        accept = _first(request_headers, "accept") or ""
        if result.get("isBase64Encoded") and self.api.is_binary(accept.split(",", 1)[0]):
            try:
                payload = base64.b64decode(body, validate=True)
            except binascii.Error:
                return None
        else:
            payload = body.encode()
        pairs = [
            (name, value)
            for name, values in headers.items()
            if name.lower() not in _NOT_FORWARDED
            for value in values
        ]
        pairs += _gateway_headers(request_id)
        return Answer(result["statusCode"], pairs, payload, request_id)

    def _respond(self, kind: _Kind, request_id: str) -> Answer:
        """A gateway response: the template's for ``kind``, else its DEFAULT_4XX/5XX."""
        fallback = "DEFAULT_5XX" if kind.status >= 500 else "DEFAULT_4XX"
        own = self.api.responses.get(_KINDS[kind])
        default = self.api.responses.get(fallback)
        template = (own and own.template) or (default and default.template) or _DEFAULT_TEMPLATE
        extra = {**(default.headers if default else {}), **(own.headers if own else {})}
        status = own.status if own and own.status else kind.status
        body = template.replace("$context.error.messageString", json.dumps(kind.message))
        body = body.replace("$context.error.message", kind.message)
        body = body.replace("$context.requestId", request_id)
        headers = _json_headers(request_id, kind.error_type) + list(extra.items())
        return Answer(status, headers, body.encode(), request_id)


def _short_id() -> str:
    """An id in the shape of API Gateway's ``x-amz-apigw-id``."""
    return base64.b32encode(uuid.uuid4().bytes[:10]).decode().rstrip("=")


def _gateway_headers(request_id: str) -> list[tuple[str, str]]:
    return [
        ("x-amzn-RequestId", request_id),
        ("x-amz-apigw-id", _short_id()),
    ]


def _json_headers(request_id: str, error_type: str) -> list[tuple[str, str]]:
    headers = [("Content-Type", "application/json"), *_gateway_headers(request_id)]
    if error_type:
        headers.append(("x-amzn-ErrorType", error_type))
    return headers


class GatewayServer:
    """A threaded HTTP server (werkzeug's, as moto's server uses) in front of a gateway.

    It listens from construction, so a taken port fails before anything else starts, and
    serves once it is given the gateway.
    """

    def __init__(self, host: str, port: int):
        from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

        class Quiet(WSGIRequestHandler):
            def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
                pass  # the gateway logs each request itself, with its request id

            def make_environ(self) -> "WSGIEnvironment":
                environ = super().make_environ()
                # As sent: WSGI's HTTP_* variables merge repeated headers and lose spelling.
                environ[_RAW_HEADERS] = [(name, value) for name, value in self.headers.items()]
                return environ

        self._gateway: Gateway | None = None
        # Bound here: werkzeug would exit the process on a port in use.
        with socket.create_server((host, port)) as listener:
            bound = listener.getsockname()[1]
            self._server = ThreadedWSGIServer(
                host, bound, self._wsgi, handler=Quiet, fd=listener.fileno()
            )
        # stop() waits for the requests being answered, as a deploy lets them finish.
        self._server.daemon_threads = False
        self._server.block_on_close = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="api-gateway", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self, gateway: Gateway) -> "GatewayServer":
        self._gateway = gateway
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop taking requests; one being answered is finished first."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join()

    def close(self) -> None:
        self.stop()
        self._server.server_close()

    def _wsgi(self, environ: "WSGIEnvironment", start_response: "StartResponse") -> Iterable[bytes]:
        assert self._gateway is not None  # serving starts with it
        started = time.monotonic()
        method = environ["REQUEST_METHOD"]
        # PATH_INFO is percent-decoded, as API Gateway's event path is.
        path = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace")
        answer = self._gateway.handle(
            method,
            path or "/",
            environ.get("QUERY_STRING", ""),
            _request_headers(environ),
            _read_body(environ),
            environ.get("REMOTE_ADDR", "127.0.0.1"),
        )
        start_response(
            f"{answer.status} {_reason(answer.status)}",
            [*answer.headers, ("Content-Length", str(len(answer.body)))],
        )
        logger.info(
            "%s %s %d %.0f ms %s",
            method,
            path,
            answer.status,
            (time.monotonic() - started) * 1000,
            answer.request_id,
        )
        return [answer.body] if method != "HEAD" else []


def _request_headers(environ: "WSGIEnvironment") -> list[tuple[str, str]]:
    """The client's headers as sent, with the ``X-Forwarded-*`` API Gateway adds."""
    client = environ.get("REMOTE_ADDR", "127.0.0.1")
    headers = [(name, value) for name, value in environ[_RAW_HEADERS]]
    forwarded = _first(headers, "x-forwarded-for")
    headers = [(name, value) for name, value in headers if name.lower() != "x-forwarded-for"]
    return [
        *headers,
        ("X-Forwarded-For", f"{forwarded}, {client}" if forwarded else client),
        ("X-Forwarded-Proto", environ.get("wsgi.url_scheme", "http")),
        ("X-Forwarded-Port", str(environ.get("SERVER_PORT", ""))),
    ]


def _read_body(environ: "WSGIEnvironment") -> bytes | None:
    """The body, or None when it is over API Gateway's limit (the rest is not read)."""
    stream = environ["wsgi.input"]
    length = environ.get("CONTENT_LENGTH")
    if length:
        if int(length) > MAX_REQUEST_BYTES:
            return None
        data: bytes = stream.read(int(length))
        return data
    if environ.get("wsgi.input_terminated"):  # chunked: read up to one byte past the limit
        data = stream.read(MAX_REQUEST_BYTES + 1)
        return None if len(data) > MAX_REQUEST_BYTES else data
    return b""


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""
