"""Minor units of the currencies budgets are rounded to."""

import pytest

from oktapi.currency import minor_unit_decimals


@pytest.mark.parametrize(
    ("currency", "decimals"),
    [("EUR", 2), ("usd", 2), ("JPY", 0), ("KRW", 0), ("BHD", 3), ("CLF", 4), ("XAU", 2)],
)
def test_minor_units_follow_iso_4217(currency, decimals):
    assert minor_unit_decimals(currency) == decimals


def test_a_code_iso_4217_does_not_know_gets_cents():
    assert minor_unit_decimals("ZZZ") == 2
