"""Celery tasks of the approvals app."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import transaction

from approvals.exceptions import ApprovalsError, SyncAlreadyRunning
from approvals.locking import request_rerun, sync_lock, take_rerun_request
from approvals.sync import sync_repository

logger = logging.getLogger(__name__)

# A webhook that arrives during a sync asks for one more round; this caps the rounds
# one task runs, so a stream of webhooks cannot keep a worker busy forever.
MAX_ROUNDS = 3
MAX_RETRIES = 4


@shared_task(name="approvals.sync", bind=True, max_retries=MAX_RETRIES, acks_late=True, ignore_result=True)
def sync(self, trigger: str = "schedule") -> dict:
    """Sync the mirror; retry transient git failures with exponential backoff, at most MAX_RETRIES times."""
    try:
        with sync_lock():
            for _ in range(MAX_ROUNDS):
                report = sync_repository(trigger=trigger)
                if not take_rerun_request():
                    break
    except SyncAlreadyRunning:
        request_rerun()
        logger.info("Sync already running; asked it to run once more (trigger=%s)", trigger)
        return {"status": "deferred"}
    except ApprovalsError as exc:
        if exc.permanent:
            logger.warning("Sync failed permanently: %s", exc)
            return {"status": "failed", "code": exc.code}
        countdown = min(600, 15 * 2**self.request.retries)
        logger.warning("Sync failed, retry %s in %s s: %s", self.request.retries + 1, countdown, exc)
        raise self.retry(exc=exc, countdown=countdown) from None
    return {"status": "succeeded", "main": report.main_sha, "refs_changed": report.refs_changed}


def enqueue_sync(trigger: str) -> None:
    """Queue a sync once the current transaction commits."""
    transaction.on_commit(lambda: sync.apply_async(kwargs={"trigger": trigger}))
