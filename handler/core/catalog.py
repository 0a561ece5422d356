"""The model catalog: which models are served, on which backend, within which limits."""

import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Generic, Literal, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from handler.core.errors import InvalidRequest, ModelNotFound

OutputFormat = Literal["png", "jpeg", "webp"]
Background = Literal["auto", "opaque", "transparent"]
Quality = Literal["auto", "standard", "hd", "low", "medium", "high"]
Style = Literal["vivid", "natural"]
BackendName = Literal["bedrock", "preview", "replicate", "sagemaker"]
N = TypeVar("N", int, float)
MAX_SEED = 2**32 - 1  # the largest seed any model takes

CONTENT_TYPES: dict[OutputFormat, str] = {
    "png": "image/png",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
}
FILE_EXTENSIONS: dict[OutputFormat, str] = {"png": "png", "jpeg": "jpg", "webp": "webp"}

SIZE_RE = re.compile(r"(?P<width>[1-9][0-9]{1,4})x(?P<height>[1-9][0-9]{1,4})")


def parse_size(size: str) -> tuple[int, int] | None:
    match = SIZE_RE.fullmatch(size)
    return (int(match["width"]), int(match["height"])) if match else None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Range(_Strict, Generic[N]):
    min: N
    max: N
    default: N

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if not self.min <= self.default <= self.max:
            raise ValueError("need min <= default <= max")
        return self


Micros = Annotated[int, Field(ge=0, strict=True)]


class Prices(_Strict):
    """Integer micro-units (1,000,000 = one unit of the deployment's currency) per image.

    ``image`` prices each size at the model's default steps; ``quality`` overrides it for
    tiers that cost more; ``edit`` prices requests with input images. A request's steps scale
    the price linearly, rounded up: twice the default steps, twice the price.
    """

    image: dict[str, Micros]
    quality: dict[Quality, dict[str, Micros]] = Field(default_factory=dict)
    edit: dict[str, Micros] | None = None


class ModelCard(_Strict):
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
    styles: tuple[Style, ...] = ()
    prices: Prices

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        for size in self.sizes:
            if parse_size(size) is None:
                raise ValueError(f"size {size!r} is not WIDTHxHEIGHT")
        if self.default_size not in self.sizes:
            raise ValueError(f"default_size {self.default_size!r} is not one of sizes")
        if "png" not in self.output_formats:
            raise ValueError("png is OpenAI's default output format and must be offered")
        if self.inpainting and not self.max_input_images:
            raise ValueError("inpainting needs max_input_images of 1 or more")
        self._priced()
        return self

    def _priced(self) -> None:
        """A model without a price for everything it offers cannot be served."""
        tables = {"prices.image": self.prices.image}
        tables.update({f"prices.quality.{q}": t for q, t in self.prices.quality.items()})
        for quality in self.prices.quality:
            if quality not in self.qualities:
                raise ValueError(f"prices.quality.{quality}: quality not offered")
        if self.max_input_images:
            if self.prices.edit is None:
                raise ValueError("a model that takes input images needs prices.edit")
            tables["prices.edit"] = self.prices.edit
        for name, table in tables.items():
            if set(table) != set(self.sizes):
                raise ValueError(f"{name} must price exactly the sizes offered")


class CatalogModel(ModelCard):
    """A model card plus how to reach the model, which clients never see."""

    backend: BackendName
    backend_params: dict[str, Any] = Field(default_factory=dict)


class Catalog(_Strict):
    default_model: str | None  # None: requests must name their model
    models: Annotated[list[CatalogModel], Field(min_length=1)]

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        ids = [model.id for model in self.models]
        if len(ids) != len(set(ids)):
            raise ValueError("model ids must be unique")
        if self.default_model is not None and self.default_model not in ids:
            raise ValueError(f"default_model {self.default_model!r} is not in models")
        return self

    def serving(self, served: Callable[[CatalogModel], bool]) -> "Catalog":
        """The catalog less the models ``served`` refuses (and so maybe with none, or no
        default)."""
        models = [model for model in self.models if served(model)]
        default = self.default_model if any(m.id == self.default_model for m in models) else None
        return self.model_copy(update={"models": models, "default_model": default})

    def get(self, model_id: str | None) -> CatalogModel:
        wanted = self.default_model if model_id is None else model_id  # "" is no model
        if wanted is None:
            raise InvalidRequest(
                "Missing required parameter: 'model' (this deployment has no default model; "
                "GET /v1/models lists the models served here).",
                param="model",
                code="missing_required_parameter",
            )
        for model in self.models:
            if model.id == wanted:
                return model
        raise ModelNotFound(wanted)


def load_catalog(path: Path) -> Catalog:
    return Catalog.model_validate_json(path.read_bytes())
