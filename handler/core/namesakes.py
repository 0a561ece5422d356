"""OpenAI's model names, and how a catalog model answers under one of them.

Clients hard-code OpenAI's names and expect what OpenAI does under each: gpt-image names answer
``b64_json`` when no ``response_format`` is sent, DALL-E names a URL; each takes its own sizes,
qualities and image counts. A catalog model that lists such a name in ``aliases`` answers to it
within both what that name takes and what the model offers. Any other alias is the model under
another name, with the model's own rules.
"""

from dataclasses import dataclass

from handler.core.catalog import CatalogModel
from handler.core.model_card import ResponseFormat
from handler.core.price_tables import Prices, Quality
from handler.core.sizes import FreeSizes, parse_size

_GPT_IMAGE_SIZES = ("1024x1024", "1536x1024", "1024x1536")
_GPT_IMAGE_QUALITIES: tuple[Quality, ...] = ("auto", "low", "medium", "high")


@dataclass(frozen=True, slots=True)
class Namesake:
    """What OpenAI takes under one of its image model names."""

    response_format: ResponseFormat  # when the request sends none
    sizes: tuple[str, ...]
    free_sizes: FreeSizes | None  # gpt-image-2 takes any size within its rule
    max_n: int
    qualities: tuple[Quality, ...]
    max_input_images: int  # 0: no edits
    streaming: bool


GPT_IMAGE_2 = Namesake(
    "b64_json", _GPT_IMAGE_SIZES, FreeSizes(), 10, _GPT_IMAGE_QUALITIES, 16, True
)
_GPT_IMAGE = Namesake("b64_json", _GPT_IMAGE_SIZES, None, 10, _GPT_IMAGE_QUALITIES, 16, True)

NAMESAKES: dict[str, Namesake] = {
    "gpt-image-2": GPT_IMAGE_2,
    "gpt-image-1.5": _GPT_IMAGE,
    "gpt-image-1": _GPT_IMAGE,
    "gpt-image-1-mini": _GPT_IMAGE,
    "dall-e-3": Namesake(
        "url",
        ("1024x1024", "1792x1024", "1024x1792"),
        None,
        1,
        ("auto", "standard", "hd"),
        0,
        False,
    ),
    "dall-e-2": Namesake(
        "url", ("256x256", "512x512", "1024x1024"), None, 10, ("auto", "standard"), 1, False
    ),
}


def as_named(model: CatalogModel, alias: str) -> CatalogModel:
    """``model`` as it answers to ``alias``: the same model (its id, backend and prices) within
    what that name takes. An alias that would leave it no size is a catalog error."""
    namesake = NAMESAKES.get(alias)
    if namesake is None:
        return model.model_copy(update={"called": alias, "aliases": []})
    free = None
    sizes = [size for size in namesake.sizes if _makes(model, size)]
    if namesake.free_sizes is not None:
        sizes = [size for size in model.sizes if namesake.free_sizes.refusal(*_dims(size)) is None]
        sizes += [size for size in namesake.sizes if size not in sizes and _makes(model, size)]
        if model.free_sizes is not None:
            free = model.free_sizes.within(namesake.free_sizes)
    if not sizes:
        raise ValueError(f"{model.id}: alias {alias!r} leaves it none of {alias}'s sizes")
    return model.model_copy(
        update={
            "called": alias,
            "aliases": [],
            "sizes": sizes,
            "default_size": model.default_size if model.default_size in sizes else sizes[0],
            "free_sizes": free,
            "max_n": min(model.max_n, namesake.max_n),
            "qualities": tuple(tier for tier in namesake.qualities if tier in model.qualities),
            "quality_map": {
                asked: tier
                for asked, tier in model.quality_map.items()
                if asked in namesake.qualities
            },
            "default_quality": model.auto_quality,
            "max_input_images": min(model.max_input_images, namesake.max_input_images),
            "inpainting": model.inpainting and namesake.max_input_images > 0,
            "default_response_format": namesake.response_format,
            "streaming": namesake.streaming,
            "prices": _priced_for(model.prices, sizes, banded=free is not None),
        }
    )


def _dims(size: str) -> tuple[int, int]:
    dimensions = parse_size(size)
    assert dimensions is not None  # the catalog's sizes are checked when it loads
    return dimensions


def _makes(model: CatalogModel, size: str) -> bool:
    dimensions = parse_size(size)
    return dimensions is not None and model.size_refusal(*dimensions) is None


def _priced_for(prices: Prices, sizes: list[str], *, banded: bool) -> Prices:
    """The model's prices of the sizes a name offers (free sizes keep their bands)."""

    def only(table: dict[str, int]) -> dict[str, int]:
        return {size: price for size, price in table.items() if size in sizes}

    return prices.model_copy(
        update={
            "image": only(prices.image),
            "quality": {tier: only(table) for tier, table in prices.quality.items()},
            "edit": None if prices.edit is None else only(prices.edit),
            "bands": prices.bands if banded else [],
        }
    )
