"""Where a catalog model runs: one or more placements, each a backend with its parameters and
what it costs the operator, which routing (``generation/routing.py``) chooses among.

A catalog entry names its placements in ``placements``, or, for one, in the entry itself
(``backend``, ``backend_params``, ``cost``): that one is called after its backend.
"""

import math
from collections.abc import Collection
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

BackendName = Literal["bedrock", "preview", "replicate", "sagemaker"]
# How a model with several placements picks one: the operator's order (``priority``, then the
# order listed), or the cheapest for the request (ties in the operator's order).
Routing = Literal["priority", "cheapest"]
PLACEMENT_FIELDS = ("backend", "backend_params", "cost")
_REGION = r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$"


class OperatorCost(BaseModel):
    """What a placement costs the operator, in micro-units, one way of three: per image (one
    price, or by size with ``"*"`` for the rest), per second of GPU the provider bills (its
    reported predict time, else the call's time), or per instance-hour of an endpoint of its
    own (a request pays for the seconds it held the instance)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    per_image: Annotated[int, Field(ge=0)] | dict[str, Annotated[int, Field(ge=0)]] | None = None
    per_second: Annotated[int | None, Field(ge=0)] = None
    per_instance_hour: Annotated[int | None, Field(ge=0)] = None

    @model_validator(mode="after")
    def _one_way(self) -> Self:
        ways = [self.per_image, self.per_second, self.per_instance_hour]
        if sum(way is not None for way in ways) != 1:
            raise ValueError("give exactly one of per_image, per_second, per_instance_hour")
        return self

    def image_price(self, size: str) -> int | None:
        """Per image at ``size``; None when it is not priced by the image."""
        if isinstance(self.per_image, int) or self.per_image is None:
            return self.per_image
        return self.per_image.get(size, self.per_image.get("*"))

    def of(self, size: str, images: int, seconds: float) -> int:
        """What ``images`` delivered at ``size`` cost, the work having taken ``seconds``."""
        if self.per_image is not None:
            return images * (self.image_price(size) or 0)
        if self.per_second is not None:
            return math.ceil(self.per_second * seconds)
        assert self.per_instance_hour is not None
        return math.ceil(self.per_instance_hour * seconds / 3600)

    def unpriced(self, sizes: Collection[str]) -> list[str]:
        """The sizes offered that a by-size price leaves out."""
        if not isinstance(self.per_image, dict) or "*" in self.per_image:
            return []
        return [size for size in sizes if size not in self.per_image]


FREE = OperatorCost(per_image=0)  # the preview backend runs in the function itself


class Placement(BaseModel):
    """One backend that serves a model, with its parameters and its cost to the operator."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")]
    backend: BackendName
    backend_params: dict[str, Any] = Field(default_factory=dict)
    cost: OperatorCost
    priority: Annotated[int, Field(ge=0, description="lower first; ties in listed order")] = 100
    region: Annotated[
        str | None, Field(pattern=_REGION, description="Bedrock: the region to invoke it in")
    ] = None
    latency_seconds: Annotated[
        float | None,
        Field(gt=0, description="what a request takes there, until requests have shown it"),
    ] = None

    @model_validator(mode="before")
    @classmethod
    def _priced(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("cost") is None:
            if data.get("backend") != "preview":
                where = data.get("id") or data.get("backend")
                raise ValueError(
                    f"placement {where!r} has no cost: give cost.per_image, cost.per_second "
                    "or cost.per_instance_hour (micro-units), so every request's margin is known"
                )
            data = {**data, "cost": FREE}
        return data

    @model_validator(mode="after")
    def _regional(self) -> Self:
        if self.region is not None and self.backend != "bedrock":
            raise ValueError(f"placement {self.id!r}: region applies to bedrock placements")
        return self

    def params(self) -> dict[str, Any]:
        """The backend's parameters, with the region where it is given."""
        if self.region is None:
            return self.backend_params
        return {**self.backend_params, "region": self.region}


def placements_of(entry: Any) -> Any:
    """A catalog entry with its placements listed: one named in the entry itself becomes the
    only one (called after its backend)."""
    if not isinstance(entry, dict):
        return entry
    named = [name for name in PLACEMENT_FIELDS if name in entry]
    if "placements" in entry:
        if named:
            raise ValueError(f"give placements, or {', '.join(named)} for one, not both")
        return entry
    if "backend" not in entry:
        raise ValueError("give the model's placements (or its backend and cost)")
    placement = {name: entry[name] for name in named}
    placement["id"] = entry["backend"]
    rest = {name: value for name, value in entry.items() if name not in PLACEMENT_FIELDS}
    return {**rest, "placements": [placement]}


def circuit_id(model_id: str, placement_id: str) -> str:
    """The name of a placement's circuit: its model's id and its own."""
    return f"circuit#{model_id}#{placement_id}"
