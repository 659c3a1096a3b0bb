"""Formatting for the admin pages: GPU memory and storage sizes, chart geometry."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from approvals.models import AuditEvent, ChangeKind
from workspaces.models import CredentialDelivery, ProvisioningRun

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


AUDIT_LABELS = {
    "head": gettext_lazy("Head commit"),
    "change": gettext_lazy("Change"),
    "path": gettext_lazy("File"),
    "via": gettext_lazy("Merged by"),
    "code": gettext_lazy("Result"),
    "detail": gettext_lazy("Detail"),
    "reason": gettext_lazy("Reason"),
    "run": gettext_lazy("Run"),
    "kind": gettext_lazy("Kind"),
    "namespace": gettext_lazy("Namespace"),
    "delivery": gettext_lazy("Delivery"),
    "forge": gettext_lazy("On the forge"),
    "forge_detail": gettext_lazy("Forge error"),
}
AUDIT_VALUES = {
    "via": {"push": gettext_lazy("a push to main"), "forge-api": gettext_lazy("the forge's merge API")},
    "change": {
        **{kind.value: kind.label for kind in ChangeKind},
        "added": gettext_lazy("Added"),
        "changed": gettext_lazy("Changed"),
        "removed": gettext_lazy("Removed"),
    },
    "kind": {kind.value: kind.label for kind in ProvisioningRun.Kind},
    "forge": {
        "closed": gettext_lazy("Closed with the reason as a comment"),
        "already-closed": gettext_lazy("Already closed"),
    },
}
AUDIT_VALUES_BY_ACTION = {
    AuditEvent.Action.CREDENTIALS_SENT: {
        "reason": {reason.value: reason.label for reason in CredentialDelivery.Reason}
    },
}


@register.filter
def audit_details(event) -> list[tuple[str, str]]:
    """Return an audit event's details as (label, value) pairs in the reader's language.

    Keys and values listed above are translated. Others are shown as stored.
    """
    values = {**AUDIT_VALUES, **AUDIT_VALUES_BY_ACTION.get(event.action, {})}
    rows = []
    for key, value in (event.details or {}).items():
        if value in ("", None):
            continue
        label = AUDIT_LABELS.get(key, key)
        text = values.get(key, {}).get(value, value) if isinstance(value, str) else value
        if key == "head" and isinstance(value, str):
            text = value[:12]
        rows.append((_("%(label)s:") % {"label": label}, str(text)))
    return rows
