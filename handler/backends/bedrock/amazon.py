"""Amazon's image models on Bedrock (Nova Canvas; Titan Image Generator v2 takes the same
bodies): a task type and its parameters, an ``imageGenerationConfig``, one image asked per
call; a filtered image is an ``error`` field and no image, a filtered request a
``ValidationException`` (``errors.filtered``)."""

import base64
import io
from typing import Any

from PIL import Image, ImageOps

from handler.backends.bedrock.errors import Filtered
from handler.backends.bedrock.params import BedrockParams
from handler.backends.encoding import edit_region, encode
from handler.core.errors import BackendError, InvalidRequest
from handler.core.spec import GenerationSpec

MIN_SIMILARITY = 0.2  # Bedrock's floor for similarityStrength


def body(spec: GenerationSpec, params: BedrockParams, seed: int) -> dict[str, Any]:
    size = (spec.width, spec.height)
    config: dict[str, Any] = {"numberOfImages": 1, "seed": seed}
    if spec.guidance_scale is not None:
        config["cfgScale"] = spec.guidance_scale
    quality = "premium" if spec.quality in ("hd", "high") else "standard"
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
            "imageGenerationConfig": {**config, "quality": quality},
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
        "imageGenerationConfig": {**config, "quality": quality},
    }


def image(answer: dict[str, Any], seed: int) -> tuple[bytes, int]:
    images = answer.get("images") or []
    if images:
        return base64.b64decode(images[0]), seed
    if answer.get("error"):
        raise Filtered(str(answer["error"]))
    raise BackendError("Bedrock answered no image.")


def _png(data: bytes, size: tuple[int, int]) -> str:
    """An input image as these models take it: PNG (they read no WebP), the size asked for."""
    with Image.open(io.BytesIO(data)) as opened:
        fitted = ImageOps.fit(opened.convert("RGB"), size)
    return base64.b64encode(encode(fitted, "png", 100)).decode("ascii")


def _mask(spec: GenerationSpec, size: tuple[int, int]) -> str:
    """The region to repaint in pure black on white, as these models read a mask."""
    assert spec.inputs.mask is not None
    with Image.open(io.BytesIO(spec.inputs.mask.data)) as mask:
        region = ImageOps.fit(edit_region(mask), size)
    black_to_repaint = region.point(lambda value: 0 if value >= 128 else 255)
    return base64.b64encode(encode(black_to_repaint, "png", 100)).decode("ascii")
