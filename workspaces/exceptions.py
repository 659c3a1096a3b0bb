"""Errors of provisioning, each with a stable code, and the one registry of their translated text.

``permanent`` tells whether running the same work again can help: a timeout or an
API server restart is worth a retry, an object the API server rejects is not.
Messages on exceptions are for logs and never contain a password or a token;
people see ``describe(code)`` instead.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext


class ProvisioningError(Exception):
    """A provisioning step failed; ``code`` is stable and maps to translated text."""

    code = "provisioning.failed"
    permanent = False

    def __init__(self, message: str, *, code: str | None = None, permanent: bool | None = None):
        super().__init__(message)
        if code is not None:
            self.code = code
        if permanent is not None:
            self.permanent = permanent


class KubeError(ProvisioningError):
    """A Kubernetes API call failed after the retries it was allowed."""

    code = "kube.error"

    def __init__(self, message: str, *, status: int | None = None, reason: str = "", **kwargs):
        super().__init__(message, **kwargs)
        self.status = status
        self.reason = reason


class KubeUnavailable(KubeError):
    """The API server did not respond in time or refused the connection."""

    code = "kube.unavailable"


class NamespaceTerminating(KubeError):
    """The namespace is being deleted; objects cannot be created in it until it is gone."""

    code = "kube.namespace-terminating"


class WorkspaceNotReady(ProvisioningError):
    """The workspace did not become ready. The code gives the reason, read from its pods."""

    code = "workspace.not-ready"


class WorkspaceBusy(ProvisioningError):
    """Another worker has locked the workspace. ``retry_in`` is the number of seconds until its lease ends."""

    code = "workspace.busy"

    def __init__(self, message: str, *, retry_in: float):
        super().__init__(message)
        self.retry_in = retry_in


class CredentialsError(ProvisioningError):
    """The credentials email could not be sent."""

    code = "credentials.email-failed"


# Dashboard text for each code, in the reader's language.
MESSAGES = {
    "provisioning.failed": _("Provisioning failed."),
    "kube.error": _("The Kubernetes API server returned an error."),
    "kube.unavailable": _("The Kubernetes API server did not answer; Larr1 will try again."),
    "kube.unauthorized": _("Larr1's Kubernetes credentials were rejected. An admin must check the kubeconfig."),
    "kube.forbidden": _("Larr1 is not allowed to do this in Kubernetes. An admin must check its permissions."),
    "kube.invalid": _("The Kubernetes API server rejected an object as invalid."),
    "kube.not-found": _("A Kubernetes object was not found."),
    "kube.already-exists": _("A Kubernetes object of that name already exists."),
    "kube.conflict": _("A Kubernetes object was changed at the same time; Larr1 will try again."),
    "kube.namespace-terminating": _("The workspace's namespace is still being deleted; Larr1 will try again."),
    "kube.quota-exceeded": _("The workspace's resource quota does not allow this."),
    "workspace.busy": _("Another worker is working on this workspace; Larr1 will try again."),
    "workspace.lock-lost": _("The worker took too long and another worker took over the workspace."),
    "workspace.not-ready": _("The workspace did not become ready in time."),
    "workspace.unschedulable": _("Not enough free GPU, CPU or memory on the cluster to start the workspace."),
    "workspace.unschedulable-gpu": _("Not enough free GPU on the cluster to start the workspace."),
    "workspace.image-pull-failure": _("The workspace's container image could not be pulled."),
    "workspace.crash-loop": _("The workspace keeps crashing after it starts."),
    "workspace.quota-exceeded": _("The workspace's resource quota does not allow its pod."),
    "workspace.stopped": _("The workspace is stopped."),
    "workspace.invalid-spec": _("The approved workspace file has no valid specification."),
    "credentials.email-failed": _("The credentials email could not be sent; Larr1 will try again."),
    # Reasons the reconciler records for a workspace's observed state.
    "workspace.starting": _("The workspace is starting."),
    "workspace.recreating": _("Parts of the workspace were missing; Larr1 is re-creating them."),
    "workspace.namespace-deleting": _(
        "The workspace's namespace is being deleted outside Larr1; Larr1 re-creates it once it is gone."
    ),
    "workspace.scaled-down": _("The workspace was stopped outside Larr1; Larr1 starts it again."),
    "workspace.removed": _("The workspace was removed; its data is kept until the grace period ends."),
    "workspace.deleting": _("The workspace is being deleted."),
    "workspace.kept-until": _(
        "Removed from the user repository. The workspace is stopped; its volume is kept until %(detail)s."
    ),
    # Notes on provisioning steps.
    "step.worker-stopped": _("The worker running this step stopped."),
    "step.credentials-already-sent": _("Credentials were already sent."),
    "step.no-deployment": _("The workspace has no Deployment to stop."),
}


def reason_text(code: str, detail: str = "") -> str:
    """Return a reason code's sentence in the active language, with the detail (the cluster's own words).

    A sentence with a ``%(detail)s`` placeholder gets the detail in its place.
    Other sentences are followed by the detail in brackets.
    """
    text = str(MESSAGES.get(code, code)) if code else ""
    if "%(detail)s" in text:
        return text % {"detail": detail}
    if detail:
        text = (
            pgettext("sentence followed by the cluster's words", "%(text)s (%(detail)s)")
            % {"text": text, "detail": detail}
            if text
            else detail
        )
    return text


def describe(code: str) -> str:
    """Return the translated text for an error code, or the generic text for an unknown one."""
    return str(MESSAGES.get(code, MESSAGES["provisioning.failed"]))
