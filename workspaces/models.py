"""Workspaces, the provisioning runs that build them, and the credentials sent for them.

No password is ever stored here: the cluster keeps only its argon2 hash, in the
workspace's Secret.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from workspaces import names


class Workspace(models.Model):
    """One personal GPU workspace: what was approved and what Kubernetes runs.

    A workspace deleted and later requested again under the same username is a new
    row with a new uid, so it gets a new namespace and an empty volume. The old row
    stays until its grace period is over and its namespace is gone.
    """

    class DesiredState(models.TextChoices):
        ACTIVE = "active", _("Active")
        DELETING = "deleting", _("Deleting")
        DELETED = "deleted", _("Deleted")

    class ObservedState(models.TextChoices):
        PENDING = "pending", _("Pending")
        PROVISIONING = "provisioning", _("Provisioning")
        RUNNING = "running", _("Running")
        UNSCHEDULABLE = "unschedulable", _("Unschedulable")
        IMAGE_PULL_FAILURE = "image-pull-failure", _("Image pull failure")
        CRASH_LOOP = "crash-loop", _("Crash loop")
        STOPPED = "stopped", _("Stopped")
        DELETING = "deleting", _("Deleting")
        DELETED = "deleted", _("Deleted")
        FAILED = "failed", _("Failed")

    username = models.CharField(_("username"), max_length=63, db_index=True)
    uid = models.CharField(
        _("uid"),
        max_length=names.UID_LENGTH,
        unique=True,
        default=names.new_uid,
        help_text=_("Short random id in the Kubernetes names; new for a re-created workspace."),
    )
    spec = models.JSONField(_("approved specification"), help_text=_("The approved workspace file, as parsed."))
    desired_state = models.CharField(
        _("desired state"), max_length=16, choices=DesiredState.choices, default=DesiredState.ACTIVE, db_index=True
    )
    observed_state = models.CharField(
        _("observed state"), max_length=32, choices=ObservedState.choices, default=ObservedState.PENDING
    )
    state_reason = models.TextField(_("reason"), blank=True, help_text=_("Why the workspace is in its state."))
    observed_at = models.DateTimeField(_("observed"), null=True, blank=True)
    namespace = models.CharField(_("namespace"), max_length=63, blank=True)
    url = models.URLField(_("URL"), blank=True)
    applied_spec = models.JSONField(
        _("applied specification"),
        null=True,
        blank=True,
        help_text=_("The specification of the last provisioning run that finished."),
    )
    delete_after = models.DateTimeField(
        _("delete after"),
        null=True,
        blank=True,
        help_text=_("When the grace period of a removed workspace ends and its volume may be deleted."),
    )
    # A worker holds the workspace while it works on it, so two runs never interleave.
    lock_token = models.CharField(_("lock token"), max_length=32, blank=True)
    locked_until = models.DateTimeField(_("locked until"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("workspace")
        verbose_name_plural = _("workspaces")
        ordering = ["username", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["username"],
                condition=Q(desired_state="active"),
                name="workspaces_one_active_per_username",
            )
        ]

    def __str__(self) -> str:
        return f"{self.username} ({self.uid})"

    def save(self, *args, **kwargs):
        if not self.namespace:
            self.namespace = names.namespace_name(self.username, self.uid)
        super().save(*args, **kwargs)

    def kept_until_text(self) -> str:
        """Return when a removed workspace's data is deleted, as UTC text that reads the same in every language."""
        if self.delete_after is None:
            return ""
        return self.delete_after.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")

    @property
    def serves_its_address(self) -> bool:
        """Tell whether the workspace's address leads somewhere: it has one and was not removed."""
        return bool(self.url) and self.desired_state == self.DesiredState.ACTIVE

    @property
    def email(self) -> str:
        return (self.spec or {}).get("email", "")


class ProvisioningRun(models.Model):
    """One run of a provisioning task over a workspace, shown on the dashboard with its steps."""

    class Kind(models.TextChoices):
        CREATE = "create", _("Create")
        UPDATE = "update", _("Update")
        DELETE = "delete", _("Delete")
        ROTATE = "rotate", _("Rotate credentials")

    class State(models.TextChoices):
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        ABANDONED = "abandoned", _("Abandoned")

    workspace = models.ForeignKey(Workspace, verbose_name=_("workspace"), on_delete=models.CASCADE, related_name="runs")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.RUNNING)
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    error_code = models.CharField(_("error code"), max_length=64, blank=True)
    error_message = models.TextField(_("error"), blank=True, help_text=_("What went wrong, for the admin."))

    class Meta:
        verbose_name = _("provisioning run")
        verbose_name_plural = _("provisioning runs")
        ordering = ["-started_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.workspace.username} {self.started_at:%Y-%m-%d %H:%M}"


class ProvisioningStep(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    run = models.ForeignKey(ProvisioningRun, verbose_name=_("run"), on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField(_("position"))
    name = models.CharField(_("name"), max_length=64, help_text=_("Stable step name, such as apply-deployment."))
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.PENDING)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    message = models.TextField(_("message"), blank=True, help_text=_("The note in English, for logs and lists."))
    code = models.CharField(
        _("code"),
        max_length=64,
        blank=True,
        help_text=_("A code from workspaces.exceptions.MESSAGES, if the note has one."),
    )
    detail = models.TextField(_("detail"), blank=True, help_text=_("The cluster's own words, untranslated."))

    class Meta:
        verbose_name = _("provisioning step")
        verbose_name_plural = _("provisioning steps")
        ordering = ["run", "position"]
        constraints = [models.UniqueConstraint(fields=["run", "position"], name="workspaces_step_position")]

    def __str__(self) -> str:
        return self.name


class CredentialDelivery(models.Model):
    """One password sent to the workspace's owner: generated, set in the cluster, emailed once.

    The password exists only in the memory of the worker that sets it and sends it.
    """

    class Reason(models.TextChoices):
        FIRST = "first", _("First credentials")
        ROTATION = "rotation", _("New credentials")

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        PASSWORD_SET = "password-set", _("Password set")
        SENT = "sent", _("Sent")

    workspace = models.ForeignKey(
        Workspace, verbose_name=_("workspace"), on_delete=models.CASCADE, related_name="credential_deliveries"
    )
    reason = models.CharField(_("reason"), max_length=16, choices=Reason.choices)
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.PENDING, db_index=True)
    email = models.EmailField(_("sent to"), blank=True, help_text=_("The address the email went to."))
    attempts = models.PositiveIntegerField(_("attempts"), default=0, help_text=_("Attempts to hand the email to SMTP."))
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("The person who asked for new credentials; empty when Larr1 sent them on its own."),
    )

    class Meta:
        verbose_name = _("credentials delivery")
        verbose_name_plural = _("credentials deliveries")
        ordering = ["-created_at", "-pk"]
        constraints = [
            # However often provisioning runs, a workspace gets one first delivery.
            models.UniqueConstraint(
                fields=["workspace"], condition=Q(reason="first"), name="workspaces_one_first_delivery"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_reason_display()} {self.workspace.username} ({self.get_state_display()})"


# The reconcile models live in their own module; importing them here registers them
# with the workspaces app.
from workspaces.models_reconcile import (  # noqa: E402, F401
    OrphanObject,
    ReconcileRun,
    WorkspaceEvent,
    WorkspaceObservation,
)
