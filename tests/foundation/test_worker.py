"""A task really crosses Redis to a separate Celery worker process."""

import os
import uuid

from larr1.tasks import ping
from tests.conftest import celery_workers


def test_it_runs_a_task_in_a_worker_process(db):
    # A queue of its own, so no other worker on the same Redis takes the task.
    queue = f"test-{uuid.uuid4().hex[:8]}"
    token = uuid.uuid4().hex

    with celery_workers(queue) as (worker,):
        result = ping.apply_async((token,), queue=queue).get(timeout=60)

    assert result["token"] == token
    assert result["pid"] == worker.pid
    assert result["pid"] != os.getpid()
