"""The one module that talks to git: a bare mirror of the user repository.

The mirror contains the configured branch (``main``) and every pull-request head,
fetched with forced refspecs so a force-push to a pull request never breaks a
sync. Files are read from git objects only; the mirror has no work tree.

Process hygiene: every git child process gets ``kill_after_timeout`` (GitPython
kills it and its children with SIGKILL and reaps it), and the persistent
``git cat-file --batch`` processes GitPython keeps for object reads belong to
one ``git.Repo`` per ``Mirror`` and end in ``close()``.

Credentials never go into a URL. For HTTP(S) they travel in the child's
environment as an ``http.extraHeader`` through ``GIT_CONFIG_COUNT`` (git 2.31+),
so neither the command line, the mirror's config nor an error message holds them.
"""

from __future__ import annotations

import base64
import logging
import re
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from threading import Lock
from urllib.parse import urlsplit

import git
from django.conf import settings

from approvals.exceptions import (
    AuthenticationFailed,
    GitError,
    GitTimeout,
    MergeConflict,
    ObjectMissing,
    PushFailed,
    RemoteMoved,
    RemoteUnreachable,
)
from larr1.logging import redact

logger = logging.getLogger(__name__)

# Pull-request head refs per forge. Plain git servers get the GitHub layout, which
# is what tests/gitrepos.py and most mirrors of GitHub repositories use.
PULL_REF_PREFIX = {
    "github": "refs/pull/",
    "gitea": "refs/pull/",
    "gitlab": "refs/merge-requests/",
    "git": "refs/pull/",
}
_PULL_REF = re.compile(r"^refs/(?:pull|merge-requests)/(\d+)/head$")
_SHA = re.compile(r"^[0-9a-f]{40}$")

# Blobs are immutable and named by their hash, so one cache serves every mirror in
# the process. 1,000 pull requests against the same main share its blobs.
_BLOB_CACHE_MAX_BYTES = 32 * 2**20


@dataclass(frozen=True)
class Credentials:
    """User name and password (or access token) for an HTTP(S) remote."""

    username: str | None = None
    password: str | None = None

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, password={'***' if self.password else None})"

    @property
    def secrets(self) -> tuple[str | None, ...]:
        return (self.password, self.basic_token) if self.password else ()

    @property
    def basic_token(self) -> str | None:
        if not self.password:
            return None
        # GitHub and Gitea accept any user name with a token as the password.
        pair = f"{self.username or 'x-access-token'}:{self.password}"
        return base64.b64encode(pair.encode()).decode()


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    author_name: str
    author_email: str
    committed_at: int  # Unix seconds
    summary: str


class _BlobCache:
    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0
        self._lock = Lock()

    def get(self, sha: str) -> bytes | None:
        with self._lock:
            data = self._items.get(sha)
            if data is not None:
                self._items.move_to_end(sha)
            return data

    def put(self, sha: str, data: bytes) -> None:
        with self._lock:
            if sha in self._items or len(data) > self.max_bytes:
                return
            self._items[sha] = data
            self._size += len(data)
            while self._size > self.max_bytes:
                _, evicted = self._items.popitem(last=False)
                self._size -= len(evicted)


_blob_cache = _BlobCache(_BLOB_CACHE_MAX_BYTES)


def display_url(url: str) -> str:
    """Return the URL without user info, safe to log and show."""
    return redact(url)


def _has_userinfo(url: str) -> bool:
    if "://" not in url:
        return False
    return "@" in urlsplit(url).netloc


class Mirror:
    """A bare mirror of one remote repository, used as a context manager."""

    def __init__(
        self,
        path: Path | str,
        url: str,
        *,
        forge: str = "github",
        branch: str = "main",
        timeout: float = 60,
        credentials: Credentials | None = None,
        committer: tuple[str, str] = ("Larr1", "larr1@example.com"),
    ):
        if forge not in PULL_REF_PREFIX:
            raise ValueError(f"Unknown forge {forge!r}; expected one of {', '.join(PULL_REF_PREFIX)}.")
        if _has_userinfo(url):
            # Credentials in the URL would land in the mirror's config, in git's
            # error messages and in process listings.
            raise ValueError(
                "The repository URL must not contain credentials; "
                "set LARR1_GIT_USERNAME and LARR1_GIT_PASSWORD instead."
            )
        self.path = Path(path)
        self.url = url
        self.forge = forge
        self.branch = branch
        self.timeout = timeout
        self.credentials = credentials or Credentials()
        self.committer = committer
        self._repo: git.Repo | None = None

    @classmethod
    def from_settings(cls) -> Mirror:
        if not settings.LARR1_REPO_URL:
            raise GitError("LARR1_REPO_URL is not set.", code="not-configured", permanent=True)
        try:
            return cls(
                settings.LARR1_MIRROR_DIR,
                settings.LARR1_REPO_URL,
                forge=settings.LARR1_FORGE,
                branch=settings.LARR1_REPO_BRANCH,
                timeout=settings.LARR1_GIT_TIMEOUT,
                credentials=Credentials(settings.LARR1_GIT_USERNAME, settings.LARR1_GIT_PASSWORD),
                committer=(settings.LARR1_GIT_COMMITTER_NAME, settings.LARR1_GIT_COMMITTER_EMAIL),
            )
        except ValueError as exc:
            raise GitError(str(exc), code="not-configured", permanent=True) from None

    # --- lifecycle -------------------------------------------------------------

    def __enter__(self) -> Mirror:
        self.open()
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def open(self) -> git.Repo:
        if self._repo is not None:
            return self._repo
        if (self.path / "HEAD").exists():
            self._repo = git.Repo(self.path)
        else:
            self.path.mkdir(parents=True, exist_ok=True)
            self._repo = git.Repo.init(self.path, bare=True, initial_branch=self.branch)
            logger.info("Created mirror at %s", self.path)
        with self._repo.config_writer() as config:
            # Unreachable objects from force-pushed heads are pruned by gc, not kept forever.
            config.set_value("gc", "auto", "256")
            config.set_value("core", "logAllRefUpdates", "false")
        return self._repo

    def close(self) -> None:
        """End the persistent cat-file processes and release the repository."""
        if self._repo is not None:
            self._repo.close()
            self._repo = None

    @property
    def repo(self) -> git.Repo:
        return self.open()

    # --- running git -----------------------------------------------------------

    def _environment(self, *, network: bool) -> dict[str, str]:
        env = {
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_ASKPASS": "",
            "SSH_ASKPASS": "",
            "GIT_SSH_COMMAND": "ssh -o BatchMode=yes",
            "GIT_TRACE": "0",
            "GIT_CURL_VERBOSE": "0",
        }
        if network:
            # Abort an HTTP transfer slower than 1 KB/s for the whole timeout.
            env["GIT_HTTP_LOW_SPEED_LIMIT"] = "1000"
            env["GIT_HTTP_LOW_SPEED_TIME"] = str(int(self.timeout))
            token = self.credentials.basic_token
            if token and self.url.lower().startswith(("http://", "https://")):
                env["GIT_CONFIG_COUNT"] = "1"
                env["GIT_CONFIG_KEY_0"] = "http.extraHeader"
                env["GIT_CONFIG_VALUE_0"] = f"Authorization: Basic {token}"
        return env

    def _git(self, command: str, *args: str, network: bool = False, timeout: float | None = None, **kwargs):
        method = getattr(self.repo.git, command)
        try:
            return method(
                *args,
                env=self._environment(network=network),
                kill_after_timeout=timeout or self.timeout,
                **kwargs,
            )
        except git.GitCommandError as exc:
            raise self._translate(command, exc) from None

    def _translate(self, command: str, exc: git.GitCommandError) -> GitError:
        # git push --porcelain prints why a ref was rejected on stdout.
        output = "\n".join(
            text if isinstance(text, str) else (text or b"").decode("utf-8", "replace")
            for text in (exc.stderr, exc.stdout)
        )
        error = self._classify(command, exc.status, output)
        error.status = exc.status
        return error

    def _classify(self, command: str, status, stderr: str) -> GitError:
        detail = redact(f"git {command} failed (exit {status}): {stderr.strip()}", self.credentials.secrets)
        lowered = stderr.lower()
        if "timeout: the command" in lowered or "operation too slow" in lowered:
            return GitTimeout(redact(f"git {command} timed out after {self.timeout:g} seconds on {self.url}"))
        if any(
            marker in lowered
            for marker in (
                "authentication failed",
                "could not read username",
                "could not read password",
                "permission denied",
                "the requested url returned error: 401",
                "the requested url returned error: 403",
            )
        ):
            return AuthenticationFailed(detail)
        if "couldn't find remote ref" in lowered:
            return GitError(detail, code="branch-missing", permanent=True)
        if any(
            marker in lowered
            for marker in (
                "could not resolve host",
                "connection refused",
                "unable to access",
                "could not read from remote repository",
                "does not appear to be a git repository",
                "unable to connect",
                "the remote end hung up",
                "early eof",
                "connection timed out",
            )
        ):
            return RemoteUnreachable(detail)
        if "not a valid object" in lowered or "bad object" in lowered or "unknown revision" in lowered:
            return ObjectMissing(detail)
        return GitError(detail)

    # --- remote operations -----------------------------------------------------

    def refspecs(self) -> list[str]:
        prefix = PULL_REF_PREFIX[self.forge]
        return [
            f"+refs/heads/{self.branch}:refs/heads/{self.branch}",
            f"+{prefix}*/head:{prefix}*/head",
        ]

    def fetch(self) -> None:
        """Fetch main and every pull-request head; deleted refs are pruned."""
        self._git(
            "fetch",
            "--prune",
            "--no-tags",
            "--quiet",
            "--no-write-fetch-head",
            self.url,
            *self.refspecs(),
            network=True,
        )
        logger.info("Fetched %s into %s", display_url(self.url), self.path)

    def push_main(self, new_sha: str, expected_old_sha: str) -> None:
        """Push ``new_sha`` to the remote's main unless the remote moved from ``expected_old_sha``."""
        self._check_sha(new_sha)
        self._check_sha(expected_old_sha)
        ref = f"refs/heads/{self.branch}"
        try:
            self._git(
                "push",
                "--porcelain",
                f"--force-with-lease={ref}:{expected_old_sha}",
                self.url,
                f"{new_sha}:{ref}",
                network=True,
            )
        except GitError as exc:
            if exc.code in ("git-timeout", "git-auth-failed", "remote-unreachable"):
                raise
            lowered = exc.detail.lower()
            if "stale info" in lowered or "fetch first" in lowered or "non-fast-forward" in lowered:
                raise RemoteMoved(exc.detail) from None
            raise PushFailed(exc.detail) from None
        self._git("update_ref", ref, new_sha)
        logger.info("Pushed %s to %s of %s", new_sha, self.branch, display_url(self.url))

    # --- reading ---------------------------------------------------------------

    def main_sha(self) -> str | None:
        try:
            return self._git("rev_parse", "--verify", "--quiet", f"refs/heads/{self.branch}^{{commit}}")
        except GitError:
            return None

    def list_heads(self) -> dict[int, str]:
        """Return {pull request number: head commit} for every pull-request ref in the mirror."""
        prefix = PULL_REF_PREFIX[self.forge]
        output = self._git("for_each_ref", "--format=%(objectname) %(refname)", prefix)
        heads: dict[int, str] = {}
        for line in output.splitlines():
            sha, _, ref = line.partition(" ")
            match = _PULL_REF.match(ref)
            if match:
                heads[int(match.group(1))] = sha
        return heads

    def heads_merged_into_main(self) -> set[int]:
        """Return the pull-request numbers whose head is an ancestor of main, in one git call."""
        prefix = PULL_REF_PREFIX[self.forge]
        output = self._git("for_each_ref", "--format=%(refname)", f"--merged=refs/heads/{self.branch}", prefix)
        numbers = set()
        for ref in output.splitlines():
            match = _PULL_REF.match(ref)
            if match:
                numbers.add(int(match.group(1)))
        return numbers

    def has_commit(self, sha: str) -> bool:
        try:
            self._git("cat_file", "-e", f"{sha}^{{commit}}")
        except GitError:
            return False
        return True

    def merge_base(self, a: str, b: str) -> str | None:
        try:
            return self._git("merge_base", a, b) or None
        except GitError as exc:
            # Exit 1 with no output: the histories are unrelated.
            if exc.status == 1:
                return None
            raise

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        try:
            self._git("merge_base", "--is-ancestor", ancestor, descendant)
        except GitError as exc:
            if exc.status == 1:
                return False
            raise
        return True

    def changed_paths(self, old: str | None, new: str) -> set[str]:
        """Return the paths whose content or mode differ between two commits (``old`` None: all of ``new``)."""
        if old is None:
            return set(self.tree_entries(new, with_data=False))
        output = self._git("diff_tree", "-r", "-z", "--no-renames", "--name-only", old, new, stdout_as_string=False)
        return {path.decode("utf-8", "replace") for path in output.split(b"\0") if path}

    def touched_paths(self, old: str | None, new: str) -> set[str]:
        """Return every path changed by any commit in ``old..new``, even when a later commit changed it back."""
        args = [f"{old}..{new}"] if old else [new]
        output = self._git("log", "--format=", "--name-only", "-z", "--no-renames", *args, stdout_as_string=False)
        return {path.decode("utf-8", "replace").strip("\n") for path in output.split(b"\0") if path.strip(b"\n")}

    def last_change(self, commit: str, path: str) -> str | None:
        """Return the newest commit on the first-parent line of ``commit`` that changed ``path``.

        For a pull request merged with a merge commit that is the merge, not the branch's commit.
        """
        output = self._git("log", "-1", "--first-parent", "--format=%H", commit, "--", path)
        return output or None

    def commit_info(self, sha: str) -> CommitInfo:
        output = self._git("show", "-s", "--format=%H%x00%an%x00%ae%x00%ct%x00%s", sha)
        full, name, email, timestamp, summary = output.split("\0", 4)
        return CommitInfo(full, name, email, int(timestamp), summary)

    def tree_entries(self, commit: str, *, with_data: bool = True):
        """Return {path: TreeEntry} for every file of the commit's tree, recursively.

        Blob data is read from the object database, never from a work tree, and only
        for blobs up to MAX_FILE_BYTES; larger blobs get ``data=None``. Submodules
        (git links) are listed with size 0 and no data.
        """
        from workspaces.contract import MAX_FILE_BYTES, TreeEntry

        self._check_sha(commit, allow_ref=True)
        output = self._git("ls_tree", "-r", "-l", "-z", "--full-tree", commit, stdout_as_string=False)
        entries = {}
        for record in output.split(b"\0"):
            if not record:
                continue
            meta, _, raw_path = record.partition(b"\t")
            mode, kind, sha, size = meta.split()
            path = raw_path.decode("utf-8", "replace")
            sha = sha.decode()
            size = int(size) if size != b"-" else 0
            data = None
            if with_data and kind == b"blob" and size <= MAX_FILE_BYTES:
                data = self.read_blob(sha)
            entries[path] = TreeEntry(path=path, mode=int(mode, 8), size=size, data=data)
        return entries

    def blob_shas(self, commit: str) -> dict[str, str]:
        """Return {path: blob sha} for the commit's tree."""
        output = self._git("ls_tree", "-r", "-z", "--full-tree", commit, stdout_as_string=False)
        shas = {}
        for record in output.split(b"\0"):
            if record:
                meta, _, raw_path = record.partition(b"\t")
                shas[raw_path.decode("utf-8", "replace")] = meta.split()[2].decode()
        return shas

    def read_blob(self, sha: str) -> bytes:
        data = _blob_cache.get(sha)
        if data is None:
            try:
                data = self.repo.odb.stream(bytes.fromhex(sha)).read()
            except (ValueError, git.GitCommandError) as exc:
                raise ObjectMissing(f"Blob {sha} is not in the mirror: {exc}") from None
            _blob_cache.put(sha, data)
        return data

    # --- merging ---------------------------------------------------------------

    def merge(self, head_sha: str, expected_main_sha: str, message: str, author: tuple[str, str]) -> str:
        """Create a merge commit of ``head_sha`` into main without touching any ref; return its sha.

        Raises RemoteMoved when the mirror's main is not ``expected_main_sha`` and
        MergeConflict when the two do not merge cleanly.
        """
        self._check_sha(head_sha)
        self._check_sha(expected_main_sha)
        main = self.main_sha()
        if main != expected_main_sha:
            raise RemoteMoved(f"main is {main}, expected {expected_main_sha}")
        tree_sha = self.merge_tree(expected_main_sha, head_sha)
        author_name, author_email = author
        committer_name, committer_email = self.committer
        identity = {
            "GIT_AUTHOR_NAME": author_name,
            "GIT_AUTHOR_EMAIL": author_email,
            "GIT_COMMITTER_NAME": committer_name,
            "GIT_COMMITTER_EMAIL": committer_email,
        }
        try:
            return self.repo.git.commit_tree(
                tree_sha,
                "-p",
                expected_main_sha,
                "-p",
                head_sha,
                "-m",
                message,
                env={**self._environment(network=False), **identity},
                kill_after_timeout=self.timeout,
            )
        except git.GitCommandError as exc:
            raise self._translate("commit-tree", exc) from None

    def merge_tree(self, main_sha: str, head_sha: str) -> str:
        """Write the tree of merging ``head_sha`` into ``main_sha`` to the object database; return its sha.

        No commit or ref is created. Raises MergeConflict when the two do not merge cleanly.
        """
        self._check_sha(head_sha)
        self._check_sha(main_sha)
        try:
            tree = self._git("merge_tree", "--write-tree", "--no-messages", main_sha, head_sha)
        except GitError as exc:
            if exc.status == 1:
                raise MergeConflict(f"{head_sha} conflicts with {main_sha}") from None
            raise
        return tree.splitlines()[0].strip()

    @staticmethod
    def _check_sha(value: str, *, allow_ref: bool = False) -> None:
        # Values reach git's command line; a leading "-" would be read as an option.
        if _SHA.match(value or ""):
            return
        if allow_ref and value and not value.startswith("-"):
            return
        raise ObjectMissing(f"Not a commit id: {value!r}")
