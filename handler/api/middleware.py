"""Gives every request an id and every response an ``x-request-id`` header (and, once the
caller's key is known, its ``x-ratelimit-*`` headers), and turns any
exception nothing else handled into OpenAI's 500 envelope.

Handling it here, not in Starlette's ServerErrorMiddleware, keeps the exception from being
re-raised into Mangum, which would log it a second time outside our structured logs.
"""

import time
from typing import Any
from urllib.parse import unquote
from uuid import uuid4

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from handler.api.errors import unexpected_error_response
from handler.money.policy import Meter, RateWindow
from handler.observability import logger


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _gateway_request_id(scope) or f"req_{uuid4().hex}"
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        state["received_at"] = time.monotonic()
        # Where the key's rate window is left (by the charge, success or refusal) for the
        # x-ratelimit-* headers.
        meter = state["meter"] = Meter()
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
                headers = MutableHeaders(scope=message)
                headers["x-request-id"] = request_id
                if meter.window is not None:
                    headers.update(ratelimit_headers(meter.window))
                if meter.placement is not None:
                    headers["x-imagegate-placement"] = meter.placement
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            logger.exception("unhandled error", request_id=request_id)
            if response_started:
                raise
            await unexpected_error_response()(scope, receive, send_with_id)


class GatewayPathMiddleware:
    """Mounts the app where API Gateway serves it, so every path it writes is public.

    Behind the execute-api domain a request for ``/prod/v1/models`` arrives with ``path``
    ``/v1/models`` (the stage stripped); behind a custom domain with a base path mapping
    ``/images`` it arrives as ``/images/v1/models`` (nothing stripped). In both the route
    is ``resource`` with its path parameters filled in, and the public prefix is what
    ``requestContext.path`` has before it: that prefix becomes the ASGI ``root_path``, so
    routing sees the route and redirects, ``url_for``, the docs and ``Location`` headers
    carry the prefix.
    """

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            mounted = _gateway_paths(scope.get("aws.event") or {})
            if mounted is not None:
                prefix, route = mounted
                scope = {**scope, "root_path": prefix, "path": prefix + route, "raw_path": None}
        await self.app(scope, receive, send)


def public_path(request: Request, route: str, **params: str) -> str:
    """The path clients reach a named route at, the stage or base path included."""
    return f"{request.scope.get('root_path', '')}{request.app.url_path_for(route, **params)}"


def _gateway_paths(event: dict[str, Any]) -> tuple[str, str] | None:
    """(public prefix, route path) of a REST proxy event; None for anything else."""
    resource = event.get("resource")
    public = (event.get("requestContext") or {}).get("path")
    if not isinstance(resource, str) or not isinstance(public, str):
        return None
    public = unquote(public)  # path parameters arrive decoded; ASGI paths are too
    route = resource
    for name, value in (event.get("pathParameters") or {}).items():
        route = route.replace(f"{{{name}+}}", value).replace(f"{{{name}}}", value)
    if route == "/":
        return public.rstrip("/"), "/"
    if not public.endswith(route):
        return None
    return public[: len(public) - len(route)], route


def ratelimit_headers(window: RateWindow) -> dict[str, str]:
    """OpenAI's names for requests; the same shape for images, which stand in for tokens."""
    reset = f"{window.reset_seconds}s"
    return {
        "x-ratelimit-limit-requests": str(window.requests_limit),
        "x-ratelimit-remaining-requests": str(window.requests_left),
        "x-ratelimit-reset-requests": reset,
        "x-ratelimit-limit-images": str(window.images_limit),
        "x-ratelimit-remaining-images": str(window.images_left),
        "x-ratelimit-reset-images": reset,
    }


def _gateway_request_id(scope: Scope) -> str | None:
    """Behind API Gateway, reuse its request id: it is the logs' correlation id too."""
    event: dict[str, Any] = scope.get("aws.event") or {}
    request_id = (event.get("requestContext") or {}).get("requestId")
    return request_id if isinstance(request_id, str) and request_id else None
