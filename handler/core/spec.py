"""What a backend renders: one request checked against its model's catalog entry, every
default resolved (``spec_rules.build_spec`` makes it). A record only: what refers to it loads
none of the rules, nor the decoding of input images."""

from dataclasses import dataclass
from typing import Literal

from handler.core.catalog import CatalogModel
from handler.core.image_input import NO_INPUTS, ImageInputs
from handler.core.model_card import OutputFormat, ReportedQuality, ResponseFormat
from handler.core.price_tables import Quality


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
    background: str  # "opaque" or "transparent"
    quality: Quality  # the model's own tier
    inputs: ImageInputs = NO_INPUTS
    strength: float | None = None  # set when there are input images
    response_format: ResponseFormat = "url"
    partial_images: int = 0  # with stream: previews before each image
    end_user: str | None = None  # stored with the usage record, never sent to a backend
    moderation: Literal["auto", "low"] = "auto"  # "low": the operator's guardrail alone
    # The client's terms on the price (``money/quotes.py``), never sent to a backend either.
    quote_id: str | None = None  # charged this quote's price
    max_cost: int | None = None  # micro-units: a dearer request is refused

    @property
    def size(self) -> str:
        return f"{self.width}x{self.height}"

    @property
    def reported_quality(self) -> ReportedQuality:
        """The tier that ran, in OpenAI's words."""
        return _OPENAI_QUALITY.get(self.quality, "medium")

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


_OPENAI_QUALITY: dict[str, ReportedQuality] = {
    "low": "low",
    "medium": "medium",
    "high": "high",
    "standard": "medium",
    "hd": "high",
}
