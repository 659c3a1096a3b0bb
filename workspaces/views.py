"""Pages where people follow their own workspace: its state, its events, their requests, new credentials.

A person sees a workspace when one of their verified email addresses equals the
workspace's email, compared case-insensitively, and admins see every workspace.
Anyone else gets 404, so the pages do not reveal which usernames exist.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist
from django.db import transaction
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from approvals.models import Request
from approvals.permissions import is_admin
from workspaces.contract.findings import Finding
from workspaces.exceptions import reason_text
from workspaces.models import CredentialDelivery, Workspace

logger = logging.getLogger(__name__)

RECENT_EVENTS = 20
RECENT_RUNS = 3
MAX_REQUESTS = 50
# A workspace file's email line; the file may be invalid YAML, so it is not parsed.
EMAIL_LINE = re.compile(r"""^\s*email\s*:\s*["']?([^"'\s#]+)""", re.MULTILINE)

STEP_LABELS = {
    "apply-namespace": _("Create the namespace"),
    "apply-resource-quota": _("Set the resource quota"),
    "apply-limit-range": _("Set the limit range"),
    "apply-network-policies": _("Set the network policies"),
    "prepare-credentials": _("Prepare the credentials"),
    "set-password": _("Set a new password"),
    "apply-volume": _("Create the volume"),
    "apply-deployment": _("Start code-server"),
    "apply-service": _("Create the service"),
    "apply-ingress": _("Publish the workspace's address"),
    "wait-until-ready": _("Wait until the workspace is ready"),
    "send-credentials": _("Email the credentials"),
    "stop-workspace": _("Stop the workspace"),
    "wait-until-stopped": _("Wait until the workspace has stopped"),
}
REPAIR_MESSAGES = {
    "Recreated": _("Larr1 re-created %(object)s because it was missing."),
    "Reapplied": _("Larr1 restored %(object)s because it was changed outside Larr1 (%(fields)s)."),
}


# -- access ---------------------------------------------------------------------


def verified_emails(user) -> set[str]:
    """Return the user's verified email addresses, lowercased."""
    if not user.is_authenticated:
        return set()
    addresses = EmailAddress.objects.filter(user=user, verified=True).values_list("email", flat=True)
    return {address.lower() for address in addresses}


def own_workspaces(user):
    """Return the workspaces whose email is one of the user's verified addresses, newest first per username."""
    emails = verified_emails(user)
    if not emails:
        return Workspace.objects.none()
    match = Q()
    for email in emails:
        match |= Q(spec__email__iexact=email)
    return Workspace.objects.filter(match).order_by("username", "-created_at")


def _get_workspace_for_user(http_request, username: str) -> Workspace:
    """Return the newest workspace named ``username`` that the user may see, or raise Http404."""
    if is_admin(http_request.user):
        visible = Workspace.objects.order_by("-created_at", "-pk")
    else:
        visible = own_workspaces(http_request.user).order_by("-created_at", "-pk")
    workspace = visible.filter(username=username).first()
    if workspace is None:
        raise Http404
    return workspace


def matching_requests(emails: set[str], usernames: set[str]) -> list[Request]:
    """Return the requests for one of ``usernames`` or whose workspace file, before or after, names one of ``emails``.

    Emails compare case-insensitively. A request for a username counts even when
    someone else opened it, such as a deletion or a change of the email address.
    """
    emails = {email.lower() for email in emails}
    if not emails and not usernames:
        return []
    candidates = Q(username__in=usernames)
    for email in emails:
        candidates |= Q(file_before__icontains=email) | Q(file_after__icontains=email)
    found = []
    for request_obj in Request.objects.filter(candidates).order_by("-opened_at", "-number")[:MAX_REQUESTS]:
        text = request_obj.file_before + "\n" + request_obj.file_after
        named = {match.lower() for match in EMAIL_LINE.findall(text)}
        if request_obj.username in usernames or named & emails:
            found.append(request_obj)
    return found


# -- pages ------------------------------------------------------------------------


@login_required
@require_GET
def detail(request, username: str):
    workspace = _get_workspace_for_user(request, username)
    return render(request, "workspaces/detail.html", workspace_context(workspace))


@login_required
@require_GET
def status(request, username: str):
    """Render the status block alone, for the page to refresh it while the workspace changes."""
    workspace = _get_workspace_for_user(request, username)
    return render(request, "workspaces/_status.html", {"workspace": workspace, **status_context(workspace)})


@login_required
@require_POST
def new_credentials(request, username: str):
    workspace = _get_workspace_for_user(request, username)
    if workspace.desired_state != Workspace.DesiredState.ACTIVE or workspace.applied_spec is None:
        messages.error(request, _("New credentials can be sent once the workspace is running."))
        return redirect("workspaces:detail", username=workspace.username)

    if not request.POST.get("confirm_restart"):
        messages.error(request, _("Tick the box to confirm that the workspace may restart."))
        return redirect("workspaces:detail", username=workspace.username)

    with transaction.atomic():
        Workspace.objects.select_for_update().filter(pk=workspace.pk).first()
        deliveries = CredentialDelivery.objects.filter(workspace=workspace)
        if deliveries.exclude(state=CredentialDelivery.State.SENT).exists():
            messages.info(
                request, _("New credentials are already on their way to %(email)s.") % {"email": workspace.email}
            )
            return redirect("workspaces:detail", username=workspace.username)
        cooldown_start = timezone.now() - timedelta(seconds=settings.LARR1_ROTATION_COOLDOWN_SECONDS)
        recent = deliveries.filter(reason=CredentialDelivery.Reason.ROTATION, created_at__gt=cooldown_start).first()
        if recent is not None:
            again_at = recent.created_at + timedelta(seconds=settings.LARR1_ROTATION_COOLDOWN_SECONDS)
            messages.error(
                request,
                _("New credentials were sent a moment ago. You can ask again after %(time)s.")
                % {"time": timezone.localtime(again_at).strftime("%H:%M:%S")},
            )
            return redirect("workspaces:detail", username=workspace.username)
        from workspaces.provisioning import request_new_credentials

        delivery = request_new_credentials(workspace, requested_by=request.user)
    logger.info("New credentials requested for workspace %s (delivery %s)", workspace.username, delivery.pk)
    messages.success(
        request,
        _("New credentials will be emailed to %(email)s. The old password stops working when they are set.")
        % {"email": workspace.email},
    )
    return redirect("workspaces:detail", username=workspace.username)


# -- context -------------------------------------------------------------------------


def status_context(workspace: Workspace) -> dict:
    """Return the state's reason in the reader's language, and whether the state is settled."""
    try:
        observation = workspace.observation
    except ObjectDoesNotExist:
        observation = None
    if observation is not None and observation.reason_code:
        reason = reason_text(observation.reason_code)
        detail = observation.detail
    else:
        reason = workspace.state_reason
        detail = ""
    settled = workspace.observed_state in {
        Workspace.ObservedState.RUNNING,
        Workspace.ObservedState.STOPPED,
        Workspace.ObservedState.DELETED,
    }
    return {"reason": reason, "detail": detail, "settled": settled}


def workspace_context(workspace: Workspace) -> dict:
    from larr1.catalog import get_catalog

    catalog = get_catalog()
    spec = workspace.applied_spec or workspace.spec or {}
    profile = catalog.profiles.get(spec.get("profile", ""))
    runs = list(workspace.runs.order_by("-started_at", "-pk").prefetch_related("steps")[:RECENT_RUNS])
    delivered = (
        workspace.credential_deliveries.filter(state=CredentialDelivery.State.SENT).order_by("-sent_at", "-pk").first()
    )
    return {
        "workspace": workspace,
        **status_context(workspace),
        "spec": spec,
        "profile": profile,
        "storage": spec.get("storage") or catalog.storage.default,
        "change_pending": workspace.applied_spec is not None and workspace.spec != workspace.applied_spec,
        "runs": [{"run": run, "steps": [_step_row(step) for step in run.steps.all()]} for run in runs],
        "events": [_event_row(event) for event in workspace.events.all()[:RECENT_EVENTS]],
        "last_delivery": delivered,
        "can_rotate": workspace.desired_state == Workspace.DesiredState.ACTIVE and workspace.applied_spec is not None,
        "requests": [
            _request_row(request_obj) for request_obj in matching_requests({workspace.email}, {workspace.username})
        ],
    }


def _step_row(step) -> dict:
    return {"step": step, "label": STEP_LABELS.get(step.name, step.name), "note": step_note(step)}


def step_note(step) -> str:
    """Return the step's note, in the reader's language when the note has a code."""
    return reason_text(step.code, step.detail) if step.code else step.message


def _event_row(event) -> dict:
    if event.source == event.Source.RECONCILE and event.reason in REPAIR_MESSAGES:
        text = REPAIR_MESSAGES[event.reason] % {"object": event.object, "fields": event.message}
    else:
        text = event.message
    return {"event": event, "text": text}


def _request_row(request_obj: Request) -> dict:
    findings = []
    for data in request_obj.findings:
        try:
            finding = Finding.from_dict(data)
        except (KeyError, TypeError, ValueError):
            logger.warning("Request %s has a finding that cannot be read: %r", request_obj.pk, data)
            continue
        findings.append({"finding": finding, "message": finding.message})
    return {"request": request_obj, "findings": findings}


def dashboard_context(http_request) -> dict:
    """Build the signed-in user's part of the home page: their workspaces and their requests."""
    user = http_request.user
    mine = list(own_workspaces(user))
    current = [workspace for workspace in mine if workspace.desired_state != Workspace.DesiredState.DELETED]
    requests = matching_requests(verified_emails(user), {workspace.username for workspace in current})
    return {
        "workspace_rows": [{"workspace": workspace, **status_context(workspace)} for workspace in current],
        "requests": [_request_row(request_obj) for request_obj in requests],
        "is_admin": is_admin(user),
    }
