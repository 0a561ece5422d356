"""Amounts as operators and customers write them, to micro-units and back, exactly."""

import pytest

from handler.core.money import format_micros, parse_amount


@pytest.mark.parametrize(
    ("text", "micros"), [("10", 10_000_000), ("10.50", 10_500_000), ("0.000001", 1)]
)
def test_an_amount_is_exact(text: str, micros: int) -> None:
    assert parse_amount(text) == micros
    assert parse_amount(format_micros(micros)) == micros


@pytest.mark.parametrize(
    "text", ["ten", "", "NaN", "sNaN", "Infinity", "1e999999", "-1", "0.0000001", "1e16"]
)
def test_what_is_no_amount_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError, match=r"amount|at most"):
        parse_amount(text)
