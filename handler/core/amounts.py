"""Amounts of money: micro-units (a millionth of the currency unit) as integers, never floats.

One rule reads an amount wherever one comes in (the admin API's and the checkout's bodies, the
admin function's commands, the command line): a JSON integer is micro-units (``10000000``); a
string is a decimal amount in the deployment's currency, with a decimal point and one to six
decimals (``"10.00"``). Nothing else is read as money: ``"10"`` could mean ten units or ten
micro-units, ``10.0`` is a float, ``true`` no number at all.
"""

import re
from decimal import Decimal, DecimalException
from typing import Annotated

from pydantic import BeforeValidator, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

MAX_AMOUNT = 10**15  # micro-units: a billion currency units, far inside DynamoDB's numbers
DECIMAL_AMOUNT = r"^-?[0-9]+\.[0-9]{1,6}$"
_DECIMAL_AMOUNT = re.compile(DECIMAL_AMOUNT)
TWO_WAYS = (
    "an amount is a JSON integer of micro-units (10000000) or a string in the deployment's "
    'currency with a decimal point and at most six decimals ("10.00")'
)
EITHER_WAY = 'Micro-units as an integer (10000000), or a decimal string ("10.00").'
# How a value that is neither is named when it is refused.
_NOT_AN_AMOUNT = {
    bool: "true or false",
    float: "a decimal number",
    type(None): "null",
    list: "an array",
    dict: "an object",
}


def amount_of(value: object) -> int:
    """Micro-units of an amount given either way (signed); ValueError saying both otherwise."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _DECIMAL_AMOUNT.fullmatch(value):
        micros = parse_amount(value.removeprefix("-"))
        return -micros if value.startswith("-") else micros
    given = repr(value) if isinstance(value, str) else _NOT_AN_AMOUNT.get(type(value))
    raise ValueError(f"{TWO_WAYS}, not {given or 'a value of another kind'}")


def _amount_in_body(value: object) -> object:
    try:
        return amount_of(value)
    except ValueError as exc:
        raise PydanticCustomError("money_type", str(exc)) from None


def _either_way(least: int) -> WithJsonSchema:
    return WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": least, "maximum": MAX_AMOUNT},
                {"type": "string", "pattern": DECIMAL_AMOUNT},
            ]
        }
    )


_READ = BeforeValidator(_amount_in_body)
# The amounts bodies and commands carry, read by that one rule: signed (an adjustment), at
# least 0 (an opening balance), or more than 0 (a top-up, a cap, a threshold).
Micros = Annotated[
    int, Field(ge=-MAX_AMOUNT, le=MAX_AMOUNT, strict=True), _READ, _either_way(-MAX_AMOUNT)
]
UnsignedMicros = Annotated[int, Field(ge=0, le=MAX_AMOUNT, strict=True), _READ, _either_way(0)]
PositiveMicros = Annotated[int, Field(ge=1, le=MAX_AMOUNT, strict=True), _READ, _either_way(1)]


def parse_amount(text: str) -> int:
    """``"12.5"`` → ``12500000`` micro-units, exactly (no float on the way): currency units,
    as the template's parameters and ``amount_of``'s strings give them."""
    try:
        amount = Decimal(text.strip())
        if not amount.is_finite():
            raise DecimalException
        micros = amount * 1_000_000
    except DecimalException:  # not a number, NaN, infinite, or an exponent past all reason
        raise ValueError(f"{text!r} is not an amount like 10.00 or 10.50.") from None
    if micros != micros.to_integral_value() or amount < 0:
        raise ValueError(f"{text!r}: amounts are positive, with at most six decimals.")
    if micros > MAX_AMOUNT:
        raise ValueError(f"{text!r}: at most {format_micros(MAX_AMOUNT)} at once.")
    return int(micros)


def decimals_of(amount: int) -> int:
    """The decimals ``amount`` needs to be written exactly: two, or up to six."""
    return max(2, len(f"{abs(amount) % 1_000_000:06d}".rstrip("0")))


def format_micros(amount: int, decimals: int | None = None) -> str:
    """``1234500`` → ``1.2345``: whole units and at least ``decimals`` decimals (two by
    default), more where the amount has them: never rounded."""
    places = max(decimals_of(amount), decimals or 2)
    sign = "-" if amount < 0 else ""
    units, micros = divmod(abs(amount), 1_000_000)
    return f"{sign}{units}.{f'{micros:06d}'[:places]}"
