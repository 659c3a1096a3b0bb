"""Lists shown to people, joined with the reader's own separator ("、" in Traditional Chinese)."""

from __future__ import annotations

from collections.abc import Iterable

from django import template
from django.utils.translation import pgettext

register = template.Library()


def join_list(items: Iterable) -> str:
    """Join items with the active language's list separator."""
    return pgettext("list separator", ", ").join(str(item) for item in items)


@register.filter(name="join_list")
def join_list_filter(items) -> str:
    return join_list(items or [])
