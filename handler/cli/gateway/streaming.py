"""A streamed route (``ResponseTransferMode: RESPONSE_STREAM``), played as deployed: API
Gateway invokes the function with response streaming, and the Lambda Web Adapter in it hands
the event to the function's web app as an HTTP request and streams back what the app writes,
chunk by chunk, as the app writes it.

Here the web app runs in this process, in a thread of its own (its own event loop, as in an
execution environment of its own), and its body reaches the client as it is sent: nothing is
gathered first. The client going away is the app's ``http.disconnect``.
"""

import asyncio
import base64
import contextlib
import importlib
import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import Any
from urllib.parse import urlencode

from handler.cli.gateway.answers import NOT_FORWARDED, Answer, gateway_headers
from handler.cli.gateway.rest_api import Route

logger = logging.getLogger(__name__)

ASGIApp = Callable[..., Any]


class StreamedAnswer:
    """The app's status and headers, and its body as an iterator of the chunks it sends."""

    def __init__(
        self,
        status: int,
        headers: list[tuple[str, str]],
        chunks: "queue.Queue[bytes | None]",
        disconnect: Callable[[], None],
    ):
        self.status = status
        self.headers = headers
        self._chunks = chunks
        self._disconnect = disconnect

    def __iter__(self) -> Iterator[bytes]:
        try:
            while (chunk := self._chunks.get()) is not None:
                if chunk:
                    yield chunk
        finally:  # the client went away, or the body is done: either way the app hears it
            self._disconnect()


def stream(
    app: ASGIApp, event: dict[str, Any], invocation: dict[str, Any], first_byte_timeout: float
) -> StreamedAnswer | None:
    """Run ``app`` on the request ``event`` stands for, as the Lambda Web Adapter does; the
    answer once the app has started it, or None if it has not within ``first_byte_timeout``
    seconds (API Gateway's integration timeout). An app that fails before it answers is the
    adapter's 500, as a web server's would be."""
    started: Future[tuple[int, list[tuple[str, str]]]] = Future()
    chunks: queue.Queue[bytes | None] = queue.Queue()
    gone = threading.Event()
    loop = asyncio.new_event_loop()
    disconnected = asyncio.Event()

    def disconnect() -> None:
        if gone.is_set():
            return
        gone.set()
        # A loop closed (just now) is an app that is done: nobody left to tell.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(disconnected.set)

    body: bytes | None = _body(event)

    async def receive() -> dict[str, Any]:
        nonlocal body
        if body is not None:
            sent, body = body, None
            return {"type": "http.request", "body": sent, "more_body": False}
        await disconnected.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in message["headers"]]
            started.set_result((int(message["status"]), headers))
        elif message["type"] == "http.response.body":
            chunks.put(bytes(message.get("body", b"")))
            if not message.get("more_body", False):
                chunks.put(None)

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(app(_scope(event, invocation), receive, send))
        except BaseException:
            logger.exception("the streamed function's app failed")
            if not started.done():
                started.set_result((500, [("content-type", "text/plain")]))
                chunks.put(b"Internal Server Error")
        finally:
            chunks.put(None)
            loop.run_until_complete(loop.shutdown_asyncgens())
            asyncio.set_event_loop(None)
            loop.close()

    threading.Thread(target=run, name="stream", daemon=True).start()
    try:
        status, headers = started.result(timeout=first_byte_timeout)
    except TimeoutError:
        disconnect()
        return None
    return StreamedAnswer(status, headers, chunks, disconnect)


def streamed_answer(
    app: ASGIApp, route: Route, event: dict[str, Any], function_arn: str
) -> Answer | None:
    """The answer of a streamed route, its body as the app writes it; None if the app has not
    started answering by the route's integration timeout."""
    request_id = event["requestContext"]["requestId"]
    invocation = {
        "request_id": request_id,
        "deadline": int((time.time() + route.function_timeout_seconds) * 1000),
        "invoked_function_arn": function_arn,
    }
    streamed = stream(app, event, invocation, route.integration_timeout_ms / 1000)
    if streamed is None:
        return None
    headers = [(k, v) for k, v in streamed.headers if k.lower() not in NOT_FORWARDED]
    return Answer(streamed.status, headers + gateway_headers(request_id), streamed, request_id)


def web_app(path: str) -> ASGIApp:
    """The app a ``module:factory`` path names, made as uvicorn's ``--factory`` makes it."""
    module, _, factory = path.partition(":")
    app: ASGIApp = getattr(importlib.import_module(module), factory)()
    return app


def _scope(event: dict[str, Any], invocation: dict[str, Any]) -> dict[str, Any]:
    """The HTTP request the adapter makes of the event, with its two context headers (the
    client's own of those names never pass)."""
    headers = [
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, values in (event.get("multiValueHeaders") or {}).items()
        for value in values
        if name.lower() not in ("x-amzn-request-context", "x-amzn-lambda-context")
    ]
    headers.append((b"x-amzn-request-context", json.dumps(event["requestContext"]).encode()))
    headers.append((b"x-amzn-lambda-context", json.dumps(invocation).encode()))
    query = urlencode(
        [
            (name, value)
            for name, values in (event.get("multiValueQueryStringParameters") or {}).items()
            for value in values
        ]
    )
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": event["httpMethod"],
        "scheme": "http",
        "path": event["path"],
        "raw_path": event["path"].encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": headers,
        "client": (event["requestContext"]["identity"]["sourceIp"], 0),
        "server": ("127.0.0.1", 8080),
    }


def _body(event: dict[str, Any]) -> bytes:
    body = event.get("body") or ""
    return base64.b64decode(body) if event.get("isBase64Encoded") else body.encode()
