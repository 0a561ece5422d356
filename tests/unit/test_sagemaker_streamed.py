"""Streamed SageMaker invocations on a stand-in client (no network): how the model server's
lines are read out of payload parts, and what a stream off the contract is."""

import base64
import io
import json
import threading
from collections.abc import Generator, Iterator
from typing import Any

import pytest
from PIL import Image
from pydantic import ValidationError

from handler.backends.sagemaker import SageMakerBackend, SageMakerParams, streamed
from handler.core.catalog import load_catalog
from handler.core.deadline import Deadline
from handler.core.errors import BackendError, BackendTimeout
from handler.core.inference import PartialImage
from handler.core.schemas import GenerationRequest
from handler.core.spec import GenerationSpec
from handler.core.spec_rules import build_spec
from tests.support import ROOT, with_placement

ENTRY = load_catalog(ROOT / "infra" / "catalog.json").get("sd-imagegate")
STREAMING = with_placement(ENTRY, {**ENTRY.backend_params, "streaming": True})


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        ([b"a\n", b"b\n", b"c"], [b"a", b"b", b"c"]),
        ([b"a", b"b\nc", b"d\n"], [b"ab", b"cd"]),
        ([b"a\nb\n\nc\n"], [b"a", b"b", b"c"]),
        ([b"", b"a", b"", b"\n"], [b"a"]),
        ([b"\n", b"  \n"], []),
    ],
)
def test_lines_are_read_however_the_stream_was_cut(
    parts: list[bytes], expected: list[bytes]
) -> None:
    assert list(streamed.lines(parts)) == expected


@pytest.mark.parametrize(
    "params",
    [
        {"endpoint_name": "e", "contract": "jumpstart-sd", "streaming": True},
        {"endpoint_name": "e", "contract": "imagegate", "invocation": "async", "streaming": True},
    ],
)
def test_only_our_servers_real_time_endpoints_stream(params: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        SageMakerParams.model_validate(params)


def _png() -> str:
    buffer = io.BytesIO()
    Image.new("RGB", (512, 512), (10, 20, 30)).save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def _preview(index: int = 0, partial: int = 0, **fields: Any) -> bytes:
    line = {"b64_json": _png(), "index": index, "partial_image_index": partial, **fields}
    return json.dumps({"partial_image": line}).encode() + b"\n"


ANSWER = json.dumps({"images": [{"b64": _png(), "seed": 5}]}).encode()


class Parts:
    """A response stream's body: its payload parts, and whether it was closed. With a
    ``gate``, the parts after the first wait for it."""

    def __init__(self, chunks: list[bytes], gate: threading.Event | None = None) -> None:
        self.chunks = chunks
        self.gate = gate
        self.read = 0
        self.closed = False

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for index, chunk in enumerate(self.chunks):
            if index and self.gate is not None:
                assert self.gate.wait(10)
            self.read += 1
            yield {"PayloadPart": {"Bytes": chunk}}

    def close(self) -> None:
        self.closed = True


class Client:
    def __init__(self, parts: Parts) -> None:
        self.parts = parts

    def invoke_endpoint_with_response_stream(self, **call: Any) -> dict[str, Any]:
        return {"Body": self.parts}


def _spec(**body: Any) -> GenerationSpec:
    request = GenerationRequest.model_validate(
        {"prompt": "a fox", "size": "512x512", "seed": 5, "stream": True, **body}
    )
    return build_spec(STREAMING, request, "req_test")


def _stream(chunks: list[bytes], deadline: float = 30, **body: Any) -> list[Any]:
    client = Client(Parts(chunks))
    backend = SageMakerBackend(lambda timeout: client)  # type: ignore[arg-type,return-value]
    return list(backend.stream(_spec(partial_images=2, **body), Deadline.after(deadline)))


def test_previews_then_the_images() -> None:
    *partials, images = _stream([_preview(partial=0), _preview(partial=1), ANSWER])
    assert [(p.image_index, p.partial_index) for p in partials] == [(0, 0), (0, 1)]
    assert all(isinstance(partial, PartialImage) for partial in partials)
    assert [image.seed for image in images] == [5]


@pytest.mark.parametrize(
    "chunks",
    [
        [_preview(index=1), ANSWER],  # an image the call did not make
        [_preview(partial=2), ANSWER],  # a third preview of two asked for
        [b'{"partial_image": {"index": 0}}\n', ANSWER],  # no picture
        [_preview(b64_json="not base64!"), ANSWER],
        [b"<html>bad gateway</html>\n", ANSWER],
        [ANSWER + b"\n", _preview()],  # more after the answer
        [_preview()],  # no answer
    ],
    ids=["index", "partial-index", "no-picture", "base64", "not-json", "after", "no-answer"],
)
def test_a_stream_off_the_contract_is_the_backends_error(chunks: list[bytes]) -> None:
    with pytest.raises(BackendError) as raised:
        _stream(chunks)
    assert type(raised.value) is BackendError  # 502, never retried: the model has run


def test_a_stream_past_the_deadline_is_a_timeout() -> None:
    clock = iter([0.0, 0.0, 0.0, 100.0])
    client = Client(Parts([_preview(), _preview(partial=1), ANSWER]))
    backend = SageMakerBackend(lambda timeout: client)  # type: ignore[arg-type,return-value]
    deadline = Deadline.after(30, clock=lambda: next(clock, 100.0))
    with pytest.raises(BackendTimeout):
        list(backend.stream(_spec(partial_images=2), deadline))
    assert client.parts.closed


def test_a_reader_that_goes_away_stops_the_reading(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given an endpoint that sends its second part only once the stream is told to stop
    told = threading.Event()

    class Stop(threading.Event):
        def set(self) -> None:
            super().set()
            told.set()

    monkeypatch.setattr(streamed, "Event", Stop)
    parts = Parts([_preview(), _preview(partial=1), ANSWER], gate=told)
    client = Client(parts)
    backend = SageMakerBackend(lambda timeout: client)  # type: ignore[arg-type,return-value]
    stream = backend.stream(_spec(partial_images=2), Deadline.after(30))
    assert isinstance(stream, Generator)
    # When its reader takes the first preview and goes away
    assert isinstance(next(stream), PartialImage)
    stream.close()
    # Then the endpoint's stream is read no further, and closed
    assert (parts.read, parts.closed) == (2, True)
