"""Previews streamed while the pipeline denoises, sent as TorchServe's handlers send part of
an answer; TorchServe itself is not here, so its sender is a stand-in that keeps what is sent."""

import base64
import io
import json
import sys
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import inference
import previews
import pytest
from diffusers import PNDMScheduler
from PIL import Image

REQUEST_ID = "7f1c0f7e-request"


class TorchServeContext:
    """What the handler uses of TorchServe's ``ts.context.Context``: one request's id."""

    def __init__(self, request_ids: dict[int, str] | None = None) -> None:
        self.request_ids = {0: REQUEST_ID} if request_ids is None else request_ids


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """``ts.handler_utils.utils.send_intermediate_predict_response``, keeping its calls."""
    calls: list[tuple[Any, ...]] = []
    utils = types.ModuleType("ts.handler_utils.utils")
    utils.send_intermediate_predict_response = lambda *call: calls.append(call)  # type: ignore[attr-defined]
    for name, module in (
        ("ts", types.ModuleType("ts")),
        ("ts.handler_utils", types.ModuleType("ts.handler_utils")),
        ("ts.handler_utils.utils", utils),
    ):
        monkeypatch.setitem(sys.modules, name, module)
    return calls


@pytest.fixture(scope="module")
def pipeline(model_dir: Path) -> Any:
    return inference.model_fn(str(model_dir))


def _request(**overrides: Any) -> inference.Request:
    payload = {
        "prompt": "a lighthouse at dusk",
        "width": 64,
        "height": 48,
        "num_inference_steps": 4,
        "seeds": [7, 8],
        "output_format": "png",
        **overrides,
    }
    return inference.input_fn(json.dumps(payload), "application/json")


def _lines(calls: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """The previews as the endpoint's client reads them: one JSON line per chunk."""
    lines = []
    for ret, request_ids, message, code, context in calls:
        assert (request_ids, message, code) == (context.request_ids, message, 200)
        [chunk] = ret
        assert chunk.endswith(b"\n")
        lines.append(json.loads(chunk)["partial_image"])
    return lines


def test_previews_are_sent_while_the_images_are_made(
    pipeline: Any, sent: list[tuple[Any, ...]]
) -> None:
    # Given the same request asked for without previews, then under TorchServe with two
    plain = inference.predict_fn(_request(), pipeline)
    streamed = inference.predict_fn(_request(partial_images=2), pipeline, TorchServeContext())
    # Then two previews of each image were sent, by step, each a picture of the image's size
    # and format
    lines = _lines(sent)
    assert [(line["partial_image_index"], line["index"]) for line in lines] == [
        (0, 0),
        (0, 1),
        (1, 0),
        (1, 1),
    ]
    for line in lines:
        image = Image.open(io.BytesIO(base64.b64decode(line["b64_json"])))
        assert (image.size, image.format) == ((64, 48), "PNG")
    assert lines[0]["b64_json"] != lines[2]["b64_json"]  # the picture moved on between steps
    # And the answer is the one a buffered invocation gets, image for image
    assert streamed == plain


def test_without_torchserve_or_its_context_the_answer_comes_alone(
    pipeline: Any, sent: list[tuple[Any, ...]], monkeypatch: pytest.MonkeyPatch
) -> None:
    request = _request(partial_images=2)
    inference.predict_fn(request, pipeline)  # no context: the toolkit passed none
    inference.predict_fn(request, pipeline, TorchServeContext({0: "a", 1: "b"}))  # a batch
    inference.predict_fn(_request(), pipeline, TorchServeContext())  # none asked for
    assert sent == []
    for name in ("ts", "ts.handler_utils", "ts.handler_utils.utils"):
        monkeypatch.setitem(sys.modules, name, None)  # the Hugging Face container's MMS
    answer = inference.predict_fn(request, pipeline, TorchServeContext())
    assert [item["seed"] for item in answer["images"]] == [7, 8]


def test_a_scheduler_without_an_estimate_of_x0_previews_its_latents(
    pipeline: Any, sent: list[tuple[Any, ...]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # PNDM's step returns only the next latents
    monkeypatch.setattr(pipeline, "scheduler", PNDMScheduler.from_config(pipeline.scheduler.config))
    inference.predict_fn(_request(partial_images=1, seeds=[3]), pipeline, TorchServeContext())
    assert [line["index"] for line in _lines(sent)] == [0]


def test_previews_use_the_schedulers_estimate_of_the_finished_image(
    pipeline: Any, sent: list[tuple[Any, ...]], monkeypatch: pytest.MonkeyPatch
) -> None:
    decoded: list[Any] = []
    estimates: list[Any] = []
    step, decode = type(pipeline.scheduler).step, type(pipeline.vae).decode

    def stepping(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = step(self, *args, **kwargs)
        estimates.append(result[1].clone())
        return result

    def decoding(self: Any, latents: Any, *args: Any, **kwargs: Any) -> Any:
        decoded.append(latents * self.config.scaling_factor)
        return decode(self, latents, *args, **kwargs)

    monkeypatch.setattr(type(pipeline.scheduler), "step", stepping)
    monkeypatch.setattr(type(pipeline.vae), "decode", decoding)
    inference.predict_fn(_request(partial_images=1, seeds=[3]), pipeline, TorchServeContext())
    # One preview, after the second of four steps: of that step's x0, not of its latents
    assert len(decoded) == 2  # the preview, then the image
    assert decoded[0].allclose(estimates[1])


class StreamedParts:
    """An ``InvokeEndpointWithResponseStream`` body as botocore gives it: payload parts, here
    cut every 1000 bytes, wherever that falls."""

    def __init__(self, data: bytes) -> None:
        self.parts = [data[i : i + 1000] for i in range(0, len(data), 1000)]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter({"PayloadPart": {"Bytes": part}} for part in self.parts)

    def close(self) -> None:
        pass


def test_the_api_adapter_streams_the_servers_previews(
    pipeline: Any, sent: list[tuple[Any, ...]], tiny_model: Callable[..., Any]
) -> None:
    """handler.backends.sagemaker → imagegate contract → this server under a stand-in of
    TorchServe, what it sends before its answer streamed back, with no AWS between."""
    from handler.backends.sagemaker import SageMakerBackend
    from handler.core.deadline import Deadline
    from handler.core.inference import PartialImage
    from handler.core.schemas import GenerationRequest
    from handler.core.spec_rules import build_spec

    class StreamingEndpoint:
        def invoke_endpoint_with_response_stream(self, **call: Any) -> dict[str, Any]:
            request = inference.input_fn(call["Body"], call["ContentType"])
            prediction = inference.predict_fn(request, pipeline, TorchServeContext())
            answer = inference.output_fn(prediction, call["Accept"])
            previews = b"".join(ret[0] for ret, *_ in sent)
            sent.clear()
            return {"Body": StreamedParts(previews + answer)}

    body = {"prompt": "a lighthouse", "n": 2, "seed": 20, "stream": True, "partial_images": 2}
    spec = build_spec(tiny_model(streaming=True), GenerationRequest.model_validate(body), "req")
    backend = SageMakerBackend(lambda timeout: StreamingEndpoint())  # type: ignore[arg-type,return-value]
    *partials, images = backend.stream(spec, Deadline.after(120))
    assert [(p.partial_index, p.image_index) for p in partials] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert all(isinstance(partial, PartialImage) for partial in partials)
    assert [image.seed for image in images] == [20, 21]


@pytest.mark.parametrize(
    ("steps", "partial_images", "after"),
    [(4, 2, [1, 2]), (25, 3, [6, 12, 18]), (2, 3, [1]), (1, 3, []), (10, 0, [])],
)
def test_previews_are_spread_over_the_run(
    steps: int, partial_images: int, after: list[int]
) -> None:
    assert previews.preview_steps(steps, partial_images) == after


def test_more_than_three_partial_images_are_refused() -> None:
    with pytest.raises(inference.BadRequest):
        _request(partial_images=4)


@pytest.fixture(autouse=True)
def _scheduler_restored(pipeline: Any) -> Iterator[None]:
    """A run that fails part-way must leave the scheduler's step as it was."""
    yield
    assert "step" not in vars(pipeline.scheduler)
