"""Prices and amounts: integer micro-units (1,000,000 = one currency unit), never floats."""

import math

from handler.core.catalog import Catalog
from handler.core.errors import BackendNotConfigured
from handler.core.records.charges import Charge
from handler.core.spec import GenerationSpec


def unit_price(spec: GenerationSpec) -> int:
    """Micro-units per image: the catalog's price for the size (and quality tier, which
    prices edits too; else edit), scaled by the steps asked over the model's default,
    rounded up."""
    base = _base_price(spec)
    if spec.steps is None or spec.model.steps is None:
        return base
    return math.ceil(base * spec.steps / spec.model.steps.default)


def _base_price(spec: GenerationSpec) -> int:
    """The size's price (a listed size's, else its pixel band's) at the quality tier, which
    prices edits too, else as an edit, else as an image."""
    prices = spec.model.prices
    edit = bool(spec.inputs.images) and prices.edit is not None
    if spec.size in prices.image:
        tiered = prices.quality.get(spec.quality)
        table = tiered if tiered is not None else prices.edit if edit else prices.image
        assert table is not None
        return table[spec.size]
    band = prices.band(spec.width * spec.height)
    if band is None:  # the catalog's bands reach its largest free size: never here
        raise BackendNotConfigured(f"{spec.model.id} has no price for {spec.size}.")
    tiered_price = band.quality.get(spec.quality)
    if tiered_price is not None:
        return tiered_price
    return band.edit if edit and band.edit is not None else band.image


def cheapest_line(catalog: Catalog) -> int:
    """The least one batch line can cost: one image of the cheapest model, size and steps
    the catalog serves (a key that cannot pay that cannot run any line)."""
    if not catalog.models:
        raise BackendNotConfigured("This deployment serves no model yet.")
    cheapest = []
    for model in catalog.models:
        tables = [model.prices.image, *model.prices.quality.values(), model.prices.edit or {}]
        prices = [price for table in tables for price in table.values()]
        for band in model.prices.bands:
            prices += [band.image, *band.quality.values(), *([band.edit] if band.edit else [])]
        base = min(prices)
        steps = model.steps
        cheapest.append(base if steps is None else math.ceil(base * steps.min / steps.default))
    return min(cheapest)


def charge_for(spec: GenerationSpec, *, now_ms: int, price: int | None = None) -> Charge:
    """What ``spec`` is charged: ``price`` per image (a quote's), else the catalog's now."""
    return Charge(
        request_id=spec.request_id,
        model=spec.model.id,
        size=f"{spec.width}x{spec.height}",
        n=spec.n,
        unit_price=unit_price(spec) if price is None else price,
        reserved_at=now_ms,
        end_user=spec.end_user,
    )
