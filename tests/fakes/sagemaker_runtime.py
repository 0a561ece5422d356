"""A local stand-in for an endpoint running our model server behind SageMaker's runtime,
speaking its REST-JSON wire format to the real boto3 client
(``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME``): SigV4 for the ``sagemaker`` service required,
errors as ``x-amzn-ErrorType`` and a message.

``InvokeEndpoint`` answers the ``imagegate`` contract's JSON; ``InvokeEndpointWithResponseStream``
answers in AWS's event-stream framing, sent with chunked transfer encoding as it is made: each
message a prelude (total length, headers length, the prelude's CRC32), string headers
(``:event-type`` PayloadPart, ``:message-type`` event, ``:content-type``), the payload and the
message's CRC32. Its payload is the model server's streamed answer: a preview line per image
and step, then the answer. ``part_size`` cuts that byte stream into payload parts (None: a
part per line); ``hold`` keeps the stream after its first preview until it is set.

A marker in the prompt chooses what happens instead:

    [stream-error]     a ModelStreamError exception event after the first preview
    [stream-failure]   an InternalStreamFailure exception event after the first preview
    [bad-line]         a line that is not JSON after the first preview
    [model-error]      ModelError (424) before anything is sent
"""

import base64
import json
import re
import struct
import threading
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.fakes.bedrock_runtime import picture
from tests.fakes.local_server import PostServer

_PATH = re.compile(r"/endpoints/(?P<endpoint>[^/]+)/(?P<kind>invocations(-response-stream)?)")
STREAM_ERRORS = {
    "[stream-error]": ("ModelStreamError", "The model's connection was reset."),
    "[stream-failure]": ("InternalStreamFailure", "The stream processing failed."),
}


def event_message(headers: dict[str, str], payload: bytes) -> bytes:
    """One message of AWS's event-stream encoding, its headers all strings (type 7)."""
    encoded = b"".join(
        struct.pack("!B", len(name))
        + name.encode()
        + struct.pack("!BH", 7, len(value))
        + value.encode()
        for name, value in headers.items()
    )
    prelude = struct.pack("!II", 12 + len(encoded) + len(payload) + 4, len(encoded))
    message = prelude + struct.pack("!I", zlib.crc32(prelude)) + encoded + payload
    return message + struct.pack("!I", zlib.crc32(message))


def payload_part(data: bytes) -> bytes:
    headers = {
        ":event-type": "PayloadPart",
        ":message-type": "event",
        ":content-type": "application/octet-stream",
    }
    return event_message(headers, data)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class FakeSageMakerRuntime(PostServer):
    protocol_version = "HTTP/1.1"  # chunked: each part reaches the client as it is sent

    def __init__(self) -> None:
        super().__init__()
        self.invocations: list[dict[str, Any]] = []
        self.part_size: int | None = None
        self.hold: threading.Event | None = None
        self._lock = threading.Lock()

    def __exit__(self, *exc: object) -> None:
        if self.hold is not None:
            self.hold.set()
        super().__exit__(*exc)

    def serve(self, request: BaseHTTPRequestHandler) -> None:
        body = json.loads(request.rfile.read(int(request.headers.get("Content-Length") or 0)))
        match = _PATH.fullmatch(request.path)
        signature = request.headers.get("Authorization", "")
        if match is None or "/sagemaker/aws4_request" not in signature:
            self._error(request, 403, "UnrecognizedClientException", "Not a signed invocation.")
            return
        streamed = match["kind"] == "invocations-response-stream"
        with self._lock:
            self.invocations.append(
                {"endpoint": match["endpoint"], "body": body, "streamed": streamed}
            )
        if "[model-error]" in body["prompt"]:
            self._error(request, 424, "ModelError", "Received server error (500) from model.")
        elif streamed:
            self._stream(request, body)
        elif body.get("partial_images"):  # the model server would put them in the body
            self._error(request, 400, "ValidationError", "partial_images needs a stream.")
        else:
            self._send(request, 200, json.dumps(_answer(body)).encode())

    def _stream(self, request: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        request.send_response(200)
        request.send_header("Content-Type", "application/vnd.amazon.eventstream")
        request.send_header("X-Amzn-SageMaker-Content-Type", "application/json")
        request.send_header("Transfer-Encoding", "chunked")
        request.end_headers()
        for message in self._messages(body):
            request.wfile.write(f"{len(message):x}\r\n".encode() + message + b"\r\n")
            request.wfile.flush()
        request.wfile.write(b"0\r\n\r\n")

    def _messages(self, body: dict[str, Any]) -> Iterator[bytes]:
        """The stream's messages: a part per line, or the lines run together and cut every
        ``part_size`` bytes (what is cut so far sent before a hold or an error)."""
        pending = b""
        for index, line in enumerate(_lines(body)):
            if index == 1:
                if pending:
                    yield payload_part(pending)
                    pending = b""
                if self.hold is not None:
                    assert self.hold.wait(30)
                failure = next((v for k, v in STREAM_ERRORS.items() if k in body["prompt"]), None)
                if failure is not None:
                    headers = {
                        ":message-type": "exception",
                        ":exception-type": failure[0],
                        ":content-type": "application/json",
                    }
                    yield event_message(headers, json.dumps({"Message": failure[1]}).encode())
                    return
                if "[bad-line]" in body["prompt"]:
                    line = b"<html>502 Bad Gateway</html>\n"
            if self.part_size is None:
                yield payload_part(line)
                continue
            pending += line
            while len(pending) >= self.part_size:
                yield payload_part(pending[: self.part_size])
                pending = pending[self.part_size :]
        if pending:
            yield payload_part(pending)

    @staticmethod
    def _send(request: BaseHTTPRequestHandler, status: int, data: bytes) -> None:
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)

    def _error(self, request: BaseHTTPRequestHandler, status: int, code: str, text: str) -> None:
        request.send_response(status)
        data = json.dumps({"message": text, "OriginalStatusCode": 500}).encode()
        request.send_header("x-amzn-ErrorType", f"{code}:http://internal.amazon.com/")
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)


def _answer(body: dict[str, Any]) -> dict[str, Any]:
    """The model server's answer: an image per seed, in the size and format asked for."""
    size, image_format = (body["width"], body["height"]), body["output_format"]
    images = [
        {"b64": _b64(picture(body["prompt"], seed, size, image_format)), "seed": seed}
        for seed in body["seeds"]
    ]
    return {"images": images, "filtered": 0}


def _lines(body: dict[str, Any]) -> Iterator[bytes]:
    """The model server's streamed answer: previews by step, each image's in turn, the
    answer last (the one line with no newline, as TorchServe sends a handler's return)."""
    size, image_format = (body["width"], body["height"]), body["output_format"]
    for step in range(body.get("partial_images", 0)):
        for index, seed in enumerate(body["seeds"]):
            preview = picture(f"{body['prompt']} at step {step}", seed, size, image_format)
            line = {"b64_json": _b64(preview), "index": index, "partial_image_index": step}
            yield json.dumps({"partial_image": line}).encode() + b"\n"
    yield json.dumps(_answer(body)).encode()
