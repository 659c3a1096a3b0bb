"""Celery tasks of provisioning. Each takes a primary key and returns quietly when the row is gone.

The work itself is in ``workspaces.provisioning``. These wrappers turn its
exceptions into Celery's retry policy. A busy workspace is checked again every
few seconds, and a failure a retry can fix is retried with doubling delays. A
permanent failure stays recorded on its run and is not retried.
"""

from __future__ import annotations

import logging

from celery import shared_task

from workspaces import provisioning
from workspaces.exceptions import ProvisioningError, WorkspaceBusy

logger = logging.getLogger(__name__)

MAX_RETRIES = 12
FIRST_RETRY_SECONDS = 30
MAX_RETRY_SECONDS = 30 * 60


# A busy workspace is checked again every BUSY_RETRY_SECONDS, at most BUSY_MAX_RETRIES
# times: 200 * 10 s outlasts the longest hold (the lease plus the readiness timeout).
BUSY_RETRY_SECONDS = 10
BUSY_MAX_RETRIES = 200


def _retry(task, exc: ProvisioningError):
    if isinstance(exc, WorkspaceBusy):
        countdown = min(exc.retry_in, BUSY_RETRY_SECONDS)
        max_retries = BUSY_MAX_RETRIES
    else:
        countdown = min(FIRST_RETRY_SECONDS * 2**task.request.retries, MAX_RETRY_SECONDS)
        max_retries = MAX_RETRIES
    logger.info("Retrying %s in %.0fs (code %s)", task.name, countdown, exc.code)
    return task.retry(exc=exc, countdown=countdown, max_retries=max_retries)


@shared_task(bind=True, name="workspaces.provision", max_retries=MAX_RETRIES, acks_late=True)
def provision_workspace(self, workspace_id: int) -> None:
    try:
        provisioning.provision(workspace_id)
    except ProvisioningError as exc:
        if exc.permanent:
            return
        raise _retry(self, exc) from exc


@shared_task(bind=True, name="workspaces.send_credentials", max_retries=MAX_RETRIES, acks_late=True)
def send_credentials(self, delivery_id: int) -> None:
    try:
        provisioning.deliver_credentials(delivery_id)
    except ProvisioningError as exc:
        if exc.permanent:
            return
        raise _retry(self, exc) from exc


@shared_task(bind=True, name="workspaces.stop", max_retries=MAX_RETRIES, acks_late=True)
def stop_workspace(self, workspace_id: int) -> None:
    try:
        provisioning.stop(workspace_id)
    except ProvisioningError as exc:
        if exc.permanent:
            return
        raise _retry(self, exc) from exc


@shared_task(name="workspaces.purge_deleted", acks_late=True)
def purge_deleted() -> list[str]:
    # The beat runs this again on schedule, which is its retry.
    return provisioning.purge_expired()
