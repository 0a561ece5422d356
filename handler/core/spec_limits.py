"""A request's numbers and extras checked against its model's limits, defaults resolved:
steps, guidance, seeds, negative prompt and the strength of image inputs."""

import secrets

from handler.core.catalog import CatalogModel
from handler.core.errors import InvalidRequest
from handler.core.image_input import ImageSources
from handler.core.model_card import N, Range
from handler.core.schemas import GenerationRequest

DEFAULT_STRENGTH = 0.8


def strength(model: CatalogModel, inputs: ImageSources, strength: float | None) -> float | None:
    """What the model can do with the images sent (counted, not yet decoded), and how far
    from them to go."""
    if inputs.images and not model.max_input_images:
        raise InvalidRequest(
            f"{model.name} takes no input images (text to image only).", param=inputs.image_param
        )
    if len(inputs.images) > model.max_input_images:
        raise InvalidRequest(
            f"{model.name} takes at most {model.max_input_images} input image(s).",
            param=inputs.image_param,
        )
    if inputs.mask is not None and not model.inpainting:
        raise InvalidRequest(f"{model.name} does not do inpainting.", param=inputs.mask_param)
    if strength is not None and not inputs.images:
        raise InvalidRequest("strength applies to an input image; none was sent.", param="strength")
    if not inputs.images:
        return None
    return DEFAULT_STRENGTH if strength is None else strength


def negative_prompt(model: CatalogModel, negative_prompt: str | None) -> str | None:
    if negative_prompt is None:
        return None
    limit = model.max_negative_prompt_chars
    if limit is None:
        raise InvalidRequest(
            f"{model.name} does not take a negative_prompt.", param="negative_prompt"
        )
    if len(negative_prompt) > limit:
        raise InvalidRequest(
            f"negative_prompt takes at most {limit} characters for {model.name}.",
            param="negative_prompt",
        )
    return negative_prompt


def seeds(model: CatalogModel, seed: int | None, n: int) -> tuple[int, ...]:
    """Image i gets seed + i, wrapping past the model's largest seed."""
    if seed is None:
        return tuple(secrets.randbelow(model.max_seed + 1) for _ in range(n))
    if not model.seed:
        raise InvalidRequest(f"{model.name} does not take a seed.", param="seed")
    if seed > model.max_seed:
        raise InvalidRequest(
            f"seed must be between 0 and {model.max_seed} for {model.name}.", param="seed"
        )
    return tuple((seed + i) % (model.max_seed + 1) for i in range(n))


def steps(model: CatalogModel, request: GenerationRequest) -> int | None:
    steps, alias = request.steps, request.num_inference_steps
    if steps is not None and alias is not None and steps != alias:
        raise InvalidRequest(
            "steps and num_inference_steps are the same parameter; send one of them.",
            param="num_inference_steps",
        )
    if steps is None and alias is not None:
        return ranged(model, "num_inference_steps", alias, model.steps)
    return ranged(model, "steps", steps, model.steps)


def ranged(model: CatalogModel, param: str, wanted: N | None, limits: Range[N] | None) -> N | None:
    """The model's default, or ``wanted`` if the model takes it and it is in range."""
    if limits is None:
        if wanted is not None:
            raise InvalidRequest(f"{model.name} does not take {param}.", param=param)
        return None
    if wanted is None:
        return limits.default
    if not limits.min <= wanted <= limits.max:
        raise InvalidRequest(
            f"{param} must be between {limits.min} and {limits.max} for {model.name}.", param=param
        )
    return wanted
