"""A request checked against its model's catalog entry, every default resolved: the
``GenerationSpec`` a backend renders."""

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from handler.core.catalog import CatalogModel, N, OutputFormat, Range, parse_size
from handler.core.errors import InvalidRequest
from handler.core.image_input import NO_INPUTS, NO_SOURCES, ImageInputs, ImageSources
from handler.core.schemas import GenerationRequest


@dataclass(frozen=True, slots=True)
class GenerationSpec:
    """One validated request, with every default resolved, as a backend receives it."""

    request_id: str
    model: CatalogModel
    prompt: str
    negative_prompt: str | None
    width: int
    height: int
    seeds: tuple[int, ...]
    steps: int | None
    guidance_scale: float | None
    output_format: OutputFormat
    output_compression: int
    background: str
    quality: str
    inputs: ImageInputs = NO_INPUTS
    strength: float | None = None  # set when there are input images

    @property
    def n(self) -> int:
        return len(self.seeds)

    def diffusion_options(self) -> dict[str, str | int | float]:
        """The sampling settings the job sets, under diffusers' names, which most models'
        inputs share."""
        options: dict[str, str | int | float] = {}
        if self.negative_prompt:
            options["negative_prompt"] = self.negative_prompt
        if self.steps is not None:
            options["num_inference_steps"] = self.steps
        if self.guidance_scale is not None:
            options["guidance_scale"] = self.guidance_scale
        return options


_DEFAULT_COMPRESSION = 100


DEFAULT_STRENGTH = 0.8


def build_spec(
    model: CatalogModel,
    request: GenerationRequest,
    request_id: str,
    sources: ImageSources = NO_SOURCES,
) -> GenerationSpec:
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
    return GenerationSpec(
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
    """Image i gets seed + i, wrapping past the model's largest seed."""
    if seed is None:
        return tuple(secrets.randbelow(model.max_seed + 1) for _ in range(n))
    if not model.seed:
        raise InvalidRequest(f"{model.id} does not take a seed.", param="seed")
    if seed > model.max_seed:
        raise InvalidRequest(
            f"seed must be between 0 and {model.max_seed} for {model.id}.", param="seed"
        )
    return tuple((seed + i) % (model.max_seed + 1) for i in range(n))


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
