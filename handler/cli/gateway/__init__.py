"""API Gateway's REST semantics, played locally in front of the API function's real handler.

A request reaches ``http://<host>:<port>/<stage>/...`` and goes the way it goes deployed:
the stage is the first path segment (another stage is API Gateway's bare 403), the path is
matched against the template's ``Api`` events (``/`` and ``/{proxy+}``, and the streamed
routes, whose answer goes out as the function's web app writes it: ``streaming.py``), a
body over 10 MB is refused before any function runs, the proxy event is built (``headers`` and
``multiValueHeaders``, query strings, ``requestContext`` with the stage, request id and
arrival time, the body base64-encoded exactly when the template's ``BinaryMediaTypes`` match
its ``Content-Type``), and the function's handler is called in this process with a Lambda
context counting down from the function's ``Timeout``. A call still running at the
integration timeout is answered 504; a handler that raises, a malformed answer or one over
Lambda's 6 MB response limit is 502. Those answers, and every other one API Gateway makes by
itself, are the template's ``GatewayResponses``.

A route the template authorizes with ``AWS_IAM`` takes only requests signed (SigV4, for
``execute-api``) with the local stack's credentials; the caller reaches the function as
``requestContext.identity``, as it does deployed.

What it does not play: Lambda and Cognito authorizers, IAM policies (every signature by the
stack's credentials is allowed), API keys and usage plans, stage throttling, request
validation, CORS, mapping templates, WAF, and anything only an edge or custom domain does.

Dev-only: Lambda code never imports this.
"""

from handler.cli.gateway.answers import MAX_LAMBDA_PAYLOAD_BYTES, Answer
from handler.cli.gateway.events import proxy_event
from handler.cli.gateway.gateway import MAX_REQUEST_BYTES, Gateway
from handler.cli.gateway.rest_api import RestApi, Route
from handler.cli.gateway.server import GatewayServer

__all__ = [
    "MAX_LAMBDA_PAYLOAD_BYTES",
    "MAX_REQUEST_BYTES",
    "Answer",
    "Gateway",
    "GatewayServer",
    "RestApi",
    "Route",
    "proxy_event",
]
