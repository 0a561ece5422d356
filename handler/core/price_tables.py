"""A model's prices as the catalog states them (``handler.money.pricing`` applies them)."""

from itertools import pairwise
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from handler.core.sizes import FreeSizes

Quality = Literal["auto", "standard", "hd", "low", "medium", "high"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Micros = Annotated[int, Field(ge=0, strict=True)]


class PriceBand(_Strict):
    """The price of a free size of up to ``max_pixels`` pixels (as ``Prices`` prices a
    listed size: the image, its quality tiers, an edit)."""

    max_pixels: Annotated[int, Field(ge=1)]
    image: Micros
    quality: dict[Quality, Micros] = Field(default_factory=dict)
    edit: Micros | None = None


class Prices(_Strict):
    """Integer micro-units (1,000,000 = one unit of the deployment's currency) per image.

    ``image`` prices each size at the model's default steps; ``quality`` overrides it for
    tiers that cost more; ``edit`` prices requests with input images. A request's steps scale
    the price linearly, rounded up: twice the default steps, twice the price. A free size
    (``free_sizes``) that is not listed is priced by the first of ``bands`` that holds its
    pixels.
    """

    image: dict[str, Micros]
    quality: dict[Quality, dict[str, Micros]] = Field(default_factory=dict)
    edit: dict[str, Micros] | None = None
    bands: list[PriceBand] = Field(default_factory=list)

    def band(self, pixels: int) -> PriceBand | None:
        return next((band for band in self.bands if pixels <= band.max_pixels), None)

    def check_bands(self, free_sizes: FreeSizes | None) -> None:
        """Free sizes are priced by pixel bands that reach the rule's largest size, each
        pricing what the size tables price."""
        bands = self.bands
        if free_sizes is None:
            if bands:
                raise ValueError("prices.bands price free sizes, and none are offered")
            return
        if not bands or bands[-1].max_pixels < free_sizes.max_pixels:
            raise ValueError("prices.bands must reach free_sizes.max_pixels")
        if any(a.max_pixels >= b.max_pixels for a, b in pairwise(bands)):
            raise ValueError("prices.bands must grow in max_pixels")
        for band in bands:
            if set(band.quality) != set(self.quality):
                raise ValueError("each of prices.bands must price the tiers prices.quality does")
            if (band.edit is None) != (self.edit is None):
                raise ValueError("each of prices.bands must price edits where prices.edit does")
