"""Amounts of money: micro-units (a millionth of the currency unit) as integers, never floats."""

from decimal import Decimal, DecimalException

MAX_AMOUNT = 10**15  # micro-units: a billion currency units, far inside DynamoDB's numbers


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
