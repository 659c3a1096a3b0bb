"""Passwords for code-server: generated per delivery, stored only as an argon2 hash in the cluster.

The caller holds the workspace's lock (``workspaces.provisioning``), so one worker
at a time sets a password and sends it. A delivery moves pending -> password-set
-> sent with conditional updates; the password itself lives only in the memory of
the worker between setting it and sending it.
"""

from __future__ import annotations

import logging
import secrets
import smtplib
import time

from argon2 import PasswordHasher
from django.conf import settings
from django.db.models import F
from django.utils import timezone

from approvals.models import AuditEvent
from workspaces import emails, names, objects
from workspaces.exceptions import CredentialsError
from workspaces.kube import Kube
from workspaces.models import CredentialDelivery, Workspace

logger = logging.getLogger(__name__)

# No 0/o, 1/l/i: the password is read from an email and typed by hand.
PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
PASSWORD_GROUPS = 4
PASSWORD_GROUP_LENGTH = 5  # 20 characters of a 31-letter alphabet: about 99 bits


def generate_password() -> str:
    groups = (
        "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(PASSWORD_GROUP_LENGTH)) for _ in range(PASSWORD_GROUPS)
    )
    return "-".join(groups)


def hash_password(password: str) -> str:
    """Hash for code-server's HASHED_PASSWORD, which takes an argon2 hash in PHC form."""
    return PasswordHasher().hash(password)


def locked_secret(target: objects.WorkspaceTarget) -> dict:
    """Build the credentials Secret with the hash of a password nobody knows.

    The pod needs the Secret to start; until a delivery sets a real password the
    workspace is reachable by nobody.
    """
    return objects.credentials_secret(target, hash_password(secrets.token_urlsafe(32)))


def set_password(kube: Kube, target: objects.WorkspaceTarget, delivery: CredentialDelivery) -> str:
    """Generate a password, put its hash in the cluster and restart the pod if one runs; return it.

    Called again for a delivery that is already password-set (its worker died before
    sending), this draws a new password: the old one was kept nowhere and nobody got it.
    """
    password = generate_password()
    password_hash = hash_password(password)
    created = kube.create_if_absent(objects.credentials_secret(target, password_hash))
    if not created:
        kube.merge_patch("Secret", names.CREDENTIALS_SECRET, target.namespace, objects.credentials_patch(password_hash))
    # code-server reads HASHED_PASSWORD only at start. The annotation changes on every
    # new hash (the random part), so the pod restarts even for a repeated delivery.
    restart = {
        "spec": {
            "template": {
                "metadata": {"annotations": {names.CREDENTIALS_ANNOTATION: f"{delivery.pk}-{secrets.token_hex(4)}"}}
            }
        }
    }
    if kube.read("Deployment", names.DEPLOYMENT, target.namespace) is not None and _pod_was_scheduled(kube, target):
        kube.merge_patch("Deployment", names.DEPLOYMENT, target.namespace, restart)
    updated = CredentialDelivery.objects.filter(
        pk=delivery.pk, state__in=[CredentialDelivery.State.PENDING, CredentialDelivery.State.PASSWORD_SET]
    ).update(state=CredentialDelivery.State.PASSWORD_SET)
    if updated != 1:
        raise CredentialsError(f"Credentials delivery {delivery.pk} was sent by another worker.", permanent=True)
    logger.info("Set a new password for workspace %s (delivery %s)", target.username, delivery.pk)
    return password


def _pod_was_scheduled(kube: Kube, target: objects.WorkspaceTarget) -> bool:
    """Tell whether a pod of the workspace is on a node, so it may have read the old hash.

    A pod still waiting for a node reads the Secret when it starts. Restarting it
    would only put it back at the end of the scheduler's queue.
    """
    selector = names.label_selector(names.selector(target.username, target.uid))
    return any(
        pod.get("spec", {}).get("nodeName") for pod in kube.list("Pod", target.namespace, label_selector=selector)
    )


def send_password(workspace: Workspace, delivery: CredentialDelivery, password: str) -> None:
    """Email the password, retrying with doubling delays while the SMTP server is down.

    NOTE: if the worker dies after the SMTP server accepted the message but before
    the delivery is marked sent, the next attempt sets a new password and sends a
    second email; the first password then no longer works. SMTP and the database
    cannot commit together, so this window (milliseconds wide) remains.
    """
    build = (
        emails.new_credentials_email
        if delivery.reason == CredentialDelivery.Reason.ROTATION
        else emails.first_credentials_email
    )
    message = build(to=workspace.email, username=workspace.username, url=workspace.url, password=password)
    delay = settings.LARR1_EMAIL_RETRY_DELAY
    for attempt in range(1, settings.LARR1_EMAIL_ATTEMPTS + 1):
        CredentialDelivery.objects.filter(pk=delivery.pk).update(attempts=F("attempts") + 1)
        try:
            message.send(fail_silently=False)
        except (smtplib.SMTPException, OSError) as exc:
            # The exception names the server and the reply, never the message body.
            error = f"{type(exc).__name__}: {exc}"
            CredentialDelivery.objects.filter(pk=delivery.pk).update(last_error=error[:1000])
            logger.warning(
                "Sending credentials failed (workspace %s, delivery %s, attempt %d): %s",
                workspace.username,
                delivery.pk,
                attempt,
                type(exc).__name__,
            )
            if attempt == settings.LARR1_EMAIL_ATTEMPTS:
                raise CredentialsError(f"SMTP failed {attempt} times for delivery {delivery.pk}: {error}") from exc
            time.sleep(delay)
            delay *= 2
            continue
        break
    updated = CredentialDelivery.objects.filter(pk=delivery.pk, state=CredentialDelivery.State.PASSWORD_SET).update(
        state=CredentialDelivery.State.SENT, sent_at=timezone.now(), email=workspace.email, last_error=""
    )
    if updated != 1:
        logger.warning("Credentials delivery %s changed state while its email was sent", delivery.pk)
    else:
        AuditEvent.objects.create(
            action=AuditEvent.Action.CREDENTIALS_SENT,
            actor_id=delivery.requested_by_id,
            username=workspace.username,
            details={"delivery": delivery.pk, "reason": delivery.reason},
        )
    logger.info("Sent credentials for workspace %s (delivery %s)", workspace.username, delivery.pk)
