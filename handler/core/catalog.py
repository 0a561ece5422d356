"""The model catalog: which models are served, on which backend, within which limits."""

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any, Generic, Literal, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from handler.core.errors import InvalidRequest, ModelNotFound, ModelShutDown
from handler.core.price_tables import Prices, Quality
from handler.core.sizes import FreeSizes, parse_size

OutputFormat = Literal["png", "jpeg", "webp"]
Background = Literal["auto", "opaque", "transparent"]
Style = Literal["vivid", "natural"]
# What OpenAI's answers say of a quality: a model's own tiers are reported in these terms.
ReportedQuality = Literal["low", "medium", "high"]
ResponseFormat = Literal["url", "b64_json"]
# Parameters a model may take and ignore, because they only choose a rendering flavour.
Flavour = Literal["style", "input_fidelity"]
BackendName = Literal["bedrock", "preview", "replicate", "sagemaker"]
N = TypeVar("N", int, float)
MAX_SEED = 2**32 - 1  # the largest seed any model takes

CONTENT_TYPES: dict[OutputFormat, str] = {
    "png": "image/png",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
}
FILE_EXTENSIONS: dict[OutputFormat, str] = {"png": "png", "jpeg": "jpg", "webp": "webp"}


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


class CatalogModel(ModelCard):
    """A model card plus how to reach the model, which clients never see."""

    backend: BackendName
    backend_params: dict[str, Any] = Field(default_factory=dict)
    # Under one of its aliases: the name the request used (its rules are that name's).
    called: Annotated[str | None, Field(exclude=True)] = None
    streaming: Annotated[bool, Field(exclude=True)] = True

    @property
    def name(self) -> str:
        """The name the request used: an alias, or the id."""
        return self.called or self.id

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
        tier = self.default_quality
        if tier is not None and (tier == "auto" or tier not in self.qualities):
            raise ValueError(f"default_quality {tier!r} must be one of qualities, not auto")
        for asked, taken in self.quality_map.items():
            if asked in self.qualities or taken not in self.qualities or taken == "auto":
                raise ValueError(f"quality_map.{asked}: maps a quality not offered onto a tier")
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
        self.prices.check_bands(self.free_sizes)


class Catalog(_Strict):
    default_model: str | None  # None: requests must name their model
    models: Annotated[list[CatalogModel], Field(min_length=1)]
    _names: dict[str, CatalogModel] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        from handler.core.namesakes import as_named  # the names' rules build on this module

        ids = [model.id for model in self.models]
        if len(ids) != len(set(ids)):
            raise ValueError("model ids must be unique")
        if self.default_model is not None and self.default_model not in ids:
            raise ValueError(f"default_model {self.default_model!r} is not in models")
        names = {model.id: model for model in self.models}
        for model in self.models:
            if model.successor is not None and model.successor not in names:
                raise ValueError(f"{model.id}: successor {model.successor!r} is not in models")
            for alias in model.aliases:
                if alias in names:
                    raise ValueError(f"{model.id}: alias {alias!r} is already a model's name")
                names[alias] = as_named(model, alias)
        self._names.update(names)
        return self

    def serving(self, served: Callable[[CatalogModel], bool]) -> "Catalog":
        """The catalog less the models ``served`` refuses (and so maybe with none, or no
        default)."""
        models = [model for model in self.models if served(model)]
        default = self.default_model if any(m.id == self.default_model for m in models) else None
        return Catalog(default_model=default, models=models)

    def names(self) -> list[CatalogModel]:
        """Every model under each of its names (an alias after the model it names)."""
        return list(self._names.values())

    def get(self, model_id: str | None, *, today: date | None = None) -> CatalogModel:
        """The model a request names (under that name's rules), if it still runs."""
        wanted = self.default_model if model_id is None else model_id  # "" is no model
        if wanted is None:
            raise InvalidRequest(
                "Missing required parameter: 'model' (this deployment has no default model; "
                "GET /v1/models lists the models served here).",
                param="model",
                code="missing_required_parameter",
            )
        model = self._names.get(wanted)
        if model is None:
            raise ModelNotFound(wanted)
        if model.shut_down(today):
            assert model.shutdown_date is not None
            raise ModelShutDown(wanted, model.shutdown_date.isoformat(), model.successor)
        return model


def _today() -> date:
    return datetime.now(UTC).date()


def load_catalog(path: Path) -> Catalog:
    return Catalog.model_validate_json(path.read_bytes())
