"""Requests mirrored from pull requests, the approved state read from main, and the audit log."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ChangeKind(models.TextChoices):
    # Values match workspaces.contract.ChangeKind, lowercased.
    CREATE = "create", _("Create workspace")
    UPDATE = "update", _("Update workspace")
    DELETE = "delete", _("Delete workspace")
    RENAME = "rename", _("Rename workspace")
    NONE = "none", _("Not a workspace change")


# Finding codes outside the contract's risk.* codes that also need an admin's confirmation.
# Approving merges the whole pull request, so changes outside user/ reach main too.
EXTRA_RISK_CODES = frozenset({"change.outside-user"})


def is_risk_code(code: str) -> bool:
    """Return whether a finding with ``code`` is a risk flag that an admin must confirm."""
    return code.startswith("risk.") or code in EXTRA_RISK_CODES


class Request(models.Model):
    """One pull request (or GitLab merge request) against the user repository."""

    class State(models.TextChoices):
        OPEN = "open", _("Open")
        MERGED = "merged", _("Merged")
        CLOSED = "closed", _("Closed")
        REJECTED = "rejected", _("Rejected")
        DISMISSED = "dismissed", _("Dismissed")

    # The states an admin's decision leaves. A new push to the pull request reopens them.
    DECIDED_STATES = (State.REJECTED, State.DISMISSED)

    forge = models.CharField(_("forge"), max_length=16, help_text=_("github, gitea, gitlab or git."))
    number = models.PositiveIntegerField(_("number"), help_text=_("The pull request's number on the forge."))
    ref = models.CharField(_("ref"), max_length=200, help_text=_("The git ref of the pull request's head."))
    title = models.CharField(_("title"), max_length=500, blank=True)
    author = models.CharField(
        _("author"), max_length=200, blank=True, help_text=_("Forge login, or the head commit's author name.")
    )
    url = models.URLField(_("URL"), max_length=500, blank=True, help_text=_("The pull request's page on the forge."))
    head_sha = models.CharField(_("head commit"), max_length=40)
    base_sha = models.CharField(_("main commit"), max_length=40, blank=True, help_text=_("Main when last evaluated."))
    merge_base_sha = models.CharField(
        _("merge base"),
        max_length=40,
        blank=True,
        help_text=_("The commit the pull request branched from main; its tree is the 'before' side."),
    )
    change_kind = models.CharField(_("change"), max_length=16, choices=ChangeKind.choices, default=ChangeKind.NONE)
    path = models.CharField(
        _("workspace file"),
        max_length=500,
        blank=True,
        db_index=True,
        help_text=_("The workspace file the request changes (the new path for a rename)."),
    )
    username = models.CharField(_("username"), max_length=100, blank=True, db_index=True)
    old_username = models.CharField(
        _("previous username"), max_length=100, blank=True, help_text=_("Set for a rename.")
    )
    file_before = models.TextField(_("file before"), blank=True, help_text=_("Empty when the file is new."))
    file_after = models.TextField(_("file after"), blank=True, help_text=_("Empty when the file is deleted."))
    findings = models.JSONField(_("findings"), default=list, blank=True)
    has_errors = models.BooleanField(_("has errors"), default=False, db_index=True)
    risks = models.JSONField(_("risks"), default=list, blank=True, help_text=_("Codes of the risk flags."))
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.OPEN, db_index=True)
    superseded_by = models.ForeignKey(
        "self",
        verbose_name=_("superseded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="supersedes",
        help_text=_("A newer open request for the same workspace file."),
    )
    merged_commit = models.CharField(_("merge commit"), max_length=40, blank=True)
    decision_reason = models.TextField(_("reason"), blank=True, help_text=_("Why an admin rejected or dismissed it."))
    opened_at = models.DateTimeField(_("opened"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    last_evaluated_at = models.DateTimeField(_("last evaluated"), null=True, blank=True)

    class Meta:
        verbose_name = _("request")
        verbose_name_plural = _("requests")
        ordering = ["-opened_at", "-number"]
        constraints = [models.UniqueConstraint(fields=["forge", "number"], name="approvals_request_forge_number")]

    def __str__(self) -> str:
        return f"#{self.number} {self.title}".strip()

    @property
    def is_open(self) -> bool:
        return self.state == self.State.OPEN

    @property
    def risk_codes(self) -> list[str]:
        """Return the codes of the risk flags, including those in findings stored before they counted as risks."""
        found = {finding.get("code", "") for finding in self.findings if is_risk_code(finding.get("code", ""))}
        return sorted(set(self.risks) | found)

    @property
    def errors(self) -> list[dict]:
        return [finding for finding in self.findings if finding.get("severity") == "error"]

    @property
    def warnings(self) -> list[dict]:
        return [finding for finding in self.findings if finding.get("severity") == "warning"]


class RequestHead(models.Model):
    """A head commit a request had; the history shows pushes and force-pushes."""

    request = models.ForeignKey(Request, verbose_name=_("request"), on_delete=models.CASCADE, related_name="heads")
    sha = models.CharField(_("commit"), max_length=40)
    first_seen_at = models.DateTimeField(_("first seen"), default=timezone.now)
    forced = models.BooleanField(
        _("force-pushed"), default=False, help_text=_("The new head does not contain the previous one.")
    )

    class Meta:
        verbose_name = _("request head")
        verbose_name_plural = _("request heads")
        ordering = ["request", "first_seen_at", "pk"]

    def __str__(self) -> str:
        return self.sha


class ApprovedFile(models.Model):
    """A workspace file on main: the approved state that provisioning follows."""

    path = models.CharField(_("path"), max_length=500, unique=True)
    username = models.CharField(_("username"), max_length=100, blank=True, db_index=True)
    blob_sha = models.CharField(_("blob"), max_length=40, blank=True)
    commit_sha = models.CharField(
        _("commit"), max_length=40, blank=True, help_text=_("Main commit that last changed it.")
    )
    content = models.TextField(_("content"), blank=True)
    valid = models.BooleanField(_("valid"), default=False, help_text=_("Invalid files are shown but not provisioned."))
    findings = models.JSONField(_("findings"), default=list, blank=True)
    spec = models.JSONField(_("workspace spec"), null=True, blank=True, help_text=_("Empty when the file is invalid."))
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)
    removed_at = models.DateTimeField(
        _("removed"),
        null=True,
        blank=True,
        db_index=True,
        help_text=_("When the file disappeared from main; its workspace must then be deleted."),
    )

    class Meta:
        verbose_name = _("approved file")
        verbose_name_plural = _("approved files")
        ordering = ["path"]

    def __str__(self) -> str:
        return self.path


class SyncRun(models.Model):
    """One sync of the mirror, for the dashboard and for debugging."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    started_at = models.DateTimeField(_("started"), default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.RUNNING)
    trigger = models.CharField(
        _("trigger"), max_length=32, blank=True, help_text=_("schedule, webhook, command, approval.")
    )
    main_sha = models.CharField(_("main commit"), max_length=40, blank=True)
    refs_changed = models.PositiveIntegerField(_("refs changed"), default=0)
    error_code = models.CharField(_("error code"), max_length=64, blank=True)
    summary = models.TextField(_("summary"), blank=True)

    class Meta:
        verbose_name = _("sync run")
        verbose_name_plural = _("sync runs")
        ordering = ["-started_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.started_at:%Y-%m-%d %H:%M:%S} {self.status}"


class AuditEvent(models.Model):
    """A decision or an outside change, recorded once: who, when, which commit, what."""

    class Action(models.TextChoices):
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        DISMISSED = "dismissed", _("Dismissed")
        MERGED_OUTSIDE = "merged-outside", _("Changed on main without Larr1")
        APPROVAL_FAILED = "approval-failed", _("Approval failed")
        SYNCED = "synced", _("Synced")
        PROVISIONED = "provisioned", _("Provisioned")
        DELETED = "deleted", _("Deleted")
        CREDENTIALS_SENT = "credentials-sent", _("Credentials sent")

    at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("actor"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("Empty for Larr1 itself."),
    )
    action = models.CharField(_("action"), max_length=32, choices=Action.choices, db_index=True)
    request = models.ForeignKey(
        Request, verbose_name=_("request"), null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    commit = models.CharField(_("commit"), max_length=40, blank=True)
    username = models.CharField(_("username"), max_length=100, blank=True, db_index=True)
    details = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.username}".strip()
