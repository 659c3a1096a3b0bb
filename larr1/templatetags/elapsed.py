"""Elapsed time in the reader's language, with units Larr1 translates itself.

Django's ``timesince`` filter takes its unit words from Django's catalogue, whose
zh_Hant entries (Django 5.2) are terse: "2 分" for minutes, and "2 月" for months,
which also reads as "February". These filters pass Larr1's own unit strings to the
same function.
"""

from __future__ import annotations

import datetime

from django import template
from django.utils import timezone
from django.utils.timesince import timesince
from django.utils.translation import gettext as _
from django.utils.translation import npgettext_lazy

from workspaces.contract.findings import list_separator

register = template.Library()

TIME_STRINGS = {
    "year": npgettext_lazy("elapsed time", "%(num)d year", "%(num)d years", "num"),
    "month": npgettext_lazy("elapsed time", "%(num)d month", "%(num)d months", "num"),
    "week": npgettext_lazy("elapsed time", "%(num)d week", "%(num)d weeks", "num"),
    "day": npgettext_lazy("elapsed time", "%(num)d day", "%(num)d days", "num"),
    "hour": npgettext_lazy("elapsed time", "%(num)d hour", "%(num)d hours", "num"),
    "minute": npgettext_lazy("elapsed time", "%(num)d minute", "%(num)d minutes", "num"),
}


@register.filter
def duration_since(value) -> str:
    """Format the time from ``value`` until now, such as "2 hours, 5 minutes"; "" for None."""
    if not value:
        return ""
    # timesince joins two units with Django's own ", ", which zh_Hant leaves as ", ".
    text = timesince(value, time_strings=TIME_STRINGS)
    return text.replace(", ", list_separator())


@register.filter
def time_ago(value) -> str:
    """Format ``value`` as a time before now, such as "2 minutes ago", or "just now" within a minute."""
    if not value:
        return ""
    now = timezone.now() if timezone.is_aware(value) else datetime.datetime.now()
    if now - value < datetime.timedelta(minutes=1):
        return _("just now")
    return _("%(duration)s ago") % {"duration": duration_since(value)}
