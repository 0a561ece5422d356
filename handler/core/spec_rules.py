"""A request checked against its model's catalog entry, every default resolved: the
``GenerationSpec`` a backend renders. Input images are decoded here, last (Pillow)."""

from collections.abc import Sequence

from handler.core import spec_limits as limits
from handler.core.catalog import CatalogModel
from handler.core.errors import InvalidRequest
from handler.core.image_decoding import decode
from handler.core.image_input import NO_SOURCES, ImageSources
from handler.core.price_tables import Quality
from handler.core.schemas import GenerationRequest
from handler.core.sizes import parse_size
from handler.core.spec import GenerationSpec

_DEFAULT_COMPRESSION = 100


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
            f"prompt is {len(prompt)} characters; {model.name} takes at most "
            f"{model.max_prompt_chars}.",
            param="prompt",
        )
    n = request.n or 1
    if n > model.max_n:
        raise InvalidRequest(f"n must be between 1 and {model.max_n} for {model.name}.", param="n")

    width, height = _size(model, request.size)
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
    quality = _quality(model, request.quality or "auto")
    _flavours(model, request)
    stream = bool(request.stream)
    if stream and not model.streaming:
        raise InvalidRequest(f"{model.name} does not stream its images.", param="stream")
    if stream and request.response_format == "url":
        raise InvalidRequest(
            "A stream sends its images as b64_json; leave response_format out, or do not stream.",
            param="response_format",
        )
    if request.partial_images and not stream:
        raise InvalidRequest(
            "partial_images applies to streaming (stream: true).", param="partial_images"
        )

    negative_prompt = limits.negative_prompt(model, request.negative_prompt)
    seeds = limits.seeds(model, request.seed, n)
    steps = limits.steps(model, request)
    guidance = limits.ranged(model, "guidance_scale", request.guidance_scale, model.guidance_scale)
    strength = limits.strength(model, sources, request.strength)
    if strength is not None and steps is not None and int(steps * strength) < 1:
        # Image-to-image runs steps x strength denoising steps: none left is no picture.
        raise InvalidRequest(
            f"strength {strength} with {steps} steps leaves no denoising step; use a strength "
            f"of at least {1 / steps:.2f} or more steps.",
            param="strength",
        )
    # Last, and only now that everything cheaper has passed: decode the input images.
    inputs = decode(sources)
    return GenerationSpec(
        request_id=request_id,
        model=model,
        prompt=prompt,
        negative_prompt=negative_prompt,
        width=width,
        height=height,
        seeds=seeds,
        steps=steps,
        guidance_scale=guidance,
        output_format=output_format,
        output_compression=_DEFAULT_COMPRESSION if compression is None else compression,
        background="opaque" if background == "auto" else background,
        quality=quality,
        inputs=inputs,
        strength=strength,
        response_format=request.response_format or model.default_response_format,
        partial_images=(request.partial_images or 0) if stream else 0,
        end_user=request.safety_identifier or request.user,
        moderation=request.moderation or "auto",
        quote_id=request.quote_id,
        max_cost=request.max_cost,
    )


def _size(model: CatalogModel, size: str | None) -> tuple[int, int]:
    """The size to make: the model's default for "auto", else one it makes."""
    wanted = model.default_size if size in (None, "auto") else size
    dimensions = parse_size(wanted)
    reason = "it is not WIDTHxHEIGHT" if dimensions is None else model.size_refusal(*dimensions)
    if dimensions is None or reason is not None:
        free = model.free_sizes
        rule = (
            f", or any WIDTHxHEIGHT with edges multiples of {free.multiple} up to "
            f"{free.max_edge}, an aspect within {free.max_aspect:g}:1 and {free.min_pixels:,} to "
            f"{free.max_pixels:,} pixels"
            if free is not None
            else ""
        )
        raise InvalidRequest(
            f"Invalid size {wanted!r} for {model.name} ({reason}). Supported sizes: "
            f"{', '.join(model.sizes)}{rule} (or 'auto' for {model.default_size}).",
            param="size",
        )
    return dimensions


def _quality(model: CatalogModel, quality: Quality) -> Quality:
    """The model's tier that runs: "auto" its default, a mapped quality its tier."""
    _require_offered("quality", quality, [*model.qualities, *model.quality_map], model)
    tier = model.quality_map.get(quality, quality)
    return model.auto_quality if tier == "auto" else tier


def _flavours(model: CatalogModel, request: GenerationRequest) -> None:
    """Parameters that only choose a rendering flavour: honoured where offered, taken and
    ignored where the catalog says so, refused otherwise."""
    if request.style is not None and "style" not in model.ignored_params:
        _require_offered("style", request.style, model.styles, model)
    fidelity = request.input_fidelity
    if fidelity == "high" and "input_fidelity" not in model.ignored_params:
        raise InvalidRequest(
            f"input_fidelity 'high' is not offered by {model.name}; send 'low' or leave it out.",
            param="input_fidelity",
        )


def _require_offered(param: str, value: str, offered: Sequence[str], model: CatalogModel) -> None:
    if value not in offered:
        choices = ", ".join(offered) if offered else "none"
        raise InvalidRequest(
            f"{param} {value!r} is not offered by {model.name} (offered: {choices}).", param=param
        )
