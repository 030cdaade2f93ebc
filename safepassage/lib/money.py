"""Money is integer öre (minor units); formatted per locale only for display."""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_currency
from django.utils.translation import get_language, to_locale


def format_money(minor_units: int, currency: str = "SEK", language: str | None = None) -> str:
    """1 000,00 kr in Swedish, 1,000.00 SEK in English, 1 000,00 SEK in Russian (no-break spaces)."""
    locale = to_locale(language or get_language() or "en")
    if locale == "en":
        locale = "en_GB"
    elif locale == "sv":
        locale = "sv_SE"
    elif locale == "ru":
        locale = "ru_RU"
    # English patterns put the code before the number with no space ("SEK1,000.00"); put it after.
    pattern = "#,##0.00\xa0¤" if locale == "en_GB" else None
    return format_currency(Decimal(minor_units) / 100, currency, format=pattern, locale=locale)
