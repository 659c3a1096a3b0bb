"""Syncing a plain git remote on disk into requests and approved files."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from approvals.models import ApprovedFile, AuditEvent, Request, SyncRun
from approvals.signals import approved_state_changed
from approvals.sync import sync_repository
from tests.gitrepos import Symlink, workspace_yaml

pytestmark = pytest.mark.usefixtures("mirror_settings")


def _codes(request: Request) -> set[str]:
    return {finding["code"] for finding in request.findings}


def test_it_creates_a_request_per_pull_request(db, remote):
    head = remote.open_pr(1, {"user/alice.yaml": workspace_yaml("alice")}, message="Add alice", author="Alice")

    report = sync_repository()

    request = Request.objects.get(number=1)
    assert report.created == [1]
    assert request.head_sha == head
    assert request.change_kind == "create"
    assert request.username == "alice"
    assert request.path == "user/alice.yaml"
    assert request.file_before == ""
    assert request.file_after == workspace_yaml("alice")
    assert request.title == "Add alice"
    assert request.author == "Alice"
    assert request.has_errors is False
    assert request.state == Request.State.OPEN
    assert request.merge_base_sha == remote.main


def test_it_reevaluates_only_moved_heads(db, remote):
    remote.open_pr(1, {"user/alice.yaml": workspace_yaml("alice")})
    remote.open_pr(2, {"user/bob.yaml": workspace_yaml("bob")})
    sync_repository()
    evaluated_at = dict(Request.objects.values_list("number", "last_evaluated_at"))
    remote.add_to_pr(2, {"user/bob.yaml": workspace_yaml("bob", profile="large")})

    report = sync_repository()

    assert report.created == []
    assert report.updated == [2]
    assert Request.objects.get(number=1).last_evaluated_at == evaluated_at[1]
    assert Request.objects.get(number=2).last_evaluated_at > evaluated_at[2]


def test_it_records_push_in_head_history(db, remote):
    first = remote.open_pr(1, {"user/alice.yaml": workspace_yaml("alice")})
    sync_repository()
    second = remote.add_to_pr(1, {"user/alice.yaml": workspace_yaml("alice", cuda="cuda12.8")})

    sync_repository()

    heads = list(Request.objects.get(number=1).heads.values_list("sha", "forced"))
    assert heads == [(first, False), (second, False)]


def test_it_detects_a_force_push(db, remote):
    remote.open_pr(1, {"user/alice.yaml": workspace_yaml("alice", cuda="cuda12.9")})
    sync_repository()
    rewritten = remote.force_push_pr(1, {"user/alice.yaml": workspace_yaml("alice")})

    report = sync_repository()

    request = Request.objects.get(number=1)
    assert report.force_pushed == [1]
    assert request.head_sha == rewritten
    assert request.heads.last().forced is True
    assert request.has_errors is False


def test_it_revalidates_after_a_new_push(db, remote):
    remote.open_pr(1, {"user/alice.yaml": workspace_yaml("alice", cuda="cuda12.9")})
    sync_repository()
    assert "cuda.unknown" in _codes(Request.objects.get(number=1))
    remote.add_to_pr(1, {"user/alice.yaml": workspace_yaml("alice")})

    sync_repository()

    request = Request.objects.get(number=1)
    assert "cuda.unknown" not in _codes(request)
    assert request.has_errors is False


@pytest.mark.parametrize("merge", ["merge_pr", "squash_pr", "rebase_pr"])
def test_it_marks_a_request_merged_on_main(db, remote, merge):
    remote.open_pr(1, {"user/alice.yaml": workspace_yaml("alice")})
    sync_repository()
    getattr(remote, merge)(1)

    report = sync_repository()

    request = Request.objects.get(number=1)
    assert report.merged == [1]
    assert request.state == Request.State.MERGED
    assert request.merged_commit


def test_it_marks_a_squashed_deletion_merged(db, remote):
    remote.open_pr(1, {"user/carol.yaml": None})
    sync_repository()
    remote.squash_pr(1)

    sync_repository()

    assert Request.objects.get(number=1).state == Request.State.MERGED


def test_it_keeps_duplicate_request_open(db, remote):
    # A duplicate of a file that is already on main is not a merge of the duplicate.
    remote.open_pr(1, {"user/dave.yaml": workspace_yaml("dave")})
    sync_repository()
    remote.squash_pr(1)
    remote.open_pr(2, {"user/dave.yaml": workspace_yaml("dave")}, base=remote.rev("HEAD~1"))

    sync_repository()

    assert Request.objects.get(number=2).state == Request.State.OPEN


def test_it_reads_a_rename(db, remote):
    remote.open_pr(
        1, {"user/carol.yaml": None, "user/caroline.yaml": workspace_yaml("caroline", email="carol@example.com")}
    )

    sync_repository()

    request = Request.objects.get(number=1)
    assert request.change_kind == "rename"
    assert request.old_username == "carol"
    assert request.username == "caroline"
    assert request.file_before == workspace_yaml("carol")
    assert "risk.rename" in request.risks


def test_it_reads_a_deletion(db, remote):
    remote.open_pr(1, {"user/carol.yaml": None})

    sync_repository()

    request = Request.objects.get(number=1)
    assert request.change_kind == "delete"
    assert request.old_username == "carol"
    assert request.file_before == workspace_yaml("carol")
    assert request.file_after == ""
    assert "risk.delete" in request.risks


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (Symlink("../../../etc/passwd"), "file.symlink"),
        (b"user:\n  username: alice\x00\xff\n", "file.binary"),
        (b"# " + b"x" * (3 * 2**20) + b"\n", "file.too-large"),
    ],
    ids=["symlink", "binary", "huge"],
)
def test_it_rejects_unreadable_files(db, remote, content, code):
    remote.open_pr(1, {"user/alice.yaml": content})

    sync_repository()

    request = Request.objects.get(number=1)
    assert code in _codes(request)
    assert request.has_errors is True


def test_it_flags_a_stale_request_against_current_main(db, remote):
    base = remote.main
    remote.commit_to_main({"user/carol.yaml": workspace_yaml("carol", storage="200Gi")})
    remote.open_pr(1, {"user/carol.yaml": workspace_yaml("carol", storage="150Gi")}, base=base)

    sync_repository()

    assert "storage.shrink" in _codes(Request.objects.get(number=1))


def test_it_stores_the_approved_state_from_main(db, remote):
    remote.commit_to_main({"user/Erin.yaml": workspace_yaml("Erin")})

    sync_repository()

    carol = ApprovedFile.objects.get(path="user/carol.yaml")
    erin = ApprovedFile.objects.get(path="user/Erin.yaml")
    assert carol.valid is True
    assert carol.spec["username"] == "carol"
    assert carol.commit_sha == remote.main or carol.commit_sha == remote.rev("HEAD~1")
    assert erin.valid is False
    assert erin.spec is None
    assert erin.findings
    assert not ApprovedFile.objects.filter(path="user/.gitkeep").exists()


def test_it_marks_a_file_removed_from_main(db, remote):
    sync_repository()
    remote.commit_to_main({"user/carol.yaml": None})

    report = sync_repository()

    assert report.approved_removed == ["user/carol.yaml"]
    assert ApprovedFile.objects.get(path="user/carol.yaml").removed_at is not None


def test_it_signals_changed_usernames(db, remote, django_capture_on_commit_callbacks):
    sync_repository()
    received = []

    def receiver(sender, usernames, **kwargs):
        received.append(usernames)

    approved_state_changed.connect(receiver)
    try:
        remote.commit_to_main({"user/dave.yaml": workspace_yaml("dave"), "README.md": "# Users of the cluster\n"})
        with django_capture_on_commit_callbacks(execute=True):
            sync_repository()
    finally:
        approved_state_changed.disconnect(receiver)

    assert received == [{"dave"}]


def test_it_records_a_file_merged_outside_larr1(db, remote):
    remote.open_pr(1, {"user/alice.yaml": workspace_yaml("alice")})
    sync_repository()
    remote.merge_pr(1)

    report = sync_repository()

    event = AuditEvent.objects.get(action=AuditEvent.Action.MERGED_OUTSIDE)
    assert report.merged_outside == ["user/alice.yaml"]
    assert event.username == "alice"
    assert event.request.number == 1
    assert event.commit == remote.main
    assert event.actor is None


def test_it_imports_main_without_audit_events(db, remote):
    sync_repository()

    assert not AuditEvent.objects.exists()


def test_it_supersedes_older_requests_for_the_same_file(db, remote):
    remote.open_pr(1, {"user/alice.yaml": workspace_yaml("alice", cuda="cuda12.9")})
    sync_repository()
    remote.open_pr(2, {"user/alice.yaml": workspace_yaml("alice")})

    sync_repository()

    older, newer = Request.objects.get(number=1), Request.objects.get(number=2)
    assert older.superseded_by == newer
    assert newer.superseded_by is None


def test_it_closes_a_request_whose_ref_disappeared(db, remote):
    remote.open_pr(1, {"user/alice.yaml": workspace_yaml("alice")})
    sync_repository()
    remote.delete_pr_ref(1)

    report = sync_repository()

    assert report.closed == [1]
    assert Request.objects.get(number=1).state == Request.State.CLOSED


def test_it_records_each_run(db, remote):
    sync_repository(trigger="command")

    run = SyncRun.objects.get()
    assert run.status == SyncRun.Status.SUCCEEDED
    assert run.main_sha == remote.main
    assert run.trigger == "command"
    assert run.finished_at is not None


def test_it_records_a_failed_run(db, mirror_settings, tmp_path):
    mirror_settings.LARR1_REPO_URL = (tmp_path / "missing.git").as_uri()

    with pytest.raises(Exception) as caught:
        sync_repository()

    run = SyncRun.objects.get()
    assert run.status == SyncRun.Status.FAILED
    assert run.error_code == caught.value.code


def test_it_prints_what_changed_from_the_command(db, remote, capsys):
    remote.open_pr(4, {"user/alice.yaml": workspace_yaml("alice")})

    call_command("sync_repository")

    output = capsys.readouterr().out
    assert "New requests: #4" in output
    assert "Approved files added: user/carol.yaml" in output
