"""Formatting for the admin pages: GPU memory and storage sizes, chart geometry."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext as _

register = template.Library()

GIB = 2**30


@register.filter
def mib_as_gib(value) -> str:
    """Format MiB as GiB with at most one decimal, such as "24 GiB" or "1.5 GiB"; "?" for None."""
    if value is None or value == "":
        return "?"
    gib = int(value) / 1024
    number = f"{gib:.1f}".rstrip("0").rstrip(".")
    return _("%(number)s GiB") % {"number": number}


@register.filter
def bytes_as_size(value) -> str:
    """Format bytes as GiB or TiB, with a sign when negative."""
    if value is None or value == "":
        return "?"
    size = int(value)
    sign = "−" if size < 0 else ""
    size = abs(size)
    if size >= 1024 * GIB:
        number = f"{size / (1024 * GIB):.2f}".rstrip("0").rstrip(".")
        return _("%(sign)s%(number)s TiB") % {"sign": sign, "number": number}
    number = f"{size / GIB:.1f}".rstrip("0").rstrip(".")
    return _("%(sign)s%(number)s GiB") % {"sign": sign, "number": number}


@register.filter
def short_sha(value) -> str:
    return (value or "")[:10]


@register.simple_tag
def bar_segments(node, width=600) -> list[dict]:
    """Return the x offset and width (in SVG user units) of each segment of a node's bar."""
    segments = []
    offset = 0.0
    for name, percent in node.bar().items():
        size = width * percent / 100
        segments.append({"name": name, "x": round(offset, 2), "width": round(size, 2)})
        offset += size
    return segments
