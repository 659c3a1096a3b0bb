"""Replay the real user repository pull request by pull request.

The bundle contains the real cluster's user repository with personal details
replaced. For each pull request, in the order it was opened, the remote's main
is set to the main of that moment (the newest first-parent commit of main
committed before the pull request's head), the pull request's ref is pushed,
and Larr1 syncs. The table below is what an admin should see for each one.
The repository is read from the shared fixtures folder and never copied into
the project.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from django.conf import settings

from approvals.models import Request
from approvals.sync import sync_repository
from tests.gitrepos import RemoteRepo

BUNDLE = Path(settings.BASE_DIR).parent / "shared" / "fixtures" / "user-repo.bundle"

# number: (change kind, username, finding codes)
EXPECTED = {
    1: ("create", "jules", {"username.uppercase", "cuda.unknown"}),
    2: ("create", "rook", {"file.extension", "username.uppercase", "cuda.unknown"}),
    # rook.yml → rook.yaml with the same username is an update of the same workspace.
    3: ("update", "rook", {"username.uppercase", "cuda.unknown"}),
    4: ("create", "ami", {"username.uppercase", "cuda.unknown"}),
    5: ("create", "tam", {"cuda.unknown"}),
    # Main had deleted the files of 7, 9, 10, 11, 12 and 13 earlier, so they bring back a removed workspace.
    # 7 and 10 share one head commit: the pull request was closed and opened again.
    7: ("create", "ami", {"username.uppercase", "risk.readded"}),
    8: ("update", "jules", {"username.uppercase"}),
    9: ("create", "rook", {"risk.readded"}),
    10: ("create", "ami", {"username.uppercase", "risk.readded"}),
    11: ("create", "jules", {"risk.readded"}),
    12: ("create", "rook", {"risk.readded"}),
    13: ("create", "tam", {"email.tld", "risk.readded"}),
    14: ("update", "cobalt", {"username.mismatch", "risk.rename"}),
    15: ("create", "jules", set()),
    16: ("create", "jules", set()),
    17: ("delete", "jules", {"risk.delete"}),
}

# After main reaches its final commit, with plain git (no forge API): merged when the
# head is on main or a commit on main brought the file to the request's content.
FINAL_STATES = {
    1: "merged",
    2: "merged",
    3: "merged",
    4: "merged",
    5: "merged",
    7: "merged",
    8: "open",
    9: "merged",
    10: "merged",
    11: "merged",
    12: "merged",
    13: "merged",
    14: "merged",
    15: "merged",
    16: "merged",
    17: "merged",
}


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, check=True, text=True).stdout.strip()


@pytest.fixture
def source(tmp_path) -> Path:
    path = tmp_path / "source.git"
    subprocess.run(["git", "clone", "--quiet", "--mirror", str(BUNDLE), str(path)], check=True)
    return path


def _pull_requests(source: Path) -> list[tuple[int, str, int]]:
    """Return (number, head, committer time) for every pull-request ref, oldest first."""
    refs = _git(source, "for-each-ref", "--format=%(refname) %(objectname) %(committerdate:unix)", "refs/pull/")
    pulls = []
    for line in refs.splitlines():
        ref, head, when = line.split()
        pulls.append((int(ref.split("/")[2]), head, int(when)))
    return sorted(pulls, key=lambda pull: (pull[2], pull[0]))


def _main_at(source: Path, when: int) -> str:
    """Return the newest first-parent commit of main committed at or before ``when``."""
    return _git(source, "rev-list", "-1", "--first-parent", f"--before={when}", "refs/heads/main")


@pytest.mark.usefixtures("mirror_settings")
def test_it_replays_every_pull_request_of_the_bundle(db, tmp_path, source, mirror_settings):
    remote = RemoteRepo(tmp_path / "replay.git")
    _git(remote.path, "fetch", "--quiet", str(source), "+refs/*:refs/source/*")
    mirror_settings.LARR1_REPO_URL = remote.url
    mirror_settings.LARR1_MIRROR_DIR = tmp_path / "replay-mirror.git"
    pulls = _pull_requests(source)
    assert [number for number, _, _ in pulls] != [], "the bundle has no pull requests"
    assert {number for number, _, _ in pulls} == set(EXPECTED)

    seen = {}
    for number, head, when in pulls:
        remote.set_main(_main_at(source, when))
        remote.push_pr(number, head)

        sync_repository()

        request = Request.objects.get(number=number)
        kind, username, codes = EXPECTED[number]
        seen[number] = (request.change_kind, request.username, {finding["code"] for finding in request.findings})
        assert seen[number] == (kind, username, codes), f"pull request #{number}"
        assert request.has_errors == any(not code.startswith("risk.") for code in codes), f"pull request #{number}"

    remote.set_main(_git(source, "rev-parse", "refs/heads/main"))
    sync_repository()

    assert dict(Request.objects.values_list("number", "state")) == FINAL_STATES
