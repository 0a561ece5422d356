"""Amounts of money: micro-units (a millionth of the currency unit) as integers, never floats."""

from decimal import Decimal, DecimalException
from typing import Annotated

from pydantic import BeforeValidator, Field
from pydantic_core import PydanticCustomError

MAX_AMOUNT = 10**15  # micro-units: a billion currency units, far inside DynamoDB's numbers
# How a value that is not a JSON integer is named when it is refused as an amount.
_NOT_AN_AMOUNT = {
    bool: "true or false",
    str: "a string",
    float: "a decimal number",
    type(None): "null",
    list: "an array",
    dict: "an object",
}


def _whole_micros(value: object) -> object:
    """An amount in a body is a JSON integer of micro-units, nothing that could be read as one:
    ``"10.00"`` would be ten micro-units to a lax reader, ``true`` one, ``1e6`` a float."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise PydanticCustomError(
        "money_type",
        "an amount is a whole number of micro-units, a JSON integer (10.00 is 10000000), "
        "not {given}",
        {"given": _NOT_AN_AMOUNT.get(type(value), "a value of another kind")},
    )


_WHOLE_MICROS = BeforeValidator(_whole_micros)
# The amounts request bodies carry, read by that one rule: signed (an adjustment), at least 0
# (an opening balance), or more than 0 (a top-up, a cap, a threshold).
Micros = Annotated[int, Field(ge=-MAX_AMOUNT, le=MAX_AMOUNT, strict=True), _WHOLE_MICROS]
UnsignedMicros = Annotated[int, Field(ge=0, le=MAX_AMOUNT, strict=True), _WHOLE_MICROS]
PositiveMicros = Annotated[int, Field(ge=1, le=MAX_AMOUNT, strict=True), _WHOLE_MICROS]


def parse_amount(text: str) -> int:
    """``"12.5"`` → ``12500000`` micro-units, exactly (no float on the way)."""
    try:
        amount = Decimal(text.strip())
        if not amount.is_finite():
            raise DecimalException
        micros = amount * 1_000_000
    except DecimalException:  # not a number, NaN, infinite, or an exponent past all reason
        raise ValueError(f"{text!r} is not an amount like 10 or 10.50.") from None
    if micros != micros.to_integral_value() or amount < 0:
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
