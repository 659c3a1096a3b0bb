"""Forms of the admin pages: queue and audit filters, and the decisions bound to a head commit."""

from __future__ import annotations

from django import forms
from django.core.validators import RegexValidator
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from approvals.models import AuditEvent, ChangeKind, Request

_COMMIT = RegexValidator(r"^[0-9a-f]{40}$", _("Not a commit id."))
MAX_REASON_LENGTH = 2000


class QueueFilterForm(forms.Form):
    STATE_ALL = "all"
    ERRORS_CHOICES = [("", _("Any")), ("yes", _("With errors")), ("no", _("Without errors"))]

    state = forms.ChoiceField(
        label=_("State"),
        required=False,
        choices=[
            (Request.State.OPEN, Request.State.OPEN.label),
            *[choice for choice in Request.State.choices if choice[0] != Request.State.OPEN],
            (STATE_ALL, _("All")),
        ],
    )
    kind = forms.ChoiceField(label=_("Change"), required=False, choices=[("", _("Any")), *ChangeKind.choices])
    errors = forms.ChoiceField(label=_("Findings"), required=False, choices=ERRORS_CHOICES)
    q = forms.CharField(label=_("Username"), required=False, max_length=100)

    def filter(self, queryset):
        """Apply the valid filters to ``queryset``; open requests when no state is chosen."""
        data = self.cleaned_data if self.is_valid() else {}
        state = data.get("state") or Request.State.OPEN
        if state != self.STATE_ALL:
            queryset = queryset.filter(state=state)
        if data.get("kind"):
            queryset = queryset.filter(change_kind=data["kind"])
        if data.get("errors") == "yes":
            queryset = queryset.filter(has_errors=True)
        elif data.get("errors") == "no":
            queryset = queryset.filter(has_errors=False)
        if data.get("q"):
            queryset = queryset.filter(username__icontains=data["q"].strip())
        return queryset


class AuditFilterForm(forms.Form):
    action = forms.ChoiceField(label=_("Action"), required=False, choices=[("", _("Any")), *AuditEvent.Action.choices])
    actor = forms.CharField(label=_("Actor"), required=False, max_length=200, help_text=_("Email or username."))
    username = forms.CharField(label=_("Workspace"), required=False, max_length=100)
    since = forms.DateField(
        label=pgettext_lazy("date range", "From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=pgettext_lazy("date range", "To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            raise forms.ValidationError(_("The start date is after the end date."))
        return cleaned

    def filter(self, queryset):
        """Apply the valid filters to ``queryset``; dates are whole days in the server's time zone."""
        if not self.is_valid():
            return queryset
        data = self.cleaned_data
        if data.get("action"):
            queryset = queryset.filter(action=data["action"])
        if data.get("actor"):
            actor = data["actor"].strip()
            queryset = queryset.filter(Q(actor__email__icontains=actor) | Q(actor__username__icontains=actor))
        if data.get("username"):
            queryset = queryset.filter(username__icontains=data["username"].strip())
        if data.get("since"):
            queryset = queryset.filter(at__date__gte=data["since"])
        if data.get("until"):
            queryset = queryset.filter(at__date__lte=data["until"])
        return queryset


class DecisionForm(forms.Form):
    """A decision on the request as the admin saw it: the head commit shown on the page."""

    head_sha = forms.CharField(widget=forms.HiddenInput, validators=[_COMMIT], min_length=40, max_length=40)


class ApproveForm(DecisionForm):
    confirm = forms.BooleanField(
        label=_("I have read the risks above and approve anyway."),
        required=False,
    )

    def __init__(self, *args, risky: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.risky = risky
        if risky:
            self.fields["confirm"].required = True
            self.fields["confirm"].error_messages["required"] = _(
                "This request has risks. Tick the confirmation to approve it."
            )


class RejectForm(DecisionForm):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=MAX_REASON_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("The requester receives it by email."),
        error_messages={"required": _("Write the reason for the requester.")},
    )

    def clean_reason(self):
        reason = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError(_("Write the reason for the requester."))
        return reason


class DismissForm(DecisionForm):
    """A dismissal, with an optional reason: the requester gets no e-mail, and the audit log keeps the reason."""

    reason = forms.CharField(label=_("Reason"), max_length=MAX_REASON_LENGTH, required=False)

    def clean_reason(self):
        return self.cleaned_data["reason"].strip()
