"""The event API Gateway's Lambda proxy integration (payload 1.0) hands a function."""

import base64
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl

from handler.cli.gateway.rest_api import RestApi, Route

ACCOUNT_ID = "123456789012"
API_ID = "local"


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
    binary = api.is_binary(first_header(headers, "content-type"))
    if not body:
        encoded: str | None = None
    elif binary:
        encoded = base64.b64encode(body).decode("ascii")
    else:
        # A text payload is UTF-8; bytes that are not become U+FFFD on the way.
        encoded = body.decode("utf-8", errors="replace")
    host = (first_header(headers, "host") or "localhost").rsplit(":", 1)[0]
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
            "extendedRequestId": short_id(),
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
                "userAgent": first_header(headers, "user-agent"),
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


def first_header(headers: list[tuple[str, str]], name: str) -> str | None:
    return next((value for key, value in headers if key.lower() == name), None)


def short_id() -> str:
    """An id in the shape of API Gateway's ``x-amz-apigw-id``."""
    return base64.b32encode(uuid.uuid4().bytes[:10]).decode().rstrip("=")
