"""`{{ amount_ore|money }}` and `{{ amount_ore|money:"EUR" }}` in templates."""

from __future__ import annotations

from django import template

from safepassage.lib.money import format_money

register = template.Library()


@register.filter
def money(minor_units: int, currency: str = "SEK") -> str:
    return format_money(int(minor_units), currency)
