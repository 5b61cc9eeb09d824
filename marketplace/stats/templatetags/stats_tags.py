from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def cell(value):
    """A table cell as exported: Decimals keep their own places, with thousands separators."""
    if value is None:
        return "—"
    if isinstance(value, Decimal):
        return f"{value:,f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return value


@register.filter
def is_number(value) -> bool:
    return isinstance(value, (int, Decimal)) and not isinstance(value, bool)
