"""The gateway behind a real HTTP server on this machine."""

import logging
import socket
import threading
import time
from collections.abc import Iterable
from http import HTTPStatus
from typing import TYPE_CHECKING

from handler.cli.gateway.events import first_header
from handler.cli.gateway.gateway import MAX_REQUEST_BYTES, Gateway

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

logger = logging.getLogger(__name__)

_RAW_HEADERS = "imagegate.raw_headers"


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
        if not isinstance(answer.body, bytes):  # streamed: chunked, each chunk as it comes
            start_response(f"{answer.status} {_reason(answer.status)}", answer.headers)
            logger.info("%s %s %d streamed %s", method, path, answer.status, answer.request_id)
            return answer.body
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
    forwarded = first_header(headers, "x-forwarded-for")
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
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""
