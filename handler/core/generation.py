"""The generation service: one request in, stored or inline images out.

The HTTP API, async jobs and batch lines all come through ``GenerationService.generate``.
"""

import base64
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from handler.core.billing import Billing, Meter
from handler.core.catalog import Catalog, CatalogModel, N, Range, parse_size
from handler.core.deadline import Deadline
from handler.core.errors import (
    BackendError,
    ImagegateError,
    InvalidRequest,
    PayloadTooLarge,
    StorageError,
)
from handler.core.image_input import NO_SOURCES, ImageSources, from_request
from handler.core.ports import (
    Credentials,
    GeneratedImage,
    GenerationJob,
    ImageStore,
    InferenceBackend,
)
from handler.core.schemas import (
    MAX_SEED,
    GenerationRequest,
    ImageData,
    ImagesResponse,
    ImagesUsage,
)
from handler.observability import logger

# JSON around the inline images (ids, seeds, usage): generous, so the check errs on refusing.
_ENVELOPE_BYTES = 4096
_DEFAULT_COMPRESSION = 100


DEFAULT_STRENGTH = 0.8


def build_job(
    model: CatalogModel,
    request: GenerationRequest,
    request_id: str,
    sources: ImageSources = NO_SOURCES,
) -> GenerationJob:
    """Check ``request`` (and its input images) against what ``model`` offers and resolve
    every default. Input images are decoded last, once every cheaper check has passed."""
    prompt = request.prompt
    if not prompt.strip():
        raise InvalidRequest("prompt must not be empty.", param="prompt")
    if len(prompt) > model.max_prompt_chars:
        raise InvalidRequest(
            f"prompt is {len(prompt)} characters; {model.id} takes at most "
            f"{model.max_prompt_chars}.",
            param="prompt",
        )
    n = request.n or 1
    if n > model.max_n:
        raise InvalidRequest(f"n must be between 1 and {model.max_n} for {model.id}.", param="n")

    size = model.default_size if request.size in (None, "auto") else request.size
    dimensions = parse_size(size)
    if dimensions is None or size not in model.sizes:
        raise InvalidRequest(
            f"Invalid size {size!r} for {model.id}. Supported sizes: "
            f"{', '.join(model.sizes)} (or 'auto' for {model.default_size}).",
            param="size",
        )

    output_format = request.output_format or "png"
    _require_offered("output_format", output_format, model.output_formats, model)
    compression = request.output_compression
    if compression is not None and compression != _DEFAULT_COMPRESSION and output_format == "png":
        raise InvalidRequest(
            "output_compression applies to jpeg and webp, not png.", param="output_compression"
        )
    background = request.background or "auto"
    _require_offered("background", background, model.backgrounds, model)
    if background == "transparent" and output_format == "jpeg":
        raise InvalidRequest(
            "A transparent background needs output_format png or webp.", param="background"
        )
    quality = request.quality or "auto"
    _require_offered("quality", quality, model.qualities, model)
    if request.style is not None:
        _require_offered("style", request.style, model.styles, model)
    if request.stream:
        raise InvalidRequest("Streaming image generation is not offered.", param="stream")
    if request.partial_images:
        raise InvalidRequest(
            "partial_images needs streaming, which is not offered.", param="partial_images"
        )

    negative_prompt = _negative_prompt(model, request.negative_prompt)
    seeds = _seeds(model, request.seed, n)
    steps = _steps(model, request)
    guidance = _ranged(model, "guidance_scale", request.guidance_scale, model.guidance_scale)
    strength = _strength(model, sources, request.strength)
    if strength is not None and steps is not None and int(steps * strength) < 1:
        # Image-to-image runs steps x strength denoising steps: none left is no picture.
        raise InvalidRequest(
            f"strength {strength} with {steps} steps leaves no denoising step; use a strength "
            f"of at least {1 / steps:.2f} or more steps.",
            param="strength",
        )
    # Last, and only now that everything cheaper has passed: decode the input images.
    inputs = sources.decode()
    return GenerationJob(
        request_id=request_id,
        model=model,
        prompt=prompt,
        negative_prompt=negative_prompt,
        width=dimensions[0],
        height=dimensions[1],
        seeds=seeds,
        steps=steps,
        guidance_scale=guidance,
        output_format=output_format,
        output_compression=_DEFAULT_COMPRESSION if compression is None else compression,
        background=background,
        quality=quality,
        inputs=inputs,
        strength=strength,
    )


def _require_offered(param: str, value: str, offered: Sequence[str], model: CatalogModel) -> None:
    if value not in offered:
        choices = ", ".join(offered) if offered else "none"
        raise InvalidRequest(
            f"{param} {value!r} is not offered by {model.id} (offered: {choices}).", param=param
        )


def _strength(model: CatalogModel, inputs: ImageSources, strength: float | None) -> float | None:
    """What the model can do with the images sent (counted, not yet decoded), and how far
    from them to go."""
    if inputs.images and not model.max_input_images:
        raise InvalidRequest(
            f"{model.id} takes no input images (text to image only).", param=inputs.image_param
        )
    if len(inputs.images) > model.max_input_images:
        raise InvalidRequest(
            f"{model.id} takes at most {model.max_input_images} input image(s).",
            param=inputs.image_param,
        )
    if inputs.mask is not None and not model.inpainting:
        raise InvalidRequest(f"{model.id} does not do inpainting.", param=inputs.mask_param)
    if strength is not None and not inputs.images:
        raise InvalidRequest("strength applies to an input image; none was sent.", param="strength")
    if not inputs.images:
        return None
    return DEFAULT_STRENGTH if strength is None else strength


def _negative_prompt(model: CatalogModel, negative_prompt: str | None) -> str | None:
    if negative_prompt is None:
        return None
    limit = model.max_negative_prompt_chars
    if limit is None:
        raise InvalidRequest(
            f"{model.id} does not take a negative_prompt.", param="negative_prompt"
        )
    if len(negative_prompt) > limit:
        raise InvalidRequest(
            f"negative_prompt takes at most {limit} characters for {model.id}.",
            param="negative_prompt",
        )
    return negative_prompt


def _seeds(model: CatalogModel, seed: int | None, n: int) -> tuple[int, ...]:
    if seed is None:
        return tuple(secrets.randbelow(MAX_SEED + 1) for _ in range(n))
    if not model.seed:
        raise InvalidRequest(f"{model.id} does not take a seed.", param="seed")
    return tuple((seed + i) % (MAX_SEED + 1) for i in range(n))


def _steps(model: CatalogModel, request: GenerationRequest) -> int | None:
    steps, alias = request.steps, request.num_inference_steps
    if steps is not None and alias is not None and steps != alias:
        raise InvalidRequest(
            "steps and num_inference_steps are the same parameter; send one of them.",
            param="num_inference_steps",
        )
    if steps is None and alias is not None:
        return _ranged(model, "num_inference_steps", alias, model.steps)
    return _ranged(model, "steps", steps, model.steps)


def _ranged(model: CatalogModel, param: str, wanted: N | None, limits: Range[N] | None) -> N | None:
    """The model's default, or ``wanted`` if the model takes it and it is in range."""
    if limits is None:
        if wanted is not None:
            raise InvalidRequest(f"{model.id} does not take {param}.", param=param)
        return None
    if wanted is None:
        return limits.default
    if not limits.min <= wanted <= limits.max:
        raise InvalidRequest(
            f"{param} must be between {limits.min} and {limits.max} for {model.id}.", param=param
        )
    return wanted


@dataclass(frozen=True, slots=True)
class GenerationService:
    catalog: Catalog
    backends: Mapping[str, InferenceBackend]
    images: ImageStore
    billing: Billing
    max_response_bytes: int
    clock: Callable[[], float] = time.time

    def generate(
        self,
        request: GenerationRequest,
        *,
        credentials: Credentials,
        request_id: str,
        deadline: Deadline,
        sources: ImageSources | None = None,
        meter: Meter | None = None,
    ) -> ImagesResponse:
        """Validate, reserve the price, generate, deliver, settle what was delivered.

        ``sources``: images that came as files; otherwise the request's data URLs.
        """
        model = self.catalog.get(request.model)
        job = build_job(
            model, request, request_id, from_request(request) if sources is None else sources
        )
        reservation = self.billing.reserve(credentials, job, meter or Meter())
        try:
            response = self._deliver(request, job, deadline)
        except BaseException as exc:
            code = exc.code if isinstance(exc, ImagegateError) else "internal_error"
            self.billing.settle(reservation, 0, error_code=code)
            raise
        usage = self.billing.settle(reservation, len(response.data))
        response.cost = usage.charged
        response.remaining_balance = reservation.balance + usage.refunded
        return response

    def _deliver(
        self, request: GenerationRequest, job: GenerationJob, deadline: Deadline
    ) -> ImagesResponse:
        created = int(self.clock())
        generated = self.backends[job.model.backend].generate(job, deadline)
        if not generated:
            raise BackendError(f"{job.model.id} returned no images.")
        if len(generated) < job.n:
            logger.warning(
                "partial delivery",
                request_id=job.request_id,
                model=job.model.id,
                asked=job.n,
                delivered=len(generated),
            )
        if request.response_format == "b64_json":
            data = self._inline(generated)
        else:
            data = self._stored(generated, prefix=_object_prefix(created, job.request_id))
        return ImagesResponse(
            id=job.request_id,
            created=created,
            model=job.model.id,
            size=f"{job.width}x{job.height}",
            quality=job.quality,
            background=job.background,
            output_format=job.output_format,
            data=data,
            usage=ImagesUsage(images=len(data)),
        )

    def _stored(self, generated: Sequence[GeneratedImage], prefix: str) -> list[ImageData]:
        try:
            urls = [self.images.presign(key) for key in self.images.put_images(prefix, generated)]
        except StorageError as exc:
            raise StorageError(
                "The images were generated but could not be stored.", should_retry=False
            ) from exc
        return [
            ImageData(url=url, seed=image.seed) for url, image in zip(urls, generated, strict=True)
        ]

    def _inline(self, generated: Sequence[GeneratedImage]) -> list[ImageData]:
        # base64 is 4 bytes per 3; refuse before building a body Lambda could not return.
        inline_bytes = sum(4 * ((len(image.data) + 2) // 3) for image in generated)
        if inline_bytes + _ENVELOPE_BYTES > self.max_response_bytes:
            raise PayloadTooLarge(
                f"The {len(generated)} image(s) come to {inline_bytes / 1e6:.1f} MB as base64, "
                f"over the {self.max_response_bytes / 1e6:.1f} MB response limit. Ask for "
                "response_format 'url', a smaller n or size, or output_format jpeg or webp.",
                param="response_format",
            )
        return [
            ImageData(b64_json=base64.b64encode(image.data).decode("ascii"), seed=image.seed)
            for image in generated
        ]


def _object_prefix(created: int, request_id: str) -> str:
    """``images/YYYY/MM/DD/<request id>``: one request's images side by side, by day."""
    return f"images/{time.strftime('%Y/%m/%d', time.gmtime(created))}/{request_id}"
