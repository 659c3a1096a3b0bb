"""The periodic reconcile task, one round at a time across all workers.

Celery beat starts it every LARR1_RECONCILE_INTERVAL seconds. Two rounds at once
would re-apply the same objects twice and race on the orphan records, so a round
holds a Redis lock. A task that finds the lock taken returns at once, because the
round in progress does the same work. The lock expires after
LARR1_RECONCILE_LOCK_SECONDS, so a worker that dies mid-round blocks the next
rounds for at most that long. Redis-py's lock releases only its own token:
https://redis.readthedocs.io/en/stable/lock.html
"""

from __future__ import annotations

import logging

import redis
from celery import shared_task
from django.conf import settings
from redis.exceptions import LockError

from workspaces.reconcile import run_round

logger = logging.getLogger(__name__)

LOCK_NAME = "larr1:workspaces:reconcile-lock"


@shared_task(name="workspaces.reconcile", acks_late=True, ignore_result=True)
def reconcile() -> dict:
    """Run one reconcile round unless another worker is running one; the beat's next run is the retry."""
    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=10)
    lock = client.lock(LOCK_NAME, timeout=settings.LARR1_RECONCILE_LOCK_SECONDS, thread_local=False)
    try:
        if not lock.acquire(blocking=False):
            logger.info("Reconcile round already running; skipping this one")
            return {"status": "skipped"}
        try:
            run = run_round()
        finally:
            try:
                lock.release()
            except LockError:
                logger.warning(
                    "The reconcile lock expired before the round finished; raise LARR1_RECONCILE_LOCK_SECONDS"
                )
    finally:
        client.close()
    return {"status": run.state, "run": run.pk, "api_calls": run.api_calls, "repairs": len(run.repairs)}
