"""A currency's minor unit (ISO 4217): how many decimals its budgets are rounded to."""

from functools import cache

import iso4217

# Codes ISO 4217 does not list (or lists without a minor unit, like gold): cents.
DEFAULT_DECIMALS = 2


@cache
def minor_unit_decimals(currency: str) -> int:
    """Decimals of the currency's minor unit: 2 for EUR and USD, 0 for JPY and KRW, 3 for BHD.

    Any three-letter code is a valid client currency; one ISO 4217 does not know gets cents.
    """
    try:
        exponent = iso4217.Currency(currency.upper()).exponent
    except ValueError:
        return DEFAULT_DECIMALS
    return DEFAULT_DECIMALS if exponent is None else int(exponent)
