"""The reconcile task runs one round at a time across workers."""

from __future__ import annotations

import redis
from django.conf import settings

from workspaces.models_reconcile import ReconcileRun
from workspaces.reconcile_tasks import LOCK_NAME, reconcile


def test_it_skips_a_round_while_another_runs(db):
    client = redis.Redis.from_url(settings.REDIS_URL)
    lock = client.lock(LOCK_NAME, timeout=30)
    assert lock.acquire(blocking=False)
    try:
        result = reconcile.delay().get()
    finally:
        lock.release()
        client.close()

    assert result == {"status": "skipped"}
    assert not ReconcileRun.objects.exists()


def test_it_is_scheduled_by_celery_beat():
    entry = settings.CELERY_BEAT_SCHEDULE["reconcile-workspaces"]

    assert entry == {"task": "workspaces.reconcile", "schedule": settings.LARR1_RECONCILE_INTERVAL}
