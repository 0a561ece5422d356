"""imagegate's model server: any diffusers text-to-image pipeline behind SageMaker.

SageMaker's PyTorch and Hugging Face inference containers load this file from the model
archive's ``code/`` folder and call, once, ``model_fn(model_dir)``, then for every request
``input_fn`` → ``predict_fn`` → ``output_fn``. The request and response are imagegate's
``imagegate`` contract (handler/backends/sagemaker/contracts.py):

    request   {"prompt", "negative_prompt", "width", "height", "num_inference_steps",
               "guidance_scale", "seeds": [...], "output_format", "output_compression",
               and for image input "image" (base64), "strength", "mask" (base64 PNG, white:
               repaint), and for a streamed invocation "partial_images" (0 to 3)}
    response  {"images": [{"b64", "seed"}], "filtered": <images the safety checker removed>}

Asked for partial images under TorchServe, the answer is preceded by previews of each image,
one JSON line each, sent while the pipeline denoises (``previews``).

Each image has a generator of its own, seeded with its own seed, so any one of them can be
made again alone. Images the pipeline's safety checker flags are left out, not sent black.
With an input image the same loaded components run image to image, and with a mask,
inpainting (diffusers' ``from_pipe``: no second copy of the weights).
"""

import base64
import functools
import io
import json
import os
from dataclasses import dataclass
from typing import Any

import torch
from diffusers import AutoPipelineForImage2Image, AutoPipelineForInpainting, DiffusionPipeline
from PIL import Image, ImageOps
from previews import streaming

FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}
MAX_IMAGES = int(os.environ.get("IMAGEGATE_MAX_IMAGES_PER_CALL", "8"))
MAX_SIDE = int(os.environ.get("IMAGEGATE_MAX_SIDE", "2048"))
MAX_PARTIAL_IMAGES = 3  # OpenAI's limit


class BadRequest(ValueError):
    """The request does not follow the contract. The Hugging Face inference container answers
    it with a 400; the plain PyTorch one with a 500. Either reaches imagegate as a ModelError
    carrying this message."""


@dataclass(frozen=True)
class Request:
    prompt: str
    negative_prompt: str | None
    width: int
    height: int
    num_inference_steps: int
    guidance_scale: float
    seeds: list[int]
    output_format: str
    output_compression: int
    image: bytes | None = None
    mask: bytes | None = None
    strength: float = 0.8
    partial_images: int = 0


def model_fn(model_dir: str) -> DiffusionPipeline:
    """Load the pipeline saved in ``model_dir`` (``save_pretrained`` layout), once."""
    cuda = torch.cuda.is_available()
    pipeline = DiffusionPipeline.from_pretrained(
        model_dir, dtype=torch.float16 if cuda else torch.float32, local_files_only=True
    )
    pipeline = pipeline.to("cuda" if cuda else "cpu")
    pipeline.set_progress_bar_config(disable=True)
    return pipeline


def input_fn(body: bytes | str, content_type: str) -> Request:
    if not content_type.startswith("application/json"):
        raise BadRequest(f"content type {content_type} is not application/json")
    try:
        given: dict[str, Any] = json.loads(body)
    except ValueError as exc:
        raise BadRequest("the body is not JSON") from exc
    seeds = given.get("seeds")
    if not isinstance(seeds, list) or not 1 <= len(seeds) <= MAX_IMAGES:
        raise BadRequest(f"seeds must be a list of 1 to {MAX_IMAGES} integers")
    request = Request(
        prompt=str(given.get("prompt") or ""),
        negative_prompt=given.get("negative_prompt") or None,
        width=int(given.get("width", 512)),
        height=int(given.get("height", 512)),
        num_inference_steps=int(given.get("num_inference_steps") or 25),
        guidance_scale=_number(given.get("guidance_scale"), 7.5),  # 0.0 is a valid guidance
        seeds=[int(seed) for seed in seeds],
        output_format=str(given.get("output_format", "png")),
        output_compression=int(given.get("output_compression", 100)),
        image=_bytes(given.get("image"), "image"),
        mask=_bytes(given.get("mask"), "mask"),
        strength=_number(given.get("strength"), 0.8),
        partial_images=int(given.get("partial_images") or 0),
    )
    if request.mask is not None and request.image is None:
        raise BadRequest("a mask needs an image")
    if not 0 <= request.strength <= 1:
        raise BadRequest("strength must be between 0 and 1")
    if not request.prompt.strip():
        raise BadRequest("prompt must not be empty")
    for side in (request.width, request.height):
        if side % 8 or not 8 <= side <= MAX_SIDE:
            raise BadRequest(f"width and height must be multiples of 8 up to {MAX_SIDE}")
    if request.output_format not in FORMATS:
        raise BadRequest(f"output_format must be one of {sorted(FORMATS)}")
    if not 0 <= request.partial_images <= MAX_PARTIAL_IMAGES:
        raise BadRequest(f"partial_images must be 0 to {MAX_PARTIAL_IMAGES}")
    return request


def predict_fn(
    request: Request, pipeline: DiffusionPipeline, context: Any = None
) -> dict[str, Any]:
    """``context``: the model server's, which the inference toolkit passes to a
    ``predict_fn`` of three parameters; under TorchServe it can send previews."""
    generators = [
        torch.Generator(device=pipeline.device).manual_seed(seed) for seed in request.seeds
    ]
    run, inputs = _task(request, pipeline)
    encode = functools.partial(_encode, request=request)
    with streaming(run, request.partial_images, encode, context) as extra:
        result = run(
            prompt=request.prompt,
            negative_prompt=request.negative_prompt,
            num_inference_steps=request.num_inference_steps,
            guidance_scale=request.guidance_scale,
            num_images_per_prompt=len(request.seeds),
            generator=generators,
            **inputs,
            **extra,
        )
    flagged = getattr(result, "nsfw_content_detected", None) or [False] * len(result.images)
    images = [
        {"b64": _encode(image, request), "seed": seed}
        for image, seed, unsafe in zip(result.images, request.seeds, flagged, strict=True)
        if not unsafe
    ]
    return {"images": images, "filtered": len(request.seeds) - len(images)}


def output_fn(prediction: dict[str, Any], accept: str) -> bytes:
    return json.dumps(prediction).encode()


def _task(request: Request, pipeline: DiffusionPipeline) -> tuple[Any, dict[str, Any]]:
    """The pipeline for the request's task, and the inputs only that task takes."""
    size = (request.width, request.height)
    if request.image is None:
        return pipeline, {"width": request.width, "height": request.height}
    image = ImageOps.fit(_picture(request.image).convert("RGB"), size)
    if request.mask is None:
        return _derived(pipeline, AutoPipelineForImage2Image), {
            "image": image,
            "strength": request.strength,
        }
    return _derived(pipeline, AutoPipelineForInpainting), {
        "image": image,
        "mask_image": ImageOps.fit(_picture(request.mask).convert("L"), size),
        "strength": request.strength,
        "width": request.width,
        "height": request.height,
    }


def _derived(pipeline: DiffusionPipeline, kind: Any) -> Any:
    cache = pipeline.__dict__.setdefault("_imagegate_tasks", {})
    if kind not in cache:
        cache[kind] = kind.from_pipe(pipeline)
    return cache[kind]


def _picture(data: bytes) -> Image.Image:
    try:
        picture = Image.open(io.BytesIO(data))
        picture.load()
    except (OSError, ValueError) as exc:
        raise BadRequest("image and mask must be png, jpeg or webp") from exc
    return picture


def _bytes(value: Any, name: str) -> bytes | None:
    if value is None:
        return None
    try:
        return base64.b64decode(value, validate=True)
    except (ValueError, TypeError) as exc:
        raise BadRequest(f"{name} must be base64") from exc


def _number(value: Any, default: float) -> float:
    return default if value is None else float(value)


def _encode(image: Any, request: Request) -> str:
    buffer = io.BytesIO()
    options = (
        {} if request.output_format == "png" else {"quality": max(1, request.output_compression)}
    )
    picture = image.convert("RGB") if request.output_format == "jpeg" else image
    picture.save(buffer, format=FORMATS[request.output_format], **options)
    return base64.b64encode(buffer.getvalue()).decode("ascii")
