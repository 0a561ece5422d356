"""Prices and amounts: integer micro-units (1,000,000 = one currency unit), never floats."""

import math
from decimal import Decimal, InvalidOperation
from typing import cast

from handler.core.catalog import Catalog, Quality
from handler.core.errors import BackendNotConfigured
from handler.core.ports import Charge
from handler.core.spec import GenerationSpec

MAX_AMOUNT = 10**15  # micro-units: a billion currency units, far inside DynamoDB's numbers


def unit_price(spec: GenerationSpec) -> int:
    """Micro-units per image: the catalog's price for the size (and quality tier, or edit),
    scaled by the steps asked over the model's default, rounded up."""
    prices = spec.model.prices
    size = f"{spec.width}x{spec.height}"
    if spec.inputs.images and prices.edit is not None:
        table = prices.edit
    else:
        table = prices.quality.get(cast(Quality, spec.quality), prices.image)
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


def parse_amount(text: str) -> int:
    """``"12.5"`` → ``12500000`` micro-units, exactly (no float on the way)."""
    try:
        amount = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(f"{text!r} is not an amount like 10 or 10.50.") from None
    micros = amount * 1_000_000
    if not amount.is_finite() or micros != micros.to_integral_value() or amount < 0:
        raise ValueError(f"{text!r}: amounts are positive, with at most six decimals.")
    if micros > MAX_AMOUNT:
        raise ValueError(f"{text!r}: at most {format_micros(MAX_AMOUNT)} at once.")
    return int(micros)


def format_micros(amount: int) -> str:
    """``1234500`` → ``1.2345``: whole units and at least two decimals, no float involved."""
    sign = "-" if amount < 0 else ""
    units, micros = divmod(abs(amount), 1_000_000)
    decimals = f"{micros:06d}".rstrip("0").ljust(2, "0")
    return f"{sign}{units}.{decimals}"
