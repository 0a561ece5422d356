"""moto's server, the local stack's AWS (DynamoDB and SQS as ``moto_dynamodb`` and
``moto_sqs`` change them)."""

import logging
import threading


def stand_in() -> None:
    """moto in this process as the local stack runs it: its DynamoDB, SQS and Cognito
    changed."""
    from handler.cli import moto_cognito, moto_dynamodb, moto_sqs

    moto_dynamodb.install()
    moto_sqs.install()
    moto_cognito.install()


class LocalAws:
    """moto's server on a thread, as changed by ``stand_in()`` (DynamoDB's requests one at
    a time: ``moto_dynamodb``)."""

    def __init__(self, port: int = 0):
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        stand_in()
        moto = DomainDispatcherApplication(create_backend_app)
        self._server = make_server(
            "127.0.0.1", port, moto, threaded=True, request_handler=MotoRequestHandler
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
