"""Amounts as operators and customers write them, to micro-units and back, exactly."""

import pytest

from handler.core.amounts import amount_of, decimals_of, format_micros, parse_amount


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


@pytest.mark.parametrize(
    ("value", "micros"),
    [("10.00", 10_000_000), (10_000_000, 10_000_000), ("-2.5", -2_500_000), ("0.000001", 1)],
)
def test_an_amount_is_a_decimal_string_or_an_integer_of_micro_units(
    value: object, micros: int
) -> None:
    assert amount_of(value) == micros


@pytest.mark.parametrize(
    "value", ["10", "1000000", "10.", ".5", "1e6", " 1.00", "1.0000001", 1.0, True, None, [1]]
)
def test_anything_else_is_refused_naming_both_forms(value: object) -> None:
    with pytest.raises(ValueError, match=r'micro-units \(10000000\).*"10\.00"'):
        amount_of(value)


@pytest.mark.parametrize(
    ("amounts", "texts"),
    [
        ([0, 25_000_000], ["0.00", "25.00"]),
        ([500, 6_000_000, 109_376_500], ["0.0005", "6.0000", "109.3765"]),
        ([1], ["0.000001"]),
    ],
)
def test_amounts_shown_together_share_their_decimals(amounts: list[int], texts: list[str]) -> None:
    decimals = max(map(decimals_of, amounts))
    assert [format_micros(amount, decimals) for amount in amounts] == texts
