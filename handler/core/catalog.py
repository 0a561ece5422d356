"""The model catalog: which models are served, on which backend, within which limits."""

from collections.abc import Callable, Collection, Iterator
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import Field, PrivateAttr, model_validator

from handler.core.errors import InvalidRequest, ModelNotFound, ModelShutDown
from handler.core.model_card import ModelCard, Strict
from handler.core.placements import BackendName, Placement, Routing, placements_of
from handler.core.sizes import parse_size


class CatalogModel(ModelCard):
    """A model card plus where the model runs, which clients never see."""

    placements: Annotated[list[Placement], Field(min_length=1)]
    routing: Routing = "priority"
    # A copy bound to one placement (``at``): what a backend runs.
    placement: Annotated[Placement | None, Field(exclude=True)] = None
    # Under one of its aliases: the name the request used (its rules are that name's).
    called: Annotated[str | None, Field(exclude=True)] = None
    streaming: Annotated[bool, Field(exclude=True)] = True

    @model_validator(mode="before")
    @classmethod
    def _placed(cls, data: Any) -> Any:
        return placements_of(data)

    @property
    def name(self) -> str:
        """The name the request used: an alias, or the id."""
        return self.called or self.id

    @property
    def bound(self) -> Placement:
        """The placement it runs on: the one bound, else its first."""
        return self.placement or self.placements[0]

    @property
    def backend(self) -> BackendName:
        return self.bound.backend

    @property
    def backend_params(self) -> dict[str, Any]:
        return self.bound.params()

    def at(self, placement: Placement) -> Self:
        """The model bound to ``placement``, as its backend runs it there."""
        return self.model_copy(update={"placement": placement})

    @property
    def where(self) -> str:
        """The model, and its placement if it has several: ``id@placement``."""
        return self.id if len(self.placements) == 1 else f"{self.id}@{self.bound.id}"

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
        self._placements_priced()
        return self

    def _placements_priced(self) -> None:
        ids = [placement.id for placement in self.placements]
        if len(ids) != len(set(ids)):
            raise ValueError("placement ids must be unique within a model")
        for placement in self.placements:
            unpriced = placement.cost.unpriced([*self.sizes, *(["*"] * bool(self.free_sizes))])
            if unpriced:
                raise ValueError(f"placement {placement.id!r}: cost.per_image omits {unpriced}")

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


class Catalog(Strict):
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

    def serving(self, kept: Callable[[Placement], bool]) -> "Catalog":
        """The catalog with only the placements ``kept`` keeps, less the models left without
        one (and so maybe with none, or no default)."""
        models = []
        for model in self.models:
            placements = [placement for placement in model.placements if kept(placement)]
            if placements:
                models.append(model.model_copy(update={"placements": placements}))
        default = self.default_model if any(m.id == self.default_model for m in models) else None
        return Catalog(default_model=default, models=models)

    def checked_regions(self, known: Callable[[], Collection[str]]) -> Self:
        """The catalog, if every region its placements name is one of ``known()`` (read only
        if one names a region)."""
        for model in self.models:
            for placement in model.placements:
                if placement.region is not None and placement.region not in known():
                    raise ValueError(
                        f"{model.id}: placement {placement.id!r} names region "
                        f"{placement.region!r}, which AWS does not have"
                    )
        return self

    def placed(self, backend: str) -> Iterator[CatalogModel]:
        """Each running model bound to each of its placements on ``backend``."""
        for model in self.models:
            if not model.shut_down():
                yield from (model.at(p) for p in model.placements if p.backend == backend)

    def backend_names(self) -> set[str]:
        """The backends its placements run on."""
        return {placement.backend for model in self.models for placement in model.placements}

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


def load_catalog(path: Path) -> Catalog:
    return Catalog.model_validate_json(path.read_bytes())
