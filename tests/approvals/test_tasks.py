"""The sync task: one at a time, bounded retries. The test profile runs tasks eagerly."""

from __future__ import annotations

import pytest
from celery.exceptions import Retry

from approvals.exceptions import RemoteUnreachable
from approvals.locking import sync_lock, take_rerun_request
from approvals.models import Request, SyncRun
from approvals.tasks import MAX_RETRIES, sync
from tests.gitrepos import workspace_yaml


@pytest.fixture(autouse=True)
def no_leftover_rerun_request():
    take_rerun_request()
    yield
    take_rerun_request()


def test_it_syncs_from_the_task(db, mirror_settings, remote):
    remote.open_pr(1, {"user/alice.yaml": workspace_yaml("alice")})

    result = sync.delay(trigger="schedule").get()

    assert result["status"] == "succeeded"
    assert Request.objects.filter(number=1).exists()
    assert SyncRun.objects.get().trigger == "schedule"


def test_it_defers_while_another_sync_runs(db, mirror_settings, remote):
    with sync_lock():
        result = sync.delay(trigger="webhook").get()

    assert result == {"status": "deferred"}
    assert not SyncRun.objects.exists()
    assert take_rerun_request() is True


def test_it_runs_again_when_asked_during_a_sync(db, mirror_settings, remote):
    with sync_lock():
        sync.delay(trigger="webhook").get()

    sync.delay(trigger="schedule").get()

    assert SyncRun.objects.count() == 2


def test_it_retries_a_transient_failure_with_backoff(db, mirror_settings, tmp_path):
    mirror_settings.LARR1_REPO_URL = (tmp_path / "missing.git").as_uri()

    with pytest.raises(Retry) as caught:
        sync.apply(kwargs={"trigger": "schedule"}, retries=2).get()

    assert caught.value.when == 60
    assert SyncRun.objects.get().error_code == "remote-unreachable"


def test_it_gives_up_after_the_last_retry(db, mirror_settings, tmp_path):
    mirror_settings.LARR1_REPO_URL = (tmp_path / "missing.git").as_uri()

    with pytest.raises(RemoteUnreachable):
        sync.apply(kwargs={"trigger": "schedule"}, retries=MAX_RETRIES).get()


def test_it_does_not_retry_a_permanent_failure(db, mirror_settings):
    mirror_settings.LARR1_REPO_URL = None

    result = sync.apply(kwargs={"trigger": "schedule"}).get()

    assert result == {"status": "failed", "code": "not-configured"}
