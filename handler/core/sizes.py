"""Image sizes: ``WIDTHxHEIGHT`` strings, and the rule a model's free sizes follow."""

import re
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

SIZE_RE = re.compile(r"(?P<width>[1-9][0-9]{1,4})x(?P<height>[1-9][0-9]{1,4})")


def parse_size(size: str) -> tuple[int, int] | None:
    match = SIZE_RE.fullmatch(size)
    return (int(match["width"]), int(match["height"])) if match else None


class FreeSizes(BaseModel):
    """Any ``WIDTHxHEIGHT`` within these bounds, beside the listed sizes (gpt-image-2's rule
    by default: edges multiples of 16, at most 3840, aspect within 3:1, 0.65 to 8.3
    megapixels)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    multiple: Annotated[int, Field(ge=1)] = 16
    max_edge: Annotated[int, Field(ge=16)] = 3840
    min_pixels: Annotated[int, Field(ge=1)] = 655_360
    max_pixels: Annotated[int, Field(ge=1)] = 8_294_400
    max_aspect: Annotated[float, Field(ge=1)] = 3.0

    def refusal(self, width: int, height: int) -> str | None:
        """Why ``width`` x ``height`` is outside the rule, or None."""
        if width % self.multiple or height % self.multiple:
            return f"both edges must be multiples of {self.multiple}"
        if max(width, height) > self.max_edge:
            return f"the longer edge may be at most {self.max_edge}"
        if max(width, height) > self.max_aspect * min(width, height):
            return f"the aspect ratio may be at most {self.max_aspect:g}:1"
        if not self.min_pixels <= width * height <= self.max_pixels:
            return f"it must have {self.min_pixels:,} to {self.max_pixels:,} pixels"
        return None

    def within(self, other: "FreeSizes") -> "FreeSizes":
        """The sizes both rules take (their edges' multiple is the larger one's)."""
        return FreeSizes(
            multiple=max(self.multiple, other.multiple),
            max_edge=min(self.max_edge, other.max_edge),
            min_pixels=max(self.min_pixels, other.min_pixels),
            max_pixels=min(self.max_pixels, other.max_pixels),
            max_aspect=min(self.max_aspect, other.max_aspect),
        )
