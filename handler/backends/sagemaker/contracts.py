"""How a SageMaker endpoint wants its request and gives its images back.

A contract turns a request's images (one seed each) into the endpoint's request body and its
response body into image bytes. Three are known:

``imagegate``     our own model server (infra/sagemaker): several images a call, one seed
                  each, in the output format asked for; streamed, previews first (one JSON
                  line each), its answer last.
``jumpstart-sd``  SageMaker JumpStart's Stable Diffusion: ``generated_images`` as base64 JPEG
                  when asked with ``Accept: application/json;jpeg``.
``hf-diffusers``  the Hugging Face inference toolkit's text-to-image task: one image, as the
                  bytes of the Accept type; it takes no seed.
"""

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from handler.backends.encoding import conform, edit_region_png, fitted
from handler.core.errors import BackendError, ContentFiltered
from handler.core.inference import GeneratedImage
from handler.core.spec import GenerationSpec

ContractName = Literal["imagegate", "jumpstart-sd", "hf-diffusers"]


@dataclass(frozen=True, slots=True)
class EndpointImage:
    data: bytes
    seed: int | None  # None: the endpoint did not say, and cannot be asked for, a seed


@dataclass(frozen=True, slots=True)
class EndpointPartial:
    """A preview the endpoint streamed of one image of a call."""

    data: bytes
    index: int  # which image of the call
    partial_index: int


class Contract(Protocol):
    content_type: str
    accept: str
    max_images_per_call: int | None  # None: as many as the catalog entry allows

    def request(self, spec: GenerationSpec, seeds: Sequence[int]) -> bytes: ...

    def images(self, body: bytes, seeds: Sequence[int]) -> list[EndpointImage]: ...


class ImagegateContract:
    content_type: str = "application/json"
    accept: str = "application/json"
    max_images_per_call: int | None = None

    def request(
        self, spec: GenerationSpec, seeds: Sequence[int], *, partial_images: int = 0
    ) -> bytes:
        """``partial_images``: previews of each image to stream (only a streamed invocation
        may ask: a buffered one would get them in its body)."""
        payload: dict[str, Any] = {
            "prompt": spec.prompt,
            "negative_prompt": spec.negative_prompt,
            "width": spec.width,
            "height": spec.height,
            "num_inference_steps": spec.steps,
            "guidance_scale": spec.guidance_scale,
            "seeds": list(seeds),
            "output_format": spec.output_format,
            "output_compression": spec.output_compression,
        }
        # Sent at the size the model works at: the body must stay under SageMaker's 6 MB.
        size = (spec.width, spec.height)
        if spec.inputs.images:
            image = fitted(spec.inputs.images[0].data, size)
            payload["image"] = base64.b64encode(image).decode("ascii")
            payload["strength"] = spec.strength
        if spec.inputs.mask is not None:
            mask = edit_region_png(spec.inputs.mask.data, size)  # white: repaint
            payload["mask"] = base64.b64encode(mask).decode("ascii")
        if partial_images:
            payload["partial_images"] = partial_images
        return _json(payload)

    def images(self, body: bytes, seeds: Sequence[int]) -> list[EndpointImage]:
        return self._images(_parse(body))

    def streamed(
        self, line: bytes, seeds: Sequence[int], partial_images: int
    ) -> EndpointPartial | list[EndpointImage]:
        """One line of a streamed answer: a preview (of one of ``seeds``' images, at most
        ``partial_images`` of each), or the answer ``images`` reads, which comes last."""
        parsed = _parse(line)
        if "partial_image" not in parsed:
            return self._images(parsed)
        try:
            partial = parsed["partial_image"]
            found = EndpointPartial(
                _decode(partial["b64_json"]),
                int(partial["index"]),
                int(partial["partial_image_index"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise _off_contract() from exc
        if not (0 <= found.index < len(seeds) and 0 <= found.partial_index < partial_images):
            raise _off_contract()
        return found

    @staticmethod
    def _images(parsed: dict[str, Any]) -> list[EndpointImage]:
        try:
            return [
                EndpointImage(_decode(item["b64"]), int(item["seed"]))
                for item in parsed.get("images", [])
            ]
        except (KeyError, TypeError, ValueError) as exc:
            raise _off_contract() from exc


class JumpStartStableDiffusion:
    content_type: str = "application/json"
    accept: str = "application/json;jpeg"
    max_images_per_call: int | None = 1  # one seed a call: each image's seed reproduces it

    def request(self, spec: GenerationSpec, seeds: Sequence[int]) -> bytes:
        payload: dict[str, Any] = {
            "prompt": spec.prompt,
            "width": spec.width,
            "height": spec.height,
            "num_images_per_prompt": len(seeds),
            "seed": seeds[0],
            **spec.diffusion_options(),
        }
        return _json(payload)

    def images(self, body: bytes, seeds: Sequence[int]) -> list[EndpointImage]:
        generated = _parse(body).get("generated_images", [])
        return [
            EndpointImage(_decode(item), seeds[0] if index == 0 else None)
            for index, item in enumerate(generated)
        ]


class HuggingFaceDiffusers:
    content_type: str = "application/json"
    accept: str = "image/png"
    max_images_per_call: int | None = 1

    def request(self, spec: GenerationSpec, seeds: Sequence[int]) -> bytes:
        parameters = {"width": spec.width, "height": spec.height, **spec.diffusion_options()}
        return _json({"inputs": spec.prompt, "parameters": parameters})

    def images(self, body: bytes, seeds: Sequence[int]) -> list[EndpointImage]:
        return [EndpointImage(body, None)] if body else []


CONTRACTS: dict[ContractName, Contract] = {
    "imagegate": ImagegateContract(),
    "jumpstart-sd": JumpStartStableDiffusion(),
    "hf-diffusers": HuggingFaceDiffusers(),
}


def _off_contract() -> BackendError:
    return BackendError("The endpoint's answer does not follow the contract.")


def _json(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload).encode()


def _decode(value: Any) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, TypeError, ValueError) as exc:
        raise BackendError("The endpoint sent an image that is not valid base64.") from exc


def _parse(body: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(body)
    except ValueError as exc:
        raise BackendError("The endpoint answered something that is not JSON.") from exc
    if not isinstance(parsed, dict):
        raise BackendError("The endpoint answered JSON of an unexpected shape.")
    return parsed


def delivered(spec: GenerationSpec, found: Sequence[EndpointImage]) -> list[GeneratedImage]:
    """The endpoint's images as the request asked for them (size, format); none at all is
    content filtered."""
    images = [
        GeneratedImage(
            data=conform(
                item.data, spec.width, spec.height, spec.output_format, spec.output_compression
            ),
            output_format=spec.output_format,
            seed=item.seed,
            width=spec.width,
            height=spec.height,
        )
        for item in found
    ]
    if not images:
        raise ContentFiltered(
            "The model returned no image (its safety checker may have removed them). "
            "Nothing was charged.",
            param="prompt",
        )
    return images
