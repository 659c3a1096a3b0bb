"""Build bare git repositories on disk that look like a forge's user repository.

A ``RemoteRepo`` has ``main`` and pull-request refs (``refs/pull/<n>/head``, or
``refs/merge-requests/<n>/head`` for GitLab). Commits are made with plumbing
commands and a temporary index, so nothing is checked out (git only needs an
empty scratch work tree for some index commands) and any content is possible:
symlinks, binary and huge blobs, files outside ``user/``.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

WORKSPACE = """\
user:
  username: {username}
  email: {email}
profile:
  name: {profile}
cuda:
  version: {cuda}
storage:
  size: {storage}
"""


def workspace_yaml(
    username: str,
    *,
    email: str | None = None,
    profile: str = "medium",
    cuda: str = "cuda13.0",
    storage: str = "100Gi",
) -> str:
    """Return a valid workspace file for ``username``."""
    return WORKSPACE.format(
        username=username,
        email=email or f"{username}@example.com",
        profile=profile,
        cuda=cuda,
        storage=storage,
    )


@dataclass(frozen=True)
class Symlink:
    """A file that is a symbolic link to ``target``."""

    target: str


class RemoteRepo:
    """A bare repository standing in for the forge's copy of the user repository."""

    def __init__(self, path: Path, *, pull_prefix: str = "refs/pull/", branch: str = "main"):
        self.path = Path(path)
        self.pull_prefix = pull_prefix
        self.branch = branch
        self._clock = 1_700_000_000
        self.path.mkdir(parents=True, exist_ok=True)
        self.git("init", "--quiet", "--bare", f"--initial-branch={branch}")

    @property
    def url(self) -> str:
        return self.path.as_uri()

    # --- plumbing ----------------------------------------------------------------

    def git(self, *args: str, input: bytes | None = None, env: dict | None = None) -> str:
        result = subprocess.run(
            ["git", *args],
            cwd=self.path,
            input=input,
            capture_output=True,
            env={**os.environ, **self._identity(), **(env or {})},
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"git {' '.join(args)} failed: {result.stderr.decode(errors='replace')}")
        return result.stdout.decode().strip()

    def _identity(self, author: str = "Contributor", email: str = "contributor@example.com") -> dict:
        return {
            "GIT_AUTHOR_NAME": author,
            "GIT_AUTHOR_EMAIL": email,
            "GIT_COMMITTER_NAME": author,
            "GIT_COMMITTER_EMAIL": email,
            "GIT_CONFIG_NOSYSTEM": "1",
            "HOME": str(self.path),
        }

    def _tick(self) -> dict:
        # Distinct, increasing commit dates keep histories and ordering deterministic.
        self._clock += 60
        stamp = f"{self._clock} +0800"
        return {"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}

    def rev(self, name: str) -> str | None:
        try:
            return self.git("rev-parse", "--verify", "--quiet", f"{name}^{{commit}}")
        except RuntimeError:
            return None

    @property
    def main(self) -> str | None:
        return self.rev(f"refs/heads/{self.branch}")

    def pull_ref(self, number: int) -> str:
        return f"{self.pull_prefix}{number}/head"

    def head(self, number: int) -> str | None:
        return self.rev(self.pull_ref(number))

    def show(self, commit: str, path: str) -> str:
        return self.git("show", f"{commit}:{path}")

    # --- building commits ----------------------------------------------------------

    def commit(
        self,
        files: dict[str, str | bytes | Symlink | None],
        *,
        parents: list[str] | None = None,
        message: str = "Update files",
        author: str = "Contributor",
    ) -> str:
        """Create a commit that applies ``files`` (None deletes) to the first parent's tree."""
        if parents is None:
            parents = [self.main] if self.main else []
        with tempfile.TemporaryDirectory() as scratch:
            env = {"GIT_INDEX_FILE": str(Path(scratch) / "index"), "GIT_WORK_TREE": scratch}
            if parents:
                self.git("read-tree", parents[0], env=env)
            for path, content in files.items():
                if content is None:
                    self.git("update-index", "--force-remove", "--", path, env=env)
                    continue
                mode = "100644"
                if isinstance(content, Symlink):
                    mode, content = "120000", content.target
                data = content.encode() if isinstance(content, str) else content
                blob = self.git("hash-object", "-w", "--stdin", input=data)
                self.git("update-index", "--add", "--cacheinfo", f"{mode},{blob},{path}", env=env)
            tree = self.git("write-tree", env=env)
        parent_args = [arg for parent in parents for arg in ("-p", parent)]
        email = f"{author.lower().replace(' ', '.')}@example.com"
        return self.git(
            "commit-tree", tree, *parent_args, "-m", message, env={**self._identity(author, email), **self._tick()}
        )

    def commit_to_main(self, files, *, message: str = "Update files on main", author: str = "Maintainer") -> str:
        sha = self.commit(files, message=message, author=author)
        self.set_main(sha)
        return sha

    def set_main(self, sha: str) -> None:
        self.git("update-ref", f"refs/heads/{self.branch}", sha)

    # --- pull requests ---------------------------------------------------------------

    def open_pr(self, number: int, files, *, base: str | None = None, message: str = "Add workspace", author="Alice"):
        """Commit ``files`` on top of ``base`` (main by default) and publish it as pull request ``number``."""
        base = base or self.main
        sha = self.commit(files, parents=[base] if base else [], message=message, author=author)
        self.push_pr(number, sha)
        return sha

    def add_to_pr(self, number: int, files, *, message: str = "Update workspace", author="Alice") -> str:
        """Push one more commit to the pull request (a normal push)."""
        sha = self.commit(files, parents=[self.head(number)], message=message, author=author)
        self.push_pr(number, sha)
        return sha

    def force_push_pr(self, number: int, files, *, base: str | None = None, message: str = "Rewrite", author="Alice"):
        """Replace the pull request's head with a new commit on ``base`` that does not contain the old head."""
        return self.open_pr(number, files, base=base, message=message, author=author)

    def push_pr(self, number: int, sha: str) -> None:
        self.git("update-ref", self.pull_ref(number), sha)

    def delete_pr_ref(self, number: int) -> None:
        self.git("update-ref", "-d", self.pull_ref(number))

    def merge_pr(self, number: int, *, message: str | None = None) -> str:
        """Merge the pull request into main with a merge commit, as a forge's merge button does."""
        head = self.head(number)
        tree = self.git("merge-tree", "--write-tree", "--no-messages", self.main, head).splitlines()[0]
        sha = self.git(
            "commit-tree",
            tree,
            "-p",
            self.main,
            "-p",
            head,
            "-m",
            message or f"Merge pull request #{number}",
            env={**self._identity("Maintainer", "maintainer@example.com"), **self._tick()},
        )
        self.set_main(sha)
        return sha

    def squash_pr(self, number: int) -> str:
        """Squash-merge: one new commit on main with the merged tree and main as its only parent."""
        head = self.head(number)
        tree = self.git("merge-tree", "--write-tree", "--no-messages", self.main, head).splitlines()[0]
        sha = self.git(
            "commit-tree",
            tree,
            "-p",
            self.main,
            "-m",
            f"Squashed pull request (#{number})",
            env={**self._identity("Maintainer", "maintainer@example.com"), **self._tick()},
        )
        self.set_main(sha)
        return sha

    def rebase_pr(self, number: int) -> str:
        """Rebase-merge: replay each commit of the pull request onto main as new commits."""
        head = self.head(number)
        base = self.git("merge-base", self.main, head)
        commits = self.git("rev-list", "--reverse", f"{base}..{head}").split()
        tip = self.main
        for commit in commits:
            patch = subprocess.run(
                ["git", "diff", "--binary", "--full-index", f"{commit}^", commit],
                cwd=self.path,
                capture_output=True,
                check=True,
            ).stdout
            with tempfile.TemporaryDirectory() as scratch:
                env = {"GIT_INDEX_FILE": str(Path(scratch) / "index"), "GIT_WORK_TREE": scratch}
                self.git("read-tree", tip, env=env)
                if patch:
                    self.git("apply", "--cached", "-", input=patch, env=env)
                tree = self.git("write-tree", env=env)
            message = self.git("show", "-s", "--format=%B", commit)
            tip = self.git(
                "commit-tree",
                tree,
                "-p",
                tip,
                "-m",
                message,
                env={**self._identity("Maintainer", "maintainer@example.com"), **self._tick()},
            )
        self.set_main(tip)
        return tip
