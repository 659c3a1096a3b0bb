"""Admin pages: the queue of requests, one request with its what-if, decisions, the audit log,
workspaces and capacity.

Decisions go through ``approvals.merging`` (which merges, records the audit event
and changes the state only if no one decided first). These views never touch git
or Kubernetes themselves, and read the cluster only through
``workspaces.capacity_source``.
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
from dataclasses import dataclass

from django.contrib import messages
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_POST

from approvals import emails
from approvals.forms import ApproveForm, AuditFilterForm, DismissForm, QueueFilterForm, RejectForm
from approvals.models import ApprovedFile, AuditEvent, ChangeKind, Request, is_risk_code
from approvals.permissions import _get_request_for_admin, _get_workspace_for_admin, admin_required
from approvals.sync import grace_period_end
from workspaces import capacity_source
from workspaces.capacity import Verdict
from workspaces.contract.findings import Finding, join_list
from workspaces.models import ProvisioningRun, Workspace

logger = logging.getLogger(__name__)

QUEUE_PAGE_SIZE = 50
AUDIT_PAGE_SIZE = 100

RISK_LABELS = {
    "risk.email-changed": _("Email change"),
    "risk.rename": _("Rename"),
    "risk.delete": _("Deletion"),
    "risk.storage-near-limit": _("Storage near limit"),
    "risk.readded": _("Removed earlier"),
    "change.outside-user": _("Files outside user/"),
}

# Explanations of what approving does beyond the workspace file, shown beside the risk flag.
RISK_EXPLANATIONS = {
    "change.outside-user": _(
        "Approving merges the whole pull request, so these files outside user/ reach main too: %(paths)s. "
        "Check them, or ask the author to remove them from the pull request."
    ),
}

# Explanations of capacity.plan()'s reason codes: why a request does not fit, or why the estimate is unknown.
CAPACITY_REASONS = {
    "cluster-unreachable": _("The cluster cannot be read right now, so its capacity is unknown."),
    "profile-unknown": _("The request names no profile the catalog offers, so its GPU needs are unknown."),
    "budget-unknown": _(
        "The most likely node reports no GPU memory and the catalog states none for it, "
        "so it is unknown whether the GPU memory suffices."
    ),
    "no-gpu-nodes": _("No schedulable node offers GPUs."),
    "no-free-gpu": _("No node has a free GPU share left for this profile."),
    "no-gpu-memory": _("No node has enough free GPU memory for this profile."),
}

DECISION_ACTIONS = (
    AuditEvent.Action.APPROVED,
    AuditEvent.Action.REJECTED,
    AuditEvent.Action.DISMISSED,
    AuditEvent.Action.MERGED_OUTSIDE,
)

# The provisioning runs a request can cause, and the one each change kind causes.
REQUEST_RUN_KINDS = (ProvisioningRun.Kind.CREATE, ProvisioningRun.Kind.UPDATE, ProvisioningRun.Kind.DELETE)
RUN_KIND_OF_CHANGE = {
    ChangeKind.CREATE: ProvisioningRun.Kind.CREATE,
    ChangeKind.RENAME: ProvisioningRun.Kind.CREATE,
    ChangeKind.UPDATE: ProvisioningRun.Kind.UPDATE,
    ChangeKind.DELETE: ProvisioningRun.Kind.DELETE,
}
MERGE_ACTIONS = (AuditEvent.Action.APPROVED, AuditEvent.Action.MERGED_OUTSIDE)

APPROVE_BLOCKED = {
    "has-errors": _("The request has errors. Ask the author to fix them; it cannot be approved."),
    "does-not-fit": _("The request does not fit on any node. Free capacity first or ask for a smaller profile."),
    "not-open": _("The request is no longer open."),
}


# --- helpers -------------------------------------------------------------------------


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "context", "added", "removed" or "hunk"
    old_number: int | None
    new_number: int | None
    text: str


def diff_lines(before: str, after: str) -> list[DiffLine]:
    """Return the unified diff of two workspace files as lines for the template (which escapes them)."""
    old_lines, new_lines = before.splitlines(), after.splitlines()
    matcher = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    lines: list[DiffLine] = []
    for group in matcher.get_grouped_opcodes(n=3):
        first, last = group[0], group[-1]
        lines.append(
            DiffLine(
                "hunk", None, None, f"@@ -{first[1] + 1},{last[2] - first[1]} +{first[3] + 1},{last[4] - first[3]} @@"
            )
        )
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                for offset, text in enumerate(old_lines[i1:i2]):
                    lines.append(DiffLine("context", i1 + offset + 1, j1 + offset + 1, text))
                continue
            for offset, text in enumerate(old_lines[i1:i2]):
                lines.append(DiffLine("removed", i1 + offset + 1, None, text))
            for offset, text in enumerate(new_lines[j1:j2]):
                lines.append(DiffLine("added", None, j1 + offset + 1, text))
    return lines


def _finding_rows(findings: list[dict]) -> list[dict]:
    rows = []
    for data in findings:
        finding = _with_current_grace_period(Finding.from_dict(data))
        rows.append(
            {
                "severity": finding.severity.value,
                "severity_label": finding.severity.label,
                "code": finding.code,
                "field": finding.field,
                "line": finding.line,
                "message": finding.message,
                "suggestion": finding.suggestion,
                "is_risk": is_risk_code(finding.code),
            }
        )
    # Errors first, then warnings; the file's own order within each.
    return sorted(rows, key=lambda row: row["severity"] != "error")


def _with_current_grace_period(finding: Finding) -> Finding:
    """Return ``finding`` with the old workspace's grace period as it is now, for a re-added workspace.

    The request may have been evaluated before the old workspace started its grace period, or the period may
    have ended since.
    """
    if finding.code != "risk.readded":
        return finding
    params = {name: value for name, value in finding.params.items() if name != "kept_until"}
    kept_until = grace_period_end(str(params.get("username", "")))
    if kept_until:
        params["kept_until"] = kept_until
    return dataclasses.replace(finding, params=params)


def _summary(request_obj: Request) -> dict:
    """Findings at a glance for the queue: counts and risk badges, from the row alone (no query)."""
    errors = sum(1 for finding in request_obj.findings if finding.get("severity") == "error")
    warnings = sum(1 for finding in request_obj.findings if finding.get("severity") == "warning")
    return {
        "request": request_obj,
        "errors": errors,
        "warnings": warnings,
        "risks": [RISK_LABELS.get(code, code) for code in request_obj.risk_codes],
    }


def _risk_rows(request_obj: Request) -> list[dict]:
    """Return each risk flag with its label and, where one exists, what approving it does."""
    rows = []
    for code in request_obj.risk_codes:
        explanation = ""
        if code in RISK_EXPLANATIONS:
            paths = [
                str(finding.get("params", {}).get("path", ""))
                for finding in request_obj.findings
                if finding.get("code") == code
            ]
            explanation = RISK_EXPLANATIONS[code] % {"paths": join_list(path for path in paths if path)}
        rows.append({"code": code, "label": RISK_LABELS.get(code, code), "explanation": explanation})
    return rows


def _approval_blocker(request_obj: Request, plan) -> str:
    """Return why the request cannot be approved now, as an APPROVE_BLOCKED code, or ""."""
    if not request_obj.is_open:
        return "not-open"
    if request_obj.has_errors:
        return "has-errors"
    if plan.verdict == Verdict.DOES_NOT_FIT:
        return "does-not-fit"
    return ""


def _latest_run(workspace):
    """Return the newest provisioning run of ``workspace`` with its steps, or None."""
    return workspace.runs.order_by("-started_at", "-pk").prefetch_related("steps").first()


def _run_for_request(workspace, request_obj: Request):
    """Return the provisioning run that approving ``request_obj`` started, with its steps, or None.

    Runs do not name their request. The run is the newest one of the request's kind
    that started after the request was approved or merged and before the next change
    to the same workspace was, so a retry after a failed run replaces that run. Without
    such a run it is the newest create, update or delete run, never a credential rotation.
    """
    runs = workspace.runs.filter(kind__in=REQUEST_RUN_KINDS).prefetch_related("steps")
    decision = request_obj.events.filter(action__in=MERGE_ACTIONS).order_by("at", "pk").first()
    if decision is not None:
        window = runs.filter(started_at__gte=decision.at)
        next_change = (
            AuditEvent.objects.filter(username=request_obj.username, action__in=MERGE_ACTIONS, at__gt=decision.at)
            .exclude(request=request_obj)
            .order_by("at", "pk")
            .first()
        )
        if next_change is not None:
            window = window.filter(started_at__lt=next_change.at)
        window = window.order_by("-started_at", "-pk")
        kind = RUN_KIND_OF_CHANGE.get(request_obj.change_kind)
        run = window.filter(kind=kind).first() or window.first()
        if run is not None:
            return run
    return runs.order_by("-started_at", "-pk").first()


def _decided_message(request_obj: Request) -> str:
    """Say who decided on the request first, and when, for the admin who came second."""
    event = (
        request_obj.events.filter(action__in=DECISION_ACTIONS).select_related("actor").order_by("-at", "-pk").first()
    )
    if event is None:
        return ""
    actor = event.actor.email if event.actor else _("Larr1")
    # The date comes before the actor because English dates can end in "a.m.", which a closing period would double.
    return _("%(action)s at %(at)s by %(actor)s.") % {
        "action": event.get_action_display(),
        "actor": actor,
        "at": formats.date_format(timezone.localtime(event.at), "DATETIME_FORMAT"),
    }


# --- pages ----------------------------------------------------------------------------


@require_GET
@admin_required
def queue(request):
    form = QueueFilterForm(request.GET or None)
    requests = form.filter(Request.objects.all()).order_by("opened_at", "number")
    page = Paginator(requests, QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [_summary(item) for item in page.object_list]
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "approvals/queue.html",
        {"form": form, "page": page, "rows": rows, "query": query.urlencode(), "section": "queue"},
    )


@require_GET
@admin_required
def request_detail(request, pk: int):
    request_obj = _get_request_for_admin(request, pk)
    heads = list(request_obj.heads.all())
    events = list(request_obj.events.select_related("actor").order_by("-at", "-pk")[:20])
    plan = capacity_source.plan_for_request(request_obj, capacity_source.read_cluster())
    blocker = _approval_blocker(request_obj, plan)
    risky = bool(request_obj.risk_codes)

    initial = {"head_sha": request_obj.head_sha}
    context = {
        "req": request_obj,
        "heads": heads,
        "earlier_heads": [head for head in heads if head.sha != request_obj.head_sha],
        "events": events,
        "diff": diff_lines(request_obj.file_before, request_obj.file_after),
        # An oversized file is stored empty, so an empty diff does not mean that nothing changes.
        "too_large": any(finding.get("code") == "file.too-large" for finding in request_obj.findings),
        "findings": _finding_rows(request_obj.findings),
        "risks": _risk_rows(request_obj),
        "risky": risky,
        "plan": plan,
        "capacity_reason": CAPACITY_REASONS.get(plan.reason, ""),
        "blocker": blocker,
        "blocker_message": APPROVE_BLOCKED.get(blocker, ""),
        # Each form gets its own id prefix, because both have a head_sha field. The
        # dismiss button submits the reject form to the dismiss view, where the reason is optional.
        "approve_form": ApproveForm(initial=initial, risky=risky, auto_id="id_approve_%s"),
        "reject_form": RejectForm(initial=initial, auto_id="id_reject_%s"),
        "section": "queue",
    }
    return render(request, "approvals/request_detail.html", context)


@require_GET
@admin_required
def request_state(request, pk: int):
    """Render the live part of the request page: state, last decision and provisioning progress."""
    request_obj = _get_request_for_admin(request, pk)
    event = request_obj.events.select_related("actor").order_by("-at", "-pk").first()
    workspace = run = None
    if request_obj.username and request_obj.state == Request.State.MERGED:
        workspace = Workspace.objects.filter(username=request_obj.username).order_by("-created_at", "-pk").first()
        run = _run_for_request(workspace, request_obj) if workspace else None
    context = {"req": request_obj, "event": event, "workspace": workspace, "run": run}
    return render(request, "approvals/_request_state.html", context)


@require_POST
@admin_required
def approve(request, pk: int):
    request_obj = _get_request_for_admin(request, pk)
    form = ApproveForm(request.POST, risky=bool(request_obj.risk_codes))
    back = redirect("approvals:request", pk=request_obj.pk)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return back

    # Checked here as well as by the merge step, so the page explains the refusal before any git work.
    plan = capacity_source.plan_for_request(request_obj, capacity_source.read_cluster())
    blocker = _approval_blocker(request_obj, plan)
    if blocker and blocker != "not-open":
        messages.error(request, APPROVE_BLOCKED[blocker])
        return back

    # "not-open" falls through: merging.approve() explains who decided first and when.
    from approvals import merging

    outcome = merging.approve(request_obj.pk, form.cleaned_data["head_sha"], request.user)
    _report_outcome(request, request_obj, outcome)
    if outcome.code == "merged":
        emails.notify_approved(request_obj.pk)
    logger.info("Approval finished request=%s code=%s actor=%s", request_obj.pk, outcome.code, request.user.pk)
    return back


def _decide(request, pk: int, form_class, decide, notify):
    request_obj = _get_request_for_admin(request, pk)
    form = form_class(request.POST)
    back = redirect("approvals:request", pk=request_obj.pk)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return back

    outcome = decide(request_obj.pk, form.cleaned_data["head_sha"], request.user, form.cleaned_data["reason"])
    _report_outcome(request, request_obj, outcome)
    if outcome.ok and notify is not None:
        notify(request_obj.pk)
    logger.info("Decision finished request=%s code=%s actor=%s", request_obj.pk, outcome.code, request.user.pk)
    return back


def _report_outcome(request, request_obj: Request, outcome) -> None:
    if outcome.ok:
        messages.success(request, outcome.message)
        # A rejection is recorded even when closing the pull request on the forge failed.
        if outcome.forge_failed:
            messages.warning(request, outcome.forge_message)
        elif outcome.forge_message:
            messages.info(request, outcome.forge_message)
        return
    if outcome.code == "already-decided":
        request_obj.refresh_from_db()
        decided = _decided_message(request_obj)
        messages.error(request, f"{outcome.message} {decided}".strip())
        return
    messages.error(request, outcome.message)


@require_POST
@admin_required
def reject(request, pk: int):
    from approvals import merging

    return _decide(request, pk, RejectForm, merging.reject, emails.notify_rejected)


@require_POST
@admin_required
def dismiss(request, pk: int):
    from approvals import merging

    return _decide(request, pk, DismissForm, merging.dismiss, None)


@require_GET
@admin_required
def audit(request):
    form = AuditFilterForm(request.GET or None)
    events = form.filter(AuditEvent.objects.select_related("actor", "request")).order_by("-at", "-pk")
    page = Paginator(events, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "approvals/audit.html",
        {"form": form, "page": page, "query": query.urlencode(), "section": "audit"},
    )


@require_GET
@admin_required
def workspaces(request):
    rows = list(Workspace.objects.select_related("observation").order_by("username", "-created_at"))
    # Invalid files on main have no workspace; admins still need to see them.
    invalid = list(ApprovedFile.objects.filter(removed_at__isnull=True, valid=False).order_by("path"))
    context = {"workspaces": rows, "invalid_files": invalid, "section": "workspaces"}
    template = "approvals/_workspace_rows.html" if request.headers.get("HX-Request") else "approvals/workspaces.html"
    return render(request, template, context)


@require_GET
@admin_required
def workspace_state(request, username: str):
    """Render the live state of one workspace and its newest provisioning run."""
    workspace = _get_workspace_for_admin(request, username)
    return render(request, "approvals/_workspace_state.html", {"workspace": workspace, "run": _latest_run(workspace)})


@require_GET
@admin_required
def capacity(request):
    plan = capacity_source.plan_for_cluster(capacity_source.read_cluster())
    context = {"plan": plan, "capacity_reason": CAPACITY_REASONS.get(plan.reason, ""), "section": "capacity"}
    return render(request, "approvals/capacity.html", context)
