"""Generate the demo user repository: a bare git repository with open pull requests.

The run command uses it when no user repository is configured, so a newcomer can
approve a request and watch it become a workspace. ``main`` already holds two
approved workspaces; the pull requests are one valid new workspace, one file with
the mistakes real users made, an update and a deletion.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

DEMO_USER_EMAIL = "researcher@example.com"

README = """\
# User repository (demo)

Ask for a GPU workspace by adding `user/<username>.yaml` in a pull request.
"""


def workspace_file(username: str, email: str, profile: str, cuda: str, storage: str | None = None) -> str:
    text = f"user:\n  username: {username}\n  email: {email}\nprofile:\n  name: {profile}\ncuda:\n  version: {cuda}\n"
    if storage:
        text += f"storage:\n  size: {storage}\n"
    return text


@dataclass
class PullRequest:
    number: int
    title: str
    author: str
    files: dict[str, str | None] = field(default_factory=dict)  # None deletes the file


MAIN_FILES = {
    "README.md": README,
    "user/kai.yaml": workspace_file("kai", "kai@example.com", "small", "cuda12.8"),
    "user/lin.yaml": workspace_file("lin", "lin@example.com", "small", "cuda13.0", "50Gi"),
}

PULL_REQUESTS = [
    PullRequest(
        1,
        "Add a workspace for researcher",
        "researcher",
        {"user/researcher.yaml": workspace_file("researcher", DEMO_USER_EMAIL, "medium", "cuda13.0")},
    ),
    PullRequest(
        2,
        "Add Jules",
        "jules",
        {"user/jules.yml": workspace_file("Jules", "jules@gmail.con", "medium", "cuda12.9")},
    ),
    PullRequest(
        3,
        "kai: more GPU memory and storage",
        "kai",
        {"user/kai.yaml": workspace_file("kai", "kai@example.com", "medium", "cuda12.8", "200Gi")},
    ),
    PullRequest(4, "Remove lin's workspace", "lin", {"user/lin.yaml": None}),
]


class _Builder:
    def __init__(self, work_tree: Path, bare: Path):
        self.work_tree = work_tree
        self.bare = bare
        self.clock = 1_767_225_600  # 2026-01-01, so commit ids are the same on every machine

    def git(self, *args: str, author: str = "admin") -> str:
        self.clock += 60
        identity = {
            "GIT_AUTHOR_NAME": author,
            "GIT_AUTHOR_EMAIL": f"{author}@example.com",
            "GIT_COMMITTER_NAME": author,
            "GIT_COMMITTER_EMAIL": f"{author}@example.com",
            "GIT_AUTHOR_DATE": f"{self.clock} +0000",
            "GIT_COMMITTER_DATE": f"{self.clock} +0000",
        }
        result = subprocess.run(
            ["git", *args],
            cwd=self.work_tree,
            env={**os.environ, **identity, "GIT_CONFIG_NOSYSTEM": "1", "HOME": str(self.work_tree)},
            capture_output=True,
            text=True,
            check=True,
        )
        return result.stdout.strip()

    def write(self, files: dict[str, str | None]) -> None:
        for name, content in files.items():
            path = self.work_tree / name
            if content is None:
                self.git("rm", "--quiet", name)
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content)
            self.git("add", name)


def create_demo_repository(bare: Path) -> bool:
    """Create the demo repository at ``bare`` unless it exists; return whether it was created."""
    if (bare / "HEAD").exists():
        return False
    bare.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "--quiet", "--bare", "--initial-branch=main", str(bare)], check=True)
    with tempfile.TemporaryDirectory() as scratch:
        builder = _Builder(Path(scratch), bare)
        builder.git("init", "--quiet", "--initial-branch=main")
        builder.write(MAIN_FILES)
        builder.git("commit", "--quiet", "-m", "Start the user repository")
        builder.git("push", "--quiet", str(bare), "main")
        for pull in PULL_REQUESTS:
            builder.git("checkout", "--quiet", "-B", f"pr-{pull.number}", "main")
            builder.write(pull.files)
            builder.git("commit", "--quiet", "-m", pull.title, author=pull.author)
            builder.git("push", "--quiet", str(bare), f"HEAD:refs/pull/{pull.number}/head")
    return True
