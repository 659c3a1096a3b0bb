"""The git layer against real repositories on disk and loopback servers."""

from __future__ import annotations

import logging
import time

import psutil
import pytest

from approvals.exceptions import AuthenticationFailed, GitTimeout, MergeConflict, RemoteMoved
from approvals.git import Credentials, Mirror
from tests.approvals.servers import HangingServer, RecordedHTTPServer
from tests.gitrepos import RemoteRepo, Symlink, workspace_yaml

SECRET = "s3cr3t-Token-for-tests-9f2c"


@pytest.fixture
def mirror(tmp_path, remote):
    with Mirror(tmp_path / "mirror.git", remote.url, timeout=20) as mirror:
        yield mirror


def _git_children() -> list[psutil.Process]:
    return [child for child in psutil.Process().children(recursive=True) if child.name() == "git"]


def test_it_fetches_main_and_pull_request_heads(remote, mirror):
    first = remote.open_pr(1, {"user/alice.yaml": workspace_yaml("alice")})
    second = remote.open_pr(2, {"user/bob.yaml": workspace_yaml("bob")})

    mirror.fetch()

    assert mirror.main_sha() == remote.main
    assert mirror.list_heads() == {1: first, 2: second}


def test_it_follows_force_pushes(remote, mirror):
    remote.open_pr(1, {"user/alice.yaml": workspace_yaml("alice")})
    mirror.fetch()
    rewritten = remote.force_push_pr(1, {"user/alice.yaml": workspace_yaml("alice", profile="large")})

    mirror.fetch()

    assert mirror.list_heads() == {1: rewritten}


def test_it_prunes_deleted_pull_request_refs(remote, mirror):
    remote.open_pr(1, {"user/alice.yaml": workspace_yaml("alice")})
    mirror.fetch()
    remote.delete_pr_ref(1)

    mirror.fetch()

    assert mirror.list_heads() == {}


def test_it_uses_merge_request_refs_for_gitlab(tmp_path):
    remote = RemoteRepo(tmp_path / "remote.git", pull_prefix="refs/merge-requests/")
    remote.commit_to_main({"README.md": "# Users\n"})
    head = remote.open_pr(7, {"user/alice.yaml": workspace_yaml("alice")})

    with Mirror(tmp_path / "mirror.git", remote.url, forge="gitlab") as mirror:
        mirror.fetch()

        assert mirror.list_heads() == {7: head}


def test_it_lists_heads_merged_into_main(remote, mirror):
    remote.open_pr(1, {"user/alice.yaml": workspace_yaml("alice")})
    remote.open_pr(2, {"user/bob.yaml": workspace_yaml("bob")})
    remote.merge_pr(1)

    mirror.fetch()

    assert mirror.heads_merged_into_main() == {1}


def test_it_times_out_on_a_remote_that_hangs(tmp_path):
    with HangingServer() as server:
        mirror = Mirror(tmp_path / "mirror.git", f"git://127.0.0.1:{server.port}/users.git", timeout=2)
        started = time.monotonic()

        with mirror, pytest.raises(GitTimeout) as caught:
            mirror.fetch()

    assert time.monotonic() - started < 15
    assert "timed out after 2 seconds" in str(caught.value)
    assert caught.value.permanent is False


def test_it_leaves_no_git_process_after_a_timeout(tmp_path):
    with HangingServer() as server:
        mirror = Mirror(tmp_path / "mirror.git", f"http://127.0.0.1:{server.port}/users.git", timeout=1)
        with mirror, pytest.raises(GitTimeout):
            mirror.fetch()

    assert _git_children() == []


def test_it_sends_credentials_in_header(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    routes = {"GET /users.git/info/refs?service=git-upload-pack": (401, {"WWW-Authenticate": 'Basic realm="x"'}, "")}
    with RecordedHTTPServer(routes) as server:
        mirror = Mirror(
            tmp_path / "mirror.git",
            f"{server.url}/users.git",
            timeout=10,
            credentials=Credentials("larr1-bot", SECRET),
        )
        with mirror, pytest.raises(AuthenticationFailed) as caught:
            mirror.fetch()

    assert server.requests, "git never reached the server"
    assert server.requests[0]["headers"].get("Authorization", "").startswith("Basic ")
    assert "@" not in server.requests[0]["path"]
    assert SECRET not in str(caught.value)
    assert SECRET not in caught.value.detail
    assert SECRET not in caplog.text
    assert SECRET not in (tmp_path / "mirror.git" / "config").read_text()


def test_it_rejects_a_url_with_credentials(tmp_path):
    with pytest.raises(ValueError) as caught:
        Mirror(tmp_path / "mirror.git", f"https://bot:{SECRET}@git.example.com/users.git")

    assert SECRET not in str(caught.value)


def test_it_reads_every_tree_entry_from_objects(remote, mirror):
    huge = b"x" * (3 * 2**20)
    head = remote.open_pr(
        1,
        {
            "user/alice.yaml": workspace_yaml("alice"),
            "user/link.yaml": Symlink("../../etc/passwd"),
            "user/binary.yaml": b"\x00\xff\xfe binary",
            "user/huge.yaml": huge,
        },
    )
    mirror.fetch()

    entries = mirror.tree_entries(head)

    assert set(entries) == {
        "README.md",
        "user/.gitkeep",
        "user/carol.yaml",
        "user/alice.yaml",
        "user/link.yaml",
        "user/binary.yaml",
        "user/huge.yaml",
    }
    assert entries["user/alice.yaml"].data == workspace_yaml("alice").encode()
    assert entries["user/link.yaml"].mode == 0o120000
    assert entries["user/link.yaml"].data == b"../../etc/passwd"
    assert entries["user/binary.yaml"].data == b"\x00\xff\xfe binary"
    assert entries["user/huge.yaml"].size == len(huge)
    assert entries["user/huge.yaml"].data is None


def test_it_merges_and_pushes_to_main(remote, mirror):
    head = remote.open_pr(1, {"user/alice.yaml": workspace_yaml("alice")})
    mirror.fetch()
    old_main = mirror.main_sha()

    merged = mirror.merge(head, old_main, "Merge pull request #1", ("Admin", "admin@example.com"))
    mirror.push_main(merged, old_main)

    assert remote.main == merged
    assert remote.show(merged, "user/alice.yaml") == workspace_yaml("alice").strip()
    assert mirror.is_ancestor(head, remote.main)


def test_it_reports_a_merge_conflict(remote, mirror):
    head = remote.open_pr(1, {"user/alice.yaml": workspace_yaml("alice")})
    remote.commit_to_main({"user/alice.yaml": workspace_yaml("alice", profile="small")})
    mirror.fetch()

    with pytest.raises(MergeConflict):
        mirror.merge(head, mirror.main_sha(), "Merge", ("Admin", "admin@example.com"))


def test_it_refuses_to_push_when_the_remote_moved(remote, mirror):
    head = remote.open_pr(1, {"user/alice.yaml": workspace_yaml("alice")})
    mirror.fetch()
    old_main = mirror.main_sha()
    merged = mirror.merge(head, old_main, "Merge", ("Admin", "admin@example.com"))
    moved = remote.commit_to_main({"README.md": "# Users, edited on the forge\n"})

    with pytest.raises(RemoteMoved):
        mirror.push_main(merged, old_main)

    assert remote.main == moved


def test_it_keeps_child_processes_bounded_over_many_reads(tmp_path, remote):
    head = remote.open_pr(1, {"user/alice.yaml": workspace_yaml("alice")})
    before = len(_git_children())

    for _ in range(200):
        with Mirror(tmp_path / "mirror.git", remote.url) as mirror:
            mirror.fetch()
            mirror.tree_entries(head)
            mirror.commit_info(head)

    assert len(_git_children()) == before
