"""Errors raised by the mirror, the forge client and the merge step.

Every error has a stable ``code`` (stored on sync runs and shown by the UI through
``user_message``) and a ``permanent`` flag: a permanent error will fail again on
retry (bad credentials, a merge conflict), a transient one may pass later (a
timeout, a remote that is down).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _


class ApprovalsError(Exception):
    """Base class: a failure with a stable code and a retry hint."""

    code = "error"
    permanent = False

    def __init__(self, detail: str = "", *, code: str | None = None, permanent: bool | None = None):
        super().__init__(detail or self.code)
        self.detail = detail
        if code is not None:
            self.code = code
        if permanent is not None:
            self.permanent = permanent

    def __str__(self) -> str:
        return f"{self.code}: {self.detail}" if self.detail else self.code


class GitError(ApprovalsError):
    """A git command failed."""

    code = "git-failed"
    status: int | str | None = None  # git's exit status, when a command ran


class GitTimeout(GitError):
    """A git command did not finish within LARR1_GIT_TIMEOUT seconds and was killed."""

    code = "git-timeout"


class RemoteUnreachable(GitError):
    """The remote could not be reached or did not respond like a git server."""

    code = "remote-unreachable"


class AuthenticationFailed(GitError):
    """The remote rejected the configured credentials."""

    code = "git-auth-failed"
    permanent = True


class ObjectMissing(GitError):
    """A commit or object the caller named is not in the mirror."""

    code = "object-missing"
    permanent = True


class MergeConflict(GitError):
    """The pull request does not merge cleanly into main."""

    code = "conflict"
    permanent = True


class RemoteMoved(GitError):
    """The remote's main is no longer the commit the merge was built on."""

    code = "remote-moved"


class PushFailed(GitError):
    """The remote rejected a push for another reason than a moved main."""

    code = "push-failed"


class ForgeError(ApprovalsError):
    """The forge's REST API failed, refused, or returned something unexpected.

    ``code`` is the cause: forge-auth-failed (401, 403), forge-not-found (404),
    forge-rate-limited, forge-unavailable (5xx), forge-timeout, forge-unreachable,
    forge-error (anything else). A rejected merge or close has head-moved,
    conflict, remote-moved or merge-refused. ``status`` is the HTTP status, if any.
    """

    code = "forge-error"

    def __init__(self, detail: str = "", *, status: int | None = None, **kwargs):
        super().__init__(detail, **kwargs)
        self.status = status


class SyncAlreadyRunning(ApprovalsError):
    """Another worker holds the sync lock."""

    code = "sync-running"


# User-facing text for every code, in one place so the UI and the CLI agree.
MESSAGES = {
    "error": _("Something went wrong. The details are in the server log."),
    "git-failed": _("A git command failed on the mirror of the user repository."),
    "git-timeout": _("The user repository did not answer in time. Larr1 will try again at the next sync."),
    "remote-unreachable": _("The user repository cannot be reached. Check LARR1_REPO_URL and the network."),
    "git-auth-failed": _(
        "The user repository rejected Larr1's credentials. Check LARR1_GIT_USERNAME and LARR1_GIT_PASSWORD."
    ),
    "object-missing": _("A commit Larr1 expected is missing from the mirror. Sync again."),
    "conflict": _("The pull request conflicts with main. Ask the author to update it."),
    "remote-moved": _("Main changed on the remote while Larr1 was merging. Sync and approve again."),
    "push-failed": _("The remote rejected the merge. Check that Larr1 may push to main."),
    "forge-error": _("The forge's API failed. Larr1 will try again at the next sync."),
    "forge-auth-failed": _(
        "The forge rejected Larr1's token, or the token lacks a permission. Check LARR1_FORGE_TOKEN."
    ),
    "forge-not-found": _(
        "The forge does not know the repository or the pull request. Check LARR1_FORGE_REPOSITORY and "
        "LARR1_FORGE_API_URL."
    ),
    "forge-rate-limited": _("The forge's API rate limit is used up. Larr1 will try again at the next sync."),
    "forge-unavailable": _("The forge's API is failing. Larr1 will try again at the next sync."),
    "forge-timeout": _("The forge's API did not answer in time. Larr1 will try again at the next sync."),
    "forge-unreachable": _("The forge's API cannot be reached. Check LARR1_FORGE_API_URL and the network."),
    "sync-running": _("A sync is already running."),
    "branch-missing": _("The user repository has no main branch yet."),
    "not-configured": _("No user repository is configured. Set LARR1_REPO_URL."),
}


def user_message(code: str):
    """Return the translated text for an error code, or the generic one for an unknown code."""
    return MESSAGES.get(code, MESSAGES["error"])
