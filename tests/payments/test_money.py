"""CNY between Decimal yuan and Stripe's integer fen: exact, or refused."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from marketplace.payments.money import MAX_MINOR, AmountError, from_minor, to_minor


@given(st.integers(min_value=1, max_value=MAX_MINOR))
def test_every_fen_amount_goes_there_and_back_exactly(minor):
    yuan = from_minor(minor)

    assert yuan.as_tuple().exponent == -2
    assert to_minor(yuan) == minor


@given(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999999.99"), places=2))
def test_decimal_yuan_with_two_places_convert_exactly(yuan):
    assert Decimal(to_minor(yuan)) == yuan * 100


@pytest.mark.parametrize(
    ("yuan", "minor"),
    [
        ("0.01", 1),
        ("0.10", 10),
        ("0.1", 10),
        ("1", 100),
        ("1E+2", 10000),
        ("1234.56", 123456),
        ("999999.99", MAX_MINOR),
    ],
)
def test_known_amounts(yuan, minor):
    assert to_minor(Decimal(yuan)) == minor


@pytest.mark.parametrize(
    "bad", [Decimal("0.001"), Decimal("12.345"), Decimal("0"), Decimal("-1.00"), Decimal("1000000.00"), Decimal("NaN")]
)
def test_amounts_that_cannot_be_charged_exactly_are_refused(bad):
    with pytest.raises(AmountError):
        to_minor(bad)


def test_floats_are_refused_outright():
    with pytest.raises(AmountError):
        to_minor(0.1)  # type: ignore[arg-type]
    with pytest.raises(AmountError):
        from_minor(1.5)  # type: ignore[arg-type]
