"""Time syncs of a user repository with many pull-request refs.

    eval "$(bin/test-services)" && LARR1_ENV=test .venv/bin/python benchmarks/mirror_bench.py [--pulls 1000]

Builds a bare repository on local disk with ``--files`` workspace files on main and
``--pulls`` pull requests. Each pull request adds one workspace file, and every
tenth one is invalid. Then it prints the time of the first sync, of a sync with
no change, and of a sync after one new pull request. It uses a throwaway database (LARR1_TEST_DB_NAME or
Django's test name) on the configured DATABASE_URL, and a temporary directory.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "larr1.settings")
os.environ.setdefault("LARR1_ENV", "test")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import override_settings  # noqa: E402

from approvals.models import Request  # noqa: E402
from approvals.signals import approved_state_changed  # noqa: E402
from approvals.sync import sync_repository  # noqa: E402
from tests.gitrepos import RemoteRepo, workspace_yaml  # noqa: E402


def _data(text: str) -> bytes:
    raw = text.encode()
    return b"data %d\n" % len(raw) + raw + b"\n"


def build_stream(files: int, pulls: int) -> bytes:
    """Return a git fast-import stream: main with ``files`` workspaces, ``pulls`` pull-request heads on it."""
    parts = [b"commit refs/heads/main\nmark :1\ncommitter Bench <bench@example.com> 1700000000 +0000\n"]
    parts.append(_data("Add workspaces"))
    parts.append(b"M 100644 inline README.md\n" + _data("# Users\n"))
    for index in range(files):
        parts.append(f"M 100644 inline user/member{index}.yaml\n".encode() + _data(workspace_yaml(f"member{index}")))
    for number in range(1, pulls + 1):
        username = f"newcomer{number}"
        content = workspace_yaml(username, cuda="cuda12.9" if number % 10 == 0 else "cuda13.0")
        committer = f"committer Bench <bench@example.com> {1700000000 + number} +0000"
        parts.append(f"commit refs/pull/{number}/head\n{committer}\n".encode())
        parts.append(_data(f"Add {username}"))
        parts.append(b"from :1\n")
        parts.append(f"M 100644 inline user/{username}.yaml\n".encode() + _data(content))
    return b"".join(parts)


def timed(label: str, function) -> float:
    started = time.perf_counter()
    report = function()
    seconds = time.perf_counter() - started
    print(f"{label:<34} {seconds:8.2f} s   created={len(report.created)} updated={len(report.updated)}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pulls", type=int, default=1000, help="pull-request refs to create (default 1000)")
    parser.add_argument("--files", type=int, default=50, help="workspace files on main (default 50)")
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="larr1-mirror-bench-") as scratch:
        remote = RemoteRepo(Path(scratch) / "remote.git")
        started = time.perf_counter()
        subprocess.run(
            ["git", "fast-import", "--quiet"],
            cwd=remote.path,
            input=build_stream(options.files, options.pulls),
            check=True,
        )
        print(f"{'build repository':<34} {time.perf_counter() - started:8.2f} s   pulls={options.pulls}")

        # Measure the sync alone: provisioning would react to the new approved files.
        approved_state_changed.receivers = []
        approved_state_changed.sender_receivers_cache.clear()
        old_name = connection.settings_dict["NAME"]
        connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
        try:
            with override_settings(
                LARR1_REPO_URL=remote.url,
                LARR1_MIRROR_DIR=Path(scratch) / "mirror.git",
                LARR1_FORGE="git",
                LARR1_FORGE_TOKEN=None,
            ):
                timed("first sync", sync_repository)
                timed("no-change sync", sync_repository)
                remote.open_pr(options.pulls + 1, {"user/latecomer.yaml": workspace_yaml("latecomer")})
                timed("one-new-pull-request sync", sync_repository)
                print(f"{'requests in the database':<34} {Request.objects.count():8d}")
        finally:
            connection.creation.destroy_test_db(old_name, verbosity=0)
    print(f"database: {settings.DATABASES['default']['ENGINE']}")


if __name__ == "__main__":
    main()
