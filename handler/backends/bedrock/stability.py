"""Stability AI's models on Bedrock (Stable Image Ultra and Core, Stable Diffusion 3.5 Large):
a flat JSON body, one image per call, and a content filter's refusal as a ``finish_reasons``
entry in a 200."""

import base64
import math
from typing import Any

from handler.backends.bedrock.errors import Filtered, first
from handler.backends.bedrock.params import BedrockParams
from handler.backends.encoding import fitted
from handler.core.errors import BackendError
from handler.core.spec import GenerationSpec

RATIOS = ("1:1", "16:9", "21:9", "2:3", "3:2", "4:5", "5:4", "9:16", "9:21")


def aspect_ratio(width: int, height: int) -> str:
    """The model's aspect ratio closest to ``width`` x ``height`` (the image is then resized
    to exactly that size)."""
    wanted = math.log(width / height)

    def distance(ratio: str) -> float:
        across, down = (int(side) for side in ratio.split(":"))
        return abs(math.log(across / down) - wanted)

    return min(RATIOS, key=distance)


def body(spec: GenerationSpec, params: BedrockParams) -> dict[str, Any]:
    """The request's body but its seed (``seeded``)."""
    request: dict[str, Any] = {
        "prompt": spec.prompt,
        "output_format": spec.output_format if spec.output_format in params.formats else "png",
    }
    if spec.negative_prompt:
        request["negative_prompt"] = spec.negative_prompt
    if spec.inputs.images:
        # The output keeps the input's proportions: cropped to the size's first, so the
        # image is scaled to the size asked for, never stretched.
        source = fitted(spec.inputs.images[0].data, (spec.width, spec.height))
        request["image"] = base64.b64encode(source).decode("ascii")
        request["strength"] = spec.strength
        if params.image_mode:
            request["mode"] = "image-to-image"
    else:  # image to image keeps the input's proportions
        request["aspect_ratio"] = aspect_ratio(spec.width, spec.height)
    return request


def seeded(request: dict[str, Any], seed: int) -> dict[str, Any]:
    return {**request, "seed": seed}


def image(answer: dict[str, Any], seed: int) -> tuple[bytes, int]:
    """The image and the seed that made it (Bedrock's, where it chose one: seed 0 is
    "random" to these models)."""
    reason = first(answer, "finish_reasons")
    if reason is not None:
        if str(reason).startswith("Filter reason"):
            raise Filtered(str(reason))
        raise BackendError(f"The model failed on Bedrock: {reason}")
    encoded = first(answer, "images")
    if not isinstance(encoded, str) or not encoded:
        raise BackendError("Bedrock answered no image.")
    used = first(answer, "seeds")  # documented as strings, sent as numbers
    return base64.b64decode(encoded, validate=True), seed if used is None else int(used)
