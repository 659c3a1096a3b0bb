"""Fixtures for the workspace file contract: the shipped catalog and the real user repository."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from workspaces.contract import MAX_FILE_BYTES, TreeEntry, load_catalog

PROJECT_DIR = Path(__file__).resolve().parents[2]
SHIPPED_CATALOG = PROJECT_DIR / "larr1" / "platform.yaml"
# The real cluster's user repository, with personal details replaced; read in place, never copied.
USER_REPO_BUNDLE = PROJECT_DIR.parent / "shared" / "fixtures" / "user-repo.bundle"


class BundleRepo:
    """A mirror clone of the user repository bundle, read with git plumbing commands."""

    def __init__(self, path: Path):
        self.path = path

    def git(self, *args: str) -> str:
        return subprocess.run(["git", "-C", str(self.path), *args], capture_output=True, text=True, check=True).stdout

    def blob(self, sha: str) -> bytes:
        return subprocess.run(
            ["git", "-C", str(self.path), "cat-file", "blob", sha], capture_output=True, check=True
        ).stdout

    def commits(self) -> list[str]:
        return self.git("rev-list", "--all").split()

    def rev_parse(self, ref: str) -> str:
        return self.git("rev-parse", ref).strip()

    def tree_lines(self, commit: str, *paths: str) -> list[tuple[int, str, int, str]]:
        """Return (mode, blob sha, size, path) for every file of ``commit``'s tree."""
        rows = []
        for line in self.git("ls-tree", "-r", "-l", "-z", commit, *paths).split("\0"):
            if not line:
                continue
            meta, path = line.split("\t", 1)
            mode, _kind, sha, size = meta.split()
            rows.append((int(mode, 8), sha, int(size) if size != "-" else 0, path))
        return rows

    def tree(self, commit: str) -> dict[str, TreeEntry]:
        entries = {}
        for mode, sha, size, path in self.tree_lines(commit):
            data = self.blob(sha) if size <= MAX_FILE_BYTES else None
            entries[path] = TreeEntry(path, mode, size, data)
        return entries

    def pull_request_base(self, head: str) -> str:
        """The commit a pull request started from: its merge base with main, or its parent once merged."""
        base = self.git("merge-base", "refs/heads/main", head).strip()
        return self.rev_parse(f"{head}^") if base == head else base


@pytest.fixture(scope="session")
def catalog():
    return load_catalog(SHIPPED_CATALOG)


@pytest.fixture(scope="session")
def bundle_repo(tmp_path_factory) -> BundleRepo:
    assert USER_REPO_BUNDLE.is_file(), f"the user repository bundle is missing at {USER_REPO_BUNDLE}"
    path = tmp_path_factory.mktemp("bundle") / "user-repo.git"
    subprocess.run(["git", "clone", "--quiet", "--mirror", str(USER_REPO_BUNDLE), str(path)], check=True)
    return BundleRepo(path)


def entry(path: str, text: str | bytes, mode: int = 0o100644) -> TreeEntry:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return TreeEntry.file(path, data, mode)


def workspace(
    username: str = "alice",
    *,
    email: str | None = None,
    profile: str = "medium",
    cuda: str = "cuda13.0",
    storage: str | None = "100Gi",
) -> str:
    """Return the text of a valid workspace file, with the given values written as they are."""
    text = (
        f"user:\n  username: {username}\n  email: {email or f'{username.lower()}@example.com'}\n"
        f"profile:\n  name: {profile}\ncuda:\n  version: {cuda}\n"
    )
    if storage is not None:
        text += f"storage:\n  size: {storage}\n"
    return text
