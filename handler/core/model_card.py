"""What a client may know of a catalog model (``GET /v1/models`` shows it), and the words its
requests and answers use."""

from datetime import UTC, date, datetime
from typing import Annotated, Generic, Literal, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from handler.core.price_tables import Prices, Quality
from handler.core.sizes import FreeSizes

OutputFormat = Literal["png", "jpeg", "webp"]
Background = Literal["auto", "opaque", "transparent"]
Style = Literal["vivid", "natural"]
# What OpenAI's answers say of a quality: a model's own tiers are reported in these terms.
ReportedQuality = Literal["low", "medium", "high"]
ResponseFormat = Literal["url", "b64_json"]
# Parameters a model may take and ignore, because they only choose a rendering flavour.
Flavour = Literal["style", "input_fidelity"]
N = TypeVar("N", int, float)
MAX_SEED = 2**32 - 1  # the largest seed any model takes

CONTENT_TYPES: dict[OutputFormat, str] = {
    "png": "image/png",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
}
FILE_EXTENSIONS: dict[OutputFormat, str] = {"png": "png", "jpeg": "jpg", "webp": "webp"}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Range(Strict, Generic[N]):
    min: N
    max: N
    default: N

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if not self.min <= self.default <= self.max:
            raise ValueError("need min <= default <= max")
        return self


class ModelCard(Strict):
    """What a client may know of a model: ``GET /v1/models`` shows exactly this."""

    id: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$")]
    description: str
    owned_by: str = "imagegate"
    created: Annotated[int, Field(ge=0, description="unix time the entry was added")]
    sizes: Annotated[list[str], Field(min_length=1)]
    default_size: str
    max_n: Annotated[int, Field(ge=1, le=16)]
    max_prompt_chars: Annotated[int, Field(ge=1)]
    max_negative_prompt_chars: Annotated[
        int | None, Field(ge=1, description="null: negative prompts not supported")
    ] = None
    steps: Annotated[Range[int] | None, Field(description="null: steps not adjustable")] = None
    guidance_scale: Annotated[Range[float] | None, Field(description="null: not adjustable")] = None
    seed: Annotated[bool, Field(description="whether a seed reproduces an image")] = True
    max_seed: Annotated[int, Field(ge=1, le=MAX_SEED, description="seeds run from 0 to this")] = (
        MAX_SEED
    )
    synchronous: Annotated[
        bool,
        Field(
            description="false: its work outlasts an HTTP request, so it is served only as "
            "async jobs (Prefer: respond-async) and batch lines"
        ),
    ] = True
    output_formats: Annotated[list[OutputFormat], Field(min_length=1)]
    max_input_images: Annotated[
        int, Field(ge=0, le=16, description="0: text to image only; else image to image")
    ] = 0
    inpainting: Annotated[bool, Field(description="whether it takes a mask")] = False
    backgrounds: tuple[Background, ...] = ("auto", "opaque")
    qualities: tuple[Quality, ...] = ("auto", "standard")
    default_quality: Annotated[
        Quality | None,
        Field(description="the tier 'auto' (or no quality) runs; null: standard, else the first"),
    ] = None
    quality_map: Annotated[
        dict[Quality, Quality],
        Field(description="qualities taken as another of its tiers (DALL-E's hd, say)"),
    ] = Field(default_factory=dict)
    styles: tuple[Style, ...] = ()
    ignored_params: Annotated[
        tuple[Flavour, ...],
        Field(description="taken and ignored: they only choose a rendering flavour"),
    ] = ()
    free_sizes: Annotated[
        FreeSizes | None,
        Field(description="any WIDTHxHEIGHT within these bounds, beside sizes; null: sizes only"),
    ] = None
    default_response_format: Annotated[
        ResponseFormat, Field(description="what a request without response_format gets")
    ] = "url"
    aliases: Annotated[
        list[Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$")]],
        Field(description="other names it answers to (OpenAI's, say), each as its namesake"),
    ] = Field(default_factory=list)
    shutdown_date: Annotated[
        date | None, Field(description="from this day (UTC) requests are refused: 410")
    ] = None
    successor: Annotated[str | None, Field(description="the model to use instead")] = None
    prices: Prices

    @property
    def auto_quality(self) -> Quality:
        """The tier a request without a quality (or with "auto") runs."""
        if self.default_quality is not None:
            return self.default_quality
        tiers = [tier for tier in self.qualities if tier != "auto"]
        return "standard" if "standard" in tiers or not tiers else tiers[0]

    def shut_down(self, today: date | None = None) -> bool:
        """Whether the model has reached its shutdown date (today, UTC, by default)."""
        return self.shutdown_date is not None and self.shutdown_date <= (today or _today())

    def size_refusal(self, width: int, height: int) -> str | None:
        """Why the model cannot make ``width`` x ``height``, or None."""
        if f"{width}x{height}" in self.sizes:
            return None
        if self.free_sizes is None:
            return "it is not one of the sizes offered"
        return self.free_sizes.refusal(width, height)


def _today() -> date:
    return datetime.now(UTC).date()
