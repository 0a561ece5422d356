"""moto's server, the local stack's AWS (DynamoDB and SQS as ``moto_dynamodb`` and
``moto_sqs`` change them)."""

import logging
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable
    from wsgiref.types import StartResponse, WSGIEnvironment


def stand_in() -> None:
    """moto in this process as the local stack runs it: its DynamoDB and SQS changed."""
    from handler.cli import moto_dynamodb, moto_sqs

    moto_dynamodb.install()
    moto_sqs.install()


class LocalAws:
    """moto's server on a thread, taking DynamoDB requests one at a time.

    DynamoDB applies each write to an item atomically, and billing relies on it; moto's
    handlers read, modify and write in Python, so two threads could both pass one condition.
    """

    def __init__(self, port: int = 0):
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        stand_in()
        moto = DomainDispatcherApplication(create_backend_app)
        dynamodb = threading.Lock()

        def app(environ: "WSGIEnvironment", start_response: "StartResponse") -> "Iterable[bytes]":
            if not environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB"):
                body: Iterable[bytes] = moto(environ, start_response)
                return body
            with dynamodb:
                return list(moto(environ, start_response))

        self._server = make_server(
            "127.0.0.1", port, app, threaded=True, request_handler=MotoRequestHandler
        )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> "LocalAws":
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per AWS call otherwise
        self._thread.start()
        return self

    @property
    def port(self) -> int:
        return self._server.server_port

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join()
