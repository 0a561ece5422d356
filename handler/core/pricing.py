"""Prices and amounts: integer micro-units (1,000,000 = one currency unit), never floats."""

import math
from typing import cast

from handler.core.catalog import Catalog, Quality
from handler.core.errors import BackendNotConfigured
from handler.core.ports import Charge
from handler.core.spec import GenerationSpec


def unit_price(spec: GenerationSpec) -> int:
    """Micro-units per image: the catalog's price for the size (and quality tier, which
    prices edits too; else edit), scaled by the steps asked over the model's default,
    rounded up."""
    prices = spec.model.prices
    size = f"{spec.width}x{spec.height}"
    tier = prices.quality.get(cast(Quality, spec.quality))
    if tier is not None:
        table = tier
    elif spec.inputs.images and prices.edit is not None:
        table = prices.edit
    else:
        table = prices.image
    base = table[size]
    if spec.steps is None or spec.model.steps is None:
        return base
    return math.ceil(base * spec.steps / spec.model.steps.default)


def cheapest_line(catalog: Catalog) -> int:
    """The least one batch line can cost: one image of the cheapest model, size and steps
    the catalog serves (a key that cannot pay that cannot run any line)."""
    if not catalog.models:
        raise BackendNotConfigured("This deployment serves no model yet.")
    cheapest = []
    for model in catalog.models:
        tables = [model.prices.image, *model.prices.quality.values(), model.prices.edit or {}]
        base = min(price for table in tables for price in table.values())
        steps = model.steps
        cheapest.append(base if steps is None else math.ceil(base * steps.min / steps.default))
    return min(cheapest)


def quote(spec: GenerationSpec, *, now_ms: int) -> Charge:
    return Charge(
        request_id=spec.request_id,
        model=spec.model.id,
        size=f"{spec.width}x{spec.height}",
        n=spec.n,
        unit_price=unit_price(spec),
        reserved_at=now_ms,
    )
