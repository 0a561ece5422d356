"""Amazon's image models on Bedrock (Nova Canvas; Titan Image Generator v2 takes the same
bodies): a task type and its parameters, an ``imageGenerationConfig``, one image asked per
call; a filtered image is an ``error`` field and no image, a filtered request a
``ValidationException`` (``errors.filtered``)."""

import base64
from typing import Any

from handler.backends.bedrock.errors import Filtered, first
from handler.backends.bedrock.params import BedrockParams
from handler.backends.encoding import edit_region_png, fitted
from handler.core.errors import BackendError, InvalidRequest
from handler.core.spec import GenerationSpec

MIN_SIMILARITY = 0.2  # Bedrock's floor for similarityStrength


def body(spec: GenerationSpec, params: BedrockParams) -> dict[str, Any]:
    """The request's body but its seed (``seeded``)."""
    size = (spec.width, spec.height)
    # Billed by its quality whatever the task (and priced so: ``quality.hd`` in the catalog).
    quality = "premium" if spec.quality in ("hd", "high") else "standard"
    config: dict[str, Any] = {"numberOfImages": 1, "quality": quality}
    if spec.guidance_scale is not None:
        config["cfgScale"] = spec.guidance_scale
    text: dict[str, Any] = {"text": spec.prompt}
    if spec.negative_prompt:
        text["negativeText"] = spec.negative_prompt
    images = spec.inputs.images
    if spec.inputs.mask is not None:
        if len(images) != 1:
            raise InvalidRequest(
                f"{spec.model.id} repaints one image at a time.", param=spec.inputs.image_param
            )
        # The output is the input's size: both are fitted to the size asked for first.
        inpainting = {"image": _png(images[0].data, size), "maskImage": _mask(spec, size)}
        return {
            "taskType": "INPAINTING",
            "inPaintingParams": {**inpainting, **text},
            "imageGenerationConfig": config,
        }
    config.update(width=spec.width, height=spec.height)
    if images:
        # imagegate's strength is how far to go from the inputs; Bedrock's, how close to stay.
        similarity = max(MIN_SIMILARITY, 1 - (spec.strength or 0))
        variation = {
            "images": [_png(i.data, size) for i in images],
            "similarityStrength": similarity,
        }
        return {
            "taskType": "IMAGE_VARIATION",
            "imageVariationParams": {**variation, **text},
            "imageGenerationConfig": config,
        }
    return {
        "taskType": "TEXT_IMAGE",
        "textToImageParams": text,
        "imageGenerationConfig": config,
    }


def seeded(request: dict[str, Any], seed: int) -> dict[str, Any]:
    config = request["imageGenerationConfig"]
    return {**request, "imageGenerationConfig": {**config, "seed": seed}}


def image(answer: dict[str, Any], seed: int) -> tuple[bytes, int]:
    encoded = first(answer, "images")
    if isinstance(encoded, str) and encoded:
        return base64.b64decode(encoded, validate=True), seed
    if answer.get("error"):
        raise Filtered(str(answer["error"]))
    raise BackendError("Bedrock answered no image.")


def _png(data: bytes, size: tuple[int, int]) -> str:
    """An input image as these models take it: PNG or JPEG (no WebP), the size asked for."""
    return base64.b64encode(fitted(data, size, keep=("PNG", "JPEG"))).decode("ascii")


def _mask(spec: GenerationSpec, size: tuple[int, int]) -> str:
    """The region to repaint in pure black on white, as these models read a mask."""
    assert spec.inputs.mask is not None
    mask = edit_region_png(spec.inputs.mask.data, size, black_on_white=True)
    return base64.b64encode(mask).decode("ascii")
