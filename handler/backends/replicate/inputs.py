"""What a Replicate model is sent: a catalog entry's ``backend_params``, its input mapping
(``flux``, ``sdxl``), input files, and where its outputs are."""

import base64
import io
import math
from typing import Any, Literal, Self

import httpx
from pydantic import BaseModel, ConfigDict, model_validator
from replicate.client import Client
from replicate.exceptions import ReplicateError

from handler.backends.encoding import edit_region_png
from handler.backends.replicate.errors import busy
from handler.backends.replicate.transport import Deferred
from handler.core.errors import BackendUnavailable
from handler.core.spec import GenerationSpec

FLUX_RATIOS = ("1:1", "16:9", "21:9", "3:2", "2:3", "4:5", "5:4", "3:4", "4:3", "9:16", "9:21")
DATA_URL_LIMIT = 1_000_000  # Replicate takes files inline up to about this size


class ReplicateParams(BaseModel):
    """A catalog entry's ``backend_params`` for Replicate."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str | None = None  # "owner/name" of an official model
    version: str | None = None  # "owner/name:hash" or a bare version id
    inputs: Literal["flux", "sdxl"]
    extra_input: dict[str, Any] = {}

    @model_validator(mode="after")
    def _one_target(self) -> Self:
        if (self.model is None) == (self.version is None):
            raise ValueError("give exactly one of model and version")
        return self


def flux_geometry(width: int, height: int) -> tuple[str, str]:
    """Flux's ``aspect_ratio`` and ``megapixels`` closest to ``width`` x ``height``."""
    wanted = math.log(width / height)

    def distance(ratio: str) -> float:
        across, down = (int(side) for side in ratio.split(":"))
        return abs(math.log(across / down) - wanted)

    megapixels = "0.25" if width * height <= 512 * 512 else "1"
    return min(FLUX_RATIOS, key=distance), megapixels


def file_inputs(client: Client, spec: GenerationSpec) -> dict[str, str]:
    """The request's input image and mask as Replicate takes files: small ones inline as data
    URLs, larger ones uploaded to its files API first."""
    files = {}
    if spec.inputs.images:
        first = spec.inputs.images[0]
        files["image"] = _file(client, first.data, first.format)
    if spec.inputs.mask is not None:
        # SDXL repaints the mask's white, whichever convention the client's mask used.
        files["mask"] = _file(client, edit_region_png(spec.inputs.mask.data), "png")
    return files


def _file(client: Client, data: bytes, image_format: str) -> str:
    content_type = f"image/{image_format}"
    if len(data) <= DATA_URL_LIMIT:
        return f"data:{content_type};base64,{base64.b64encode(data).decode('ascii')}"
    try:
        uploaded = client.files.create(
            io.BytesIO(data), filename=f"input.{image_format}", content_type=content_type
        )
    except Deferred as deferred:
        raise busy(deferred) from deferred
    except (ReplicateError, httpx.HTTPError) as exc:
        raise BackendUnavailable("Could not upload the input image to the provider.") from exc
    return uploaded.urls["get"]


def model_inputs(
    params: ReplicateParams, spec: GenerationSpec, seed: int, files: dict[str, str]
) -> dict[str, Any]:
    if params.inputs == "flux":
        aspect_ratio, megapixels = flux_geometry(spec.width, spec.height)
        flux: dict[str, Any] = {
            "prompt": spec.prompt,
            "aspect_ratio": aspect_ratio,
            "megapixels": megapixels,
            "num_outputs": 1,
            "seed": seed,
            "output_format": "jpg" if spec.output_format == "jpeg" else spec.output_format,
            "output_quality": spec.output_compression,
            "disable_safety_checker": False,
        }
        if spec.steps is not None:
            flux["num_inference_steps"] = spec.steps
        return flux
    sdxl: dict[str, Any] = {
        "prompt": spec.prompt,
        "width": spec.width,
        "height": spec.height,
        "num_outputs": 1,
        "seed": seed,
        "disable_safety_checker": False,
        **spec.diffusion_options(),
        **files,
    }
    if files and spec.strength is not None:
        sdxl["prompt_strength"] = spec.strength
    return sdxl


def output_urls(output: Any) -> list[str]:
    if output is None:
        return []
    items = output if isinstance(output, list) else [output]
    return [str(item) for item in items if item]
