"""E-mails about requests: admins hear about new ones, requesters hear the decision.

Every message carries English and Traditional Chinese in one body, as plain text
and HTML. Each type is one small function. All of them send through one Celery
task that is enqueued when the surrounding transaction commits. A rolled-back
decision therefore sends nothing, and a mail server that is down for a while
only delays the message.
"""

from __future__ import annotations

import datetime
import logging
import smtplib
from dataclasses import dataclass

from celery import shared_task
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.functional import lazy
from django.utils.timesince import timesince

from approvals.models import AuditEvent, Request
from larr1.templatetags.elapsed import TIME_STRINGS
from workspaces.capacity_source import read_workspace_fields

logger = logging.getLogger(__name__)

LANGUAGES = ("en", "zh-hant")
NEW_REQUESTS = "new-requests"
APPROVED = "approved"
REJECTED = "rejected"


@dataclass(frozen=True)
class Message:
    subject: str
    text: str
    html: str
    recipients: list[str]


def notify_new_requests(request_ids) -> None:
    """Tell every active admin about new requests, once the current transaction commits."""
    ids = sorted({int(pk) for pk in request_ids})
    if ids:
        _enqueue(NEW_REQUESTS, ids)


def notify_approved(request_id: int) -> None:
    """Tell the requester that the request was approved, once the current transaction commits."""
    _enqueue(APPROVED, [request_id])


def notify_rejected(request_id: int) -> None:
    """Tell the requester that the request was rejected and why, once the current transaction commits."""
    _enqueue(REJECTED, [request_id])


def _enqueue(kind: str, ids: list[int]) -> None:
    def send_later() -> None:
        try:
            send_request_email.delay(kind, ids)
        except Exception:
            # The decision is already committed: a broker that is down (or, with eager
            # tasks, a mail server that is down) must not turn it into an error page.
            logger.exception("Could not enqueue a request e-mail kind=%s requests=%s", kind, ids)

    transaction.on_commit(send_later)


@shared_task(
    name="approvals.send_request_email",
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=30,
    retry_backoff_max=600,
    max_retries=8,
)
def send_request_email(kind: str, request_ids: list[int]) -> int:
    """Build and send one e-mail of ``kind``; return the number of recipients (0 when nothing to send)."""
    message = build_message(kind, request_ids)
    if message is None or not message.recipients:
        return 0
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=message.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=message.recipients,
    )
    email.attach_alternative(message.html, "text/html")
    email.send()
    logger.info("Sent request e-mail kind=%s requests=%s recipients=%s", kind, request_ids, len(message.recipients))
    return len(message.recipients)


def build_message(kind: str, request_ids: list[int]) -> Message | None:
    """Render the e-mail of ``kind`` about ``request_ids``; None when the requests are gone."""
    requests = list(Request.objects.filter(pk__in=request_ids).order_by("number"))
    if not requests:
        return None
    if kind == NEW_REQUESTS:
        return _render(kind, _admin_addresses(), {"requests": [_request_context(r) for r in requests]})

    request = requests[0]
    context = _request_context(request)
    if kind == REJECTED:
        event = (
            request.events.filter(action=AuditEvent.Action.REJECTED)
            .select_related("actor")
            .order_by("-at", "-pk")
            .first()
        )
        context["reason"] = request.decision_reason or (event.details.get("reason", "") if event else "")
    if kind == APPROVED:
        context["grace"] = _grace_period()
    return _render(kind, _requester_addresses(request), context)


def _grace_period():
    """Return LARR1_DELETE_GRACE_SECONDS as a duration such as "1 week", or "" when there is none.

    The duration is translated when the template shows it, so each language half gets its own words.
    """
    seconds = settings.LARR1_DELETE_GRACE_SECONDS
    if seconds <= 0:
        return ""
    start = timezone.now()
    return lazy(timesince, str)(start, start + datetime.timedelta(seconds=seconds), time_strings=TIME_STRINGS)


def _render(kind: str, recipients: list[str], context: dict) -> Message:
    subjects, texts, htmls = [], [], []
    for language in LANGUAGES:
        with translation.override(language):
            subjects.append(render_to_string(f"approvals/email/{kind}_subject.txt", context).strip())
            texts.append(render_to_string(f"approvals/email/{kind}.txt", context).strip())
            htmls.append({"language": language, "body": render_to_string(f"approvals/email/{kind}.html", context)})
    # Identical halves (a string without a translation yet) appear once.
    subject = subjects[0] if subjects[0] == subjects[1] else " / ".join(subjects)
    text = render_to_string("approvals/email/bilingual.txt", {"parts": texts}).strip() + "\n"
    html = render_to_string("approvals/email/bilingual.html", {"parts": htmls, "subject": subject})
    return Message(subject=subject, text=text, html=html, recipients=recipients)


def _request_context(request: Request) -> dict:
    return {
        "request": request,
        "page_url": settings.SITE_URL.rstrip("/") + reverse("approvals:request", args=[request.pk]),
        "home_url": settings.SITE_URL.rstrip("/") + reverse("home"),
    }


def _admin_addresses() -> list[str]:
    User = get_user_model()
    admins = User.objects.filter(is_staff=True, is_active=True).exclude(email="").order_by("email")
    return list(admins.values_list("email", flat=True).distinct())


def _requester_addresses(request: Request) -> list[str]:
    """Return the e-mail addresses in the workspace file before and after the change.

    When a request changes the address, the old address hears about it too, so a
    change made by someone else does not go unnoticed.
    """
    flagged = _flagged_addresses(request)
    addresses = []
    for text in (request.file_after, request.file_before):
        email = _email_in(text)
        if not email or email in addresses:
            continue
        if email.strip().lower() in flagged:
            # The log names only the request, because the address is personal data.
            logger.info("Skipped an invalid requester address request=%s", request.number)
            continue
        addresses.append(email)
    return addresses


def _flagged_addresses(request: Request) -> set[str]:
    """Return the lowercased email addresses that the request's findings mark invalid, such as a made-up domain."""
    return {
        str(finding.get("params", {}).get("value", "")).strip().lower()
        for finding in request.findings
        if str(finding.get("code", "")).startswith("email.")
    }


def _email_in(text: str) -> str | None:
    if not text:
        return None
    fields = read_workspace_fields(text)
    return fields.email if fields.email and "@" in fields.email else None
