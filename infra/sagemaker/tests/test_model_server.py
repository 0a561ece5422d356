"""The model server, driven the way SageMaker's inference containers drive it."""

import base64
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import inference
import numpy
import pytest
import torch
from PIL import Image


@pytest.fixture(scope="module")
def pipeline(model_dir: Path) -> Any:
    return inference.model_fn(str(model_dir))


def _serve(pipeline: Any, payload: dict[str, Any]) -> dict[str, Any]:
    """One invocation: input_fn -> predict_fn -> output_fn, as the container runs them."""
    request = inference.input_fn(json.dumps(payload), "application/json")
    body = inference.output_fn(inference.predict_fn(request, pipeline), "application/json")
    parsed: dict[str, Any] = json.loads(body)
    return parsed


def _request(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "prompt": "a lighthouse at dusk",
        "negative_prompt": "fog",
        "width": 64,
        "height": 48,
        "num_inference_steps": 2,
        "guidance_scale": 7.5,
        "seeds": [7, 8],
        "output_format": "png",
        "output_compression": 100,
    }
    payload.update(overrides)
    return payload


def _decode(item: dict[str, Any]) -> Image.Image:
    image = Image.open(io.BytesIO(base64.b64decode(item["b64"])))
    image.load()
    return image


@pytest.mark.parametrize(
    ("output_format", "pil_format"), [("png", "PNG"), ("jpeg", "JPEG"), ("webp", "WEBP")]
)
def test_images_have_the_asked_size_format_and_seeds(
    pipeline: Any, output_format: str, pil_format: str
) -> None:
    result = _serve(pipeline, _request(output_format=output_format))
    assert [item["seed"] for item in result["images"]] == [7, 8]
    assert result["filtered"] == 0
    for item in result["images"]:
        image = _decode(item)
        assert (image.size, image.format) == ((64, 48), pil_format)


def test_each_seed_reproduces_its_own_image_alone(
    pipeline: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    noise = _record_initial_latents(pipeline, monkeypatch)
    # Given two images made together
    together = [_pixels(item) for item in _serve(pipeline, _request(seeds=[7, 8]))["images"]]
    # When the second is asked for alone, by its seed
    alone = [_pixels(item) for item in _serve(pipeline, _request(seeds=[8]))["images"]]
    # Then it starts from the very same noise: its generator is its own, not the batch's
    assert torch.equal(noise[1][0], noise[0][1])
    # And it is the same picture. Not the same bytes: a batch of two and a batch of one run
    # through kernels that may add in another order (by thread count, CPU, GPU), so the
    # pixels may differ by rounding, far less than another seed's picture differs.
    rounding = numpy.abs(alone[0] - together[1])
    other_seed = numpy.abs(together[0] - together[1])
    assert rounding.max() <= 8
    assert rounding.mean() < 0.5
    assert other_seed.mean() > 10


def _record_initial_latents(pipeline: Any, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The noise each call of the pipeline starts from, in call order."""
    made: list[Any] = []
    original = type(pipeline).prepare_latents

    def recording(self: Any, *args: Any, **kwargs: Any) -> Any:
        latents = original(self, *args, **kwargs)
        made.append(latents.clone())
        return latents

    monkeypatch.setattr(type(pipeline), "prepare_latents", recording)
    return made


def _pixels(item: dict[str, Any]) -> Any:
    return numpy.asarray(_decode(item).convert("RGB"), dtype=numpy.int16)


def test_flagged_images_are_left_out(pipeline: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    original = type(pipeline).__call__

    def flag_first(self: Any, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        result.nsfw_content_detected = [True] + [False] * (len(result.images) - 1)
        return result

    monkeypatch.setattr(type(pipeline), "__call__", flag_first)
    result = _serve(pipeline, _request(seeds=[1, 2, 3]))
    assert [item["seed"] for item in result["images"]] == [2, 3]
    assert result["filtered"] == 1


@pytest.mark.parametrize(
    ("payload", "content_type"),
    [
        (_request(seeds=[]), "application/json"),
        (_request(seeds=list(range(9))), "application/json"),
        (_request(width=65), "application/json"),
        (_request(prompt="  "), "application/json"),
        (_request(output_format="gif"), "application/json"),
        (_request(), "text/plain"),
    ],
)
def test_bad_requests_are_refused_before_any_work(payload: Any, content_type: str) -> None:
    with pytest.raises(inference.BadRequest):
        inference.input_fn(json.dumps(payload), content_type)


def test_zero_guidance_is_kept() -> None:
    parsed = inference.input_fn(json.dumps(_request(guidance_scale=0.0)), "application/json")
    assert parsed.guidance_scale == 0.0


def test_the_contract_matches_what_the_api_sends() -> None:
    """The API's request for our server is the one input_fn takes."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
    from handler.backends.sagemaker.contracts import ImagegateContract
    from handler.core.catalog import load_catalog
    from handler.core.schemas import GenerationRequest
    from handler.core.spec_rules import build_spec

    catalog = load_catalog(Path(__file__).resolve().parents[2] / "catalog.json")
    request = GenerationRequest.model_validate(
        {"model": "sd-imagegate", "prompt": "a fox", "n": 2, "seed": 3, "size": "512x512"}
    )
    job = build_spec(catalog.get("sd-imagegate"), request, "req")
    parsed = inference.input_fn(ImagegateContract().request(job, job.seeds), "application/json")
    assert (parsed.seeds, parsed.width, parsed.num_inference_steps) == ([3, 4], 512, 25)


def test_the_api_adapter_gets_its_images_from_the_server(
    pipeline: Any, tiny_model: Callable[..., Any]
) -> None:
    """handler.backends.sagemaker → imagegate contract → this server, with no AWS between."""
    from handler.backends.sagemaker import SageMakerBackend
    from handler.core.deadline import Deadline
    from handler.core.schemas import GenerationRequest
    from handler.core.spec_rules import build_spec

    class ServerAsEndpoint:
        """What SageMaker does with an invocation: the container's four functions."""

        def __init__(self) -> None:
            self.calls = 0

        def invoke_endpoint(self, **call: Any) -> dict[str, Any]:
            self.calls += 1
            request = inference.input_fn(call["Body"], call["ContentType"])
            body = inference.output_fn(inference.predict_fn(request, pipeline), call["Accept"])
            return {"Body": io.BytesIO(body)}

    request = GenerationRequest.model_validate(
        {"prompt": "a lighthouse", "n": 6, "seed": 20, "output_format": "webp", "steps": 2}
    )
    endpoint = ServerAsEndpoint()
    images = SageMakerBackend(lambda timeout: endpoint).generate(  # type: ignore[arg-type,return-value]
        build_spec(tiny_model(), request, "req"), Deadline.after(120)
    )
    assert endpoint.calls == 2  # four images a call
    assert [image.seed for image in images] == list(range(20, 26))
    for image in images:
        decoded = Image.open(io.BytesIO(image.data))
        assert (decoded.size, decoded.format) == ((64, 48), "WEBP")


def _png(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def test_image_to_image_and_inpainting(pipeline: Any) -> None:
    start = Image.new("RGB", (64, 48), (200, 30, 30))
    mask = Image.new("L", (64, 48), 0)
    mask.paste(255, (0, 0, 64, 24))  # repaint the top half
    plain = _serve(pipeline, _request(seeds=[4]))["images"][0]["b64"]
    moved = _serve(pipeline, _request(seeds=[4], image=_png(start), strength=0.9))["images"]
    painted = _serve(
        pipeline, _request(seeds=[4], image=_png(start), mask=_png(mask), strength=1.0)
    )["images"]
    assert _decode(moved[0]).size == _decode(painted[0]).size == (64, 48)
    # the input changed the picture: not the text-to-image one
    assert moved[0]["b64"] != plain
    assert painted[0]["b64"] not in (plain, moved[0]["b64"])


def test_a_mask_without_an_image_is_refused() -> None:
    mask = _png(Image.new("L", (64, 48), 255))
    with pytest.raises(inference.BadRequest):
        inference.input_fn(json.dumps(_request(mask=mask)), "application/json")
