"""What the reconcile rounds found: the rounds themselves, objects nobody owns, and workspace events.

``workspaces.models`` imports this module, so Django registers these models with
the workspaces app.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ReconcileRun(models.Model):
    """One reconcile round: what it listed, what it repaired and how long it took."""

    class State(models.TextChoices):
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    started_at = models.DateTimeField(_("started"), default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.RUNNING)
    api_calls = models.PositiveIntegerField(
        _("API calls"), default=0, help_text=_("Kubernetes API calls the round made, retries included.")
    )
    workspaces = models.PositiveIntegerField(_("workspaces"), default=0, help_text=_("Workspaces compared."))
    repairs = models.JSONField(
        _("repairs"),
        default=list,
        blank=True,
        help_text=_("Objects re-applied: kind, namespace, name, fields that differed, and any error."),
    )
    orphans = models.PositiveIntegerField(_("orphans"), default=0, help_text=_("Objects found that no workspace owns."))
    error_code = models.CharField(_("error code"), max_length=64, blank=True)
    error_message = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("reconcile run")
        verbose_name_plural = _("reconcile runs")
        ordering = ["-started_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.started_at:%Y-%m-%d %H:%M:%S} {self.state}"

    @property
    def duration(self) -> float | None:
        """Seconds the round took, or None while it runs."""
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class OrphanObject(models.Model):
    """A Kubernetes object labelled as managed by Larr1 that no workspace owns.

    Larr1 never deletes these: an admin decides. ``gone_at`` is set once a round no
    longer finds the object.
    """

    kind = models.CharField(_("kind"), max_length=64)
    namespace = models.CharField(_("namespace"), max_length=63, blank=True)
    name = models.CharField(_("name"), max_length=253)
    labels = models.JSONField(_("labels"), default=dict, blank=True)
    reason = models.CharField(
        _("reason"),
        max_length=32,
        help_text=_("unknown-workspace, deleted-workspace or unexpected-object."),
    )
    first_seen_at = models.DateTimeField(_("first seen"), default=timezone.now)
    last_seen_at = models.DateTimeField(_("last seen"), default=timezone.now)
    gone_at = models.DateTimeField(_("gone"), null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = _("orphaned object")
        verbose_name_plural = _("orphaned objects")
        ordering = ["namespace", "kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "namespace", "name"], name="workspaces_orphan_identity"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace or '-'}/{self.name}"


class WorkspaceEvent(models.Model):
    """Something that happened to a workspace: a Kubernetes event or a repair made by reconcile."""

    class Source(models.TextChoices):
        KUBERNETES = "kubernetes", _("Kubernetes")
        RECONCILE = "reconcile", _("Reconcile")

    class Type(models.TextChoices):
        NORMAL = "Normal", _("Normal")
        WARNING = "Warning", _("Warning")

    workspace = models.ForeignKey(
        "workspaces.Workspace", verbose_name=_("workspace"), on_delete=models.CASCADE, related_name="events"
    )
    source = models.CharField(_("source"), max_length=16, choices=Source.choices)
    # The Kubernetes event's uid; empty for reconcile's own events.
    event_uid = models.CharField(_("event uid"), max_length=64, blank=True)
    at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)
    type = models.CharField(_("type"), max_length=16, choices=Type.choices, default=Type.NORMAL)
    reason = models.CharField(
        _("reason"), max_length=128, help_text=_("Short CamelCase reason, e.g. FailedScheduling.")
    )
    object = models.CharField(_("object"), max_length=300, blank=True, help_text=_("Kind/name the event is about."))
    message = models.TextField(_("message"), blank=True)
    count = models.PositiveIntegerField(_("count"), default=1)

    class Meta:
        verbose_name = _("workspace event")
        verbose_name_plural = _("workspace events")
        ordering = ["-at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "event_uid"],
                condition=~models.Q(event_uid=""),
                name="workspaces_event_uid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.reason} {self.object}"


class WorkspaceObservation(models.Model):
    """The last reconcile round's reading of a workspace, kept as a code so pages can translate it.

    ``Workspace.state_reason`` has the same reason as an English sentence for logs and
    lists; pages show ``workspaces.exceptions.reason_text(reason_code, detail)`` in the reader's language.
    """

    workspace = models.OneToOneField(
        "workspaces.Workspace", verbose_name=_("workspace"), on_delete=models.CASCADE, related_name="observation"
    )
    reason_code = models.CharField(
        _("reason code"), max_length=64, blank=True, help_text=_("A code from workspaces.exceptions.MESSAGES.")
    )
    detail = models.TextField(_("detail"), blank=True, help_text=_("The cluster's own words, untranslated."))
    observed_at = models.DateTimeField(_("observed"), default=timezone.now)

    class Meta:
        verbose_name = _("workspace observation")
        verbose_name_plural = _("workspace observations")

    def __str__(self) -> str:
        return f"{self.workspace_id} {self.reason_code}"
