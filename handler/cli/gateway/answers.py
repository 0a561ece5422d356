"""What API Gateway answers a client with: a proxy integration's result turned into HTTP."""

import base64
import binascii
import json
import logging
from collections.abc import Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from handler.cli.gateway.events import first_header, short_id
from handler.cli.gateway.rest_api import RestApi

logger = logging.getLogger(__name__)

# A synchronous invocation's payload, each way, as Lambda counts it (the event, the answer).
MAX_LAMBDA_PAYLOAD_BYTES = 6_291_556
# Hop-by-hop headers: the HTTP server writes its own.
NOT_FORWARDED = {"connection", "keep-alive", "transfer-encoding", "content-length"}


@dataclass(frozen=True)
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes | Iterable[bytes]  # an iterable: streamed, each chunk as the function sends it
    request_id: str


def gateway_headers(request_id: str) -> list[tuple[str, str]]:
    return [
        ("x-amzn-RequestId", request_id),
        ("x-amz-apigw-id", short_id()),
    ]


def proxy_answer(
    api: RestApi, outcome: "Future[Any]", request_headers: list[tuple[str, str]], request_id: str
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
    accept = first_header(request_headers, "accept") or ""
    if result.get("isBase64Encoded") and api.is_binary(accept.split(",", 1)[0]):
        try:
            payload = base64.b64decode(body, validate=True)
        except binascii.Error:
            return None
    else:
        payload = body.encode()
    pairs = [
        (name, value)
        for name, values in headers.items()
        if name.lower() not in NOT_FORWARDED
        for value in values
    ]
    pairs += gateway_headers(request_id)
    return Answer(result["statusCode"], pairs, payload, request_id)
