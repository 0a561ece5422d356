"""A catalog entry's ``backend_params`` for Bedrock."""

from typing import Literal

from pydantic import BaseModel, ConfigDict

from handler.core.model_card import OutputFormat


class BedrockParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    model_id: str  # the foundation model's id, as the stack's BedrockModelArns name it
    family: Literal["stability", "amazon"]
    # What it encodes itself (Stability's take output_format); others are converted.
    formats: tuple[OutputFormat, ...] = ("png",)
    # Stability: image to image is named in a ``mode`` field (SD3.5 Large), not inferred.
    image_mode: bool = False
    region: str | None = None  # a placement's: invoked there (granted there), else as granted
