"""The lock that lets one sync or approval at a time use the mirror.

A Redis lock with a timeout, so a worker that dies while holding it blocks the
next sync for at most LARR1_SYNC_LOCK_TIMEOUT seconds. Redis-py's lock stores a
random token and releases only its own lock
(https://redis.readthedocs.io/en/stable/lock.html).
"""

from __future__ import annotations

import logging
from contextlib import contextmanager

import redis
from django.conf import settings
from redis.exceptions import LockError

from approvals.exceptions import SyncAlreadyRunning

logger = logging.getLogger(__name__)

LOCK_NAME = "larr1:approvals:sync-lock"
RERUN_KEY = "larr1:approvals:sync-rerun"


def _client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=10)


@contextmanager
def sync_lock(*, blocking_timeout: float = 0):
    """Hold the sync lock; raise SyncAlreadyRunning if it is not free within ``blocking_timeout`` seconds."""
    client = _client()
    lock = client.lock(LOCK_NAME, timeout=settings.LARR1_SYNC_LOCK_TIMEOUT, thread_local=False)
    acquired = lock.acquire(blocking=blocking_timeout > 0, blocking_timeout=blocking_timeout or None)
    if not acquired:
        client.close()
        raise SyncAlreadyRunning()
    try:
        yield
    finally:
        try:
            lock.release()
        except LockError:
            logger.warning("The sync lock expired before the sync finished; raise LARR1_SYNC_LOCK_TIMEOUT")
        client.close()


def request_rerun() -> None:
    """Ask the sync that holds the lock to run once more when it finishes (something changed meanwhile)."""
    client = _client()
    try:
        client.set(RERUN_KEY, "1", ex=settings.LARR1_SYNC_LOCK_TIMEOUT)
    finally:
        client.close()


def take_rerun_request() -> bool:
    client = _client()
    try:
        return client.getdel(RERUN_KEY) is not None
    finally:
        client.close()
