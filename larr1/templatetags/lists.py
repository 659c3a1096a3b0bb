"""Lists shown to people, joined with the reader's own separator ("、" in Traditional Chinese)."""

from __future__ import annotations

from django import template

from workspaces.contract.findings import join_list

register = template.Library()


@register.filter(name="join_list")
def join_list_filter(items) -> str:
    """Join a list for display with the active language's list separator."""
    return join_list(items or [])
