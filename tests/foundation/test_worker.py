"""A task really crosses Redis to a separate Celery worker process."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from larr1.celery import app
from larr1.tasks import ping

BASE_DIR = Path(__file__).resolve().parents[2]


@pytest.fixture
def queue():
    # A queue of its own, so no other worker on the same Redis takes the task.
    return f"test-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def worker(settings, queue):
    environment = {**os.environ, "CELERY_TASK_ALWAYS_EAGER": "false"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "larr1",
            "worker",
            "--pool",
            "solo",
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-Q",
            queue,
            "-n",
            f"test-{uuid.uuid4().hex[:6]}@%h",
        ],
        cwd=BASE_DIR,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    app.conf.task_always_eager = False
    yield process
    app.conf.task_always_eager = True
    process.terminate()
    process.wait(timeout=30)


def test_it_runs_a_task_in_a_worker_process(worker, queue):
    token = uuid.uuid4().hex
    result = ping.apply_async((token,), queue=queue).get(timeout=60)
    assert result["token"] == token
    assert result["pid"] == worker.pid
    assert result["pid"] != os.getpid()
