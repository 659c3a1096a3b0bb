"""Admin decisions on requests: approve (merge into main), reject, dismiss.

Rejecting also closes the pull request on the forge, with the reason as a
comment, when a forge client is configured. The rejection is recorded first, so
a forge that fails cannot lose it; the failure is reported on the outcome.
Dismissing stays in Larr1, and the requester is not notified.

An approval names the exact head commit the admin looked at. The state change is
a conditional update on (state=open, head=that commit), so of two admins who
approve at once exactly one wins and the other gets ``already-decided``.

Lock order: the sync lock (Redis) first, then database rows. Syncs take the same
lock, so a sync never runs between our merge and our state change.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from approvals.emails import LANGUAGES
from approvals.exceptions import ApprovalsError, ForgeError, GitError, MergeConflict, RemoteMoved, SyncAlreadyRunning
from approvals.forge import client_from_settings
from approvals.git import Mirror
from approvals.locking import sync_lock
from approvals.models import AuditEvent, ChangeKind, Request
from approvals.sync import _decode, reevaluate_request, review_context, review_request, sync_repository

logger = logging.getLogger(__name__)

OUTCOME_MESSAGES = {
    "merged": _("Approved: the pull request was merged into main."),
    "rejected": _("Rejected. The request stays closed in Larr1 until its author pushes a new commit."),
    "dismissed": _("Dismissed. The request stays closed in Larr1 until its author pushes a new commit."),
    "not-found": _("This request does not exist."),
    "head-moved": _(
        "The pull request changed since you looked at it (new head commit). Review the new version and decide again."
    ),
    "has-errors": _("A request with errors cannot be approved. Ask the author to fix the findings."),
    "conflict": _("The pull request conflicts with main. Ask the author to update it."),
    "main-moved": _("Main changed since this request was evaluated; sync and review it again."),
    "already-decided": _("Someone already decided on this request, or it is no longer open."),
    "remote-moved": _("Main changed on the remote while Larr1 was merging. Try again."),
    "push-failed": _("The remote rejected the merge. Check that Larr1 may push to main."),
    "forge-error": _("The forge's API failed to merge the pull request. Try again later."),
    "merge-refused": _(
        "The forge refused to merge the pull request, for example because of a branch protection rule or a "
        "required check. The forge's response is in the audit log."
    ),
    "forge-auth-failed": _(
        "The forge rejected Larr1's token, or the token may not merge. Check LARR1_FORGE_TOKEN and its permissions."
    ),
    "forge-not-found": _("The forge does not know this pull request. Check LARR1_FORGE_REPOSITORY."),
    "busy": _("A sync is running. Try again in a minute."),
    "git-error": _("Larr1 could not read or update the user repository. Try again later."),
}


# Messages about closing the pull request on the forge after a rejection, by MergeOutcome.forge.
FORGE_CLOSE_MESSAGES = {
    "closed": _("The pull request was closed on the forge, with your reason as a comment."),
    "already-closed": _("The pull request was already closed on the forge; Larr1 left it as it is."),
    "head-moved": _(
        "The rejection is recorded, but the pull request has a new commit on the forge, so Larr1 left it open "
        "there. Review the new commit once the next sync shows it."
    ),
    "forge-auth-failed": _(
        "The rejection is recorded, but the forge rejected Larr1's token, so the pull request is still open "
        "there. Check LARR1_FORGE_TOKEN, and close the pull request on the forge with your reason."
    ),
    "forge-not-found": _(
        "The rejection is recorded, but the forge does not know this pull request, so Larr1 could not close it."
    ),
    "forge-error": _(
        "The rejection is recorded, but the forge's API failed, so the pull request may still be open there. "
        "Close it on the forge with your reason."
    ),
}
FORGE_CLOSE_DONE = ("", "closed", "already-closed")

# The comment on a rejected pull request, written in every language of LANGUAGES.
REJECTION_INTRO = gettext_noop("Larr1's admins rejected this pull request. The reason they gave:")
REJECTION_OUTRO = gettext_noop("To ask again, change the workspace file and open a new pull request.")


@dataclass(frozen=True)
class MergeOutcome:
    """The result of a decision; ``code`` is stable, ``message`` is translated for the admin."""

    code: str
    request_id: int
    commit: str = ""
    detail: str = ""  # for logs and the audit trail, never shown as the message
    forge: str = ""  # after a rejection: "closed", "already-closed" or the forge's error code

    @property
    def ok(self) -> bool:
        return self.code in ("merged", "rejected", "dismissed")

    @property
    def message(self) -> str:
        return str(OUTCOME_MESSAGES.get(self.code, OUTCOME_MESSAGES["git-error"]))

    @property
    def forge_failed(self) -> bool:
        return self.forge not in FORGE_CLOSE_DONE

    @property
    def forge_message(self) -> str:
        """Return the translated message about closing on the forge, or "" when Larr1 did not try."""
        if not self.forge:
            return ""
        return str(FORGE_CLOSE_MESSAGES.get(self.forge, FORGE_CLOSE_MESSAGES["forge-error"]))


def _guard(request: Request | None, request_id: int, head_sha: str, *, approving: bool) -> MergeOutcome | None:
    if request is None:
        return MergeOutcome("not-found", request_id)
    if request.state != Request.State.OPEN:
        return MergeOutcome("already-decided", request_id)
    if request.head_sha != head_sha:
        return MergeOutcome("head-moved", request_id)
    if approving and request.has_errors:
        return MergeOutcome("has-errors", request_id)
    return None


def _merge_message(request: Request, actor) -> str:
    return f"Merge pull request #{request.number}: {request.title}\n\nApproved in Larr1 by {actor.get_username()}."


def _author(actor) -> tuple[str, str]:
    name = actor.get_full_name() if hasattr(actor, "get_full_name") else ""
    return (name or actor.get_username(), actor.email or settings.LARR1_GIT_COMMITTER_EMAIL)


def approve(request_id: int, head_sha: str, actor, *, lock_timeout: float | None = None) -> MergeOutcome:
    """Merge the request's head into main and record the approval.

    This does network I/O (a fetch, a push or a forge API call, then a sync), so
    it can take up to a few times LARR1_GIT_TIMEOUT; call it from a task or a
    view that can wait.
    """
    outcome = _guard(Request.objects.filter(pk=request_id).first(), request_id, head_sha, approving=True)
    if outcome:
        return outcome
    if lock_timeout is None:
        lock_timeout = settings.LARR1_GIT_TIMEOUT * 3
    try:
        with sync_lock(blocking_timeout=lock_timeout):
            return _approve_locked(request_id, head_sha, actor)
    except SyncAlreadyRunning:
        return MergeOutcome("busy", request_id)


def _approve_locked(request_id: int, head_sha: str, actor) -> MergeOutcome:
    # 1. Re-read under the lock: another admin may have decided while we waited.
    request = Request.objects.filter(pk=request_id).first()
    outcome = _guard(request, request_id, head_sha, approving=True)
    if outcome:
        return outcome

    mirror = Mirror.from_settings()
    with mirror:
        # 2. Fetch, so the merge is built on the remote's current main and head.
        try:
            mirror.fetch()
        except GitError as exc:
            return _failed(request, actor, "git-error", exc)
        if mirror.list_heads().get(request.number) != head_sha:
            return MergeOutcome("head-moved", request_id)

        # 3. Reject the approval unless the merge lands exactly what the admin reviewed.
        # NOTE: with a forge API the forge builds its own merge. Its tree is assumed to
        # be the tree git merge-tree builds here from the same main and head.
        try:
            difference = _difference_from_review(mirror, request, head_sha)
        except MergeConflict as exc:
            return _failed(request, actor, "conflict", exc)
        except GitError as exc:
            return _failed(request, actor, "git-error", exc)
        if difference:
            # Store the current picture, so the page the admin reloads shows what approving
            # would now merge, and a second approval of that picture goes through.
            reevaluate_request(mirror, request)
            return _failed(request, actor, "main-moved", ApprovalsError(difference, code="main-moved"))

        # 4. Merge: through the forge's API when configured, else a local merge and a push.
        client = client_from_settings()
        try:
            commit = _merge(mirror, client, request, head_sha, actor)
        except MergeConflict as exc:
            return _failed(request, actor, "conflict", exc)
        except RemoteMoved as exc:
            return _failed(request, actor, "remote-moved", exc)
        except ForgeError as exc:
            # The clients classify refusals (head-moved, conflict, merge-refused, remote-moved).
            code = exc.code if exc.code in OUTCOME_MESSAGES else "forge-error"
            return _failed(request, actor, code, exc)
        except GitError as exc:
            code = "push-failed" if exc.code == "push-failed" else "git-error"
            return _failed(request, actor, code, exc)
        finally:
            if client is not None:
                client.close()

        # 5. Record the decision; the conditional update makes it happen once.
        with transaction.atomic():
            changed = Request.objects.filter(pk=request_id, state=Request.State.OPEN, head_sha=head_sha).update(
                state=Request.State.MERGED, merged_commit=commit, superseded_by=None, updated_at=timezone.now()
            )
            if changed != 1:
                # Only a dismissal that raced us (it does not take the lock) gets here;
                # main already has the merge, so the next sync marks the request merged.
                logger.warning("Request %s changed state during its merge; commit=%s", request_id, commit)
                return MergeOutcome("already-decided", request_id, commit)
            AuditEvent.objects.create(
                actor=actor,
                action=AuditEvent.Action.APPROVED,
                request=request,
                commit=commit,
                username=request.username,
                details={
                    "head": head_sha,
                    "change": request.change_kind,
                    "path": request.path,
                    "via": "forge-api" if client is not None else "push",
                },
            )
        logger.info("Approved request %s: merged head=%s commit=%s", request.number, head_sha, commit)

        # 6. Sync main so the approved state (and provisioning) follow at once.
        try:
            sync_repository(mirror=mirror, trigger="approval")
        except ApprovalsError as exc:
            logger.warning("Sync after approving request %s failed; the next sync catches up: %s", request_id, exc)
    return MergeOutcome("merged", request_id, commit)


def _difference_from_review(mirror: Mirror, request: Request, head_sha: str) -> str:
    """Return how merging ``head_sha`` into the mirror's main differs from the request as reviewed, or "".

    The request's stored diff, findings and capacity effect were computed against
    main at its last evaluation. Evaluating it against current main must give the
    same result, and the merge must put the reviewed after-side on the request's
    paths. Raises MergeConflict when the head does not merge cleanly.
    """
    main = mirror.main_sha()
    merged = mirror.tree_entries(mirror.merge_tree(main, head_sha))
    review = review_request(review_context(mirror, main), head_sha)
    # Compared only when main moved, so a catalog change alone is not reported as main-moved.
    changed = review.differs_from(request) if main != request.base_sha else []
    if changed:
        return f"evaluated against {request.base_sha}, main is {main}; changed: {', '.join(changed)}"

    # The merge result is checked against the stored request, which is what the page showed.
    if request.path:
        deletes = request.change_kind == ChangeKind.DELETE
        entry = merged.get(request.path)
        landed = "" if entry is None else _decode(entry.data)
        if (entry is None) != deletes or landed != ("" if deletes else request.file_after):
            return f"the merge puts other content at {request.path} than the request's after-side"
    if review.old_path and review.old_path != review.path and review.old_path in merged:
        return f"the merge keeps {review.old_path}, which the request removes"
    return ""


def _merge(mirror: Mirror, client, request: Request, head_sha: str, actor) -> str:
    message = _merge_message(request, actor)
    if client is not None:
        return client.merge(request.number, head_sha, message)
    main = mirror.main_sha()
    commit = mirror.merge(head_sha, main, message, _author(actor))
    mirror.push_main(commit, main)
    return commit


def _failed(request: Request, actor, code: str, exc: Exception) -> MergeOutcome:
    detail = str(exc)
    AuditEvent.objects.create(
        actor=actor,
        action=AuditEvent.Action.APPROVAL_FAILED,
        request=request,
        username=request.username,
        details={"code": code, "head": request.head_sha, "detail": detail[:1000]},
    )
    logger.warning("Approval of request %s failed: code=%s %s", request.number, code, detail)
    return MergeOutcome(code, request.pk, detail=detail)


def _close(request_id: int, head_sha: str, actor, reason: str, action: str) -> tuple[MergeOutcome, AuditEvent | None]:
    """Record the rejection or dismissal; return the outcome and the audit event (None when refused)."""
    request = Request.objects.filter(pk=request_id).first()
    outcome = _guard(request, request_id, head_sha, approving=False)
    if outcome:
        return outcome, None
    state = Request.State.REJECTED if action == AuditEvent.Action.REJECTED else Request.State.DISMISSED
    with transaction.atomic():
        changed = Request.objects.filter(pk=request_id, state=Request.State.OPEN, head_sha=head_sha).update(
            state=state, decision_reason=reason, superseded_by=None, updated_at=timezone.now()
        )
        if changed != 1:
            return MergeOutcome("already-decided", request_id), None
        event = AuditEvent.objects.create(
            actor=actor,
            action=action,
            request=request,
            commit=head_sha,
            username=request.username,
            details={"reason": reason, "path": request.path},
        )
    logger.info("Request %s %s by %s", request.number, action, actor.get_username())
    return MergeOutcome(action, request_id), event


def reject(request_id: int, head_sha: str, actor, reason: str) -> MergeOutcome:
    """Decline the request at ``head_sha`` with a reason for its author; git is not touched.

    With a forge client, the pull request is then closed on the forge with the
    reason as a comment, and ``MergeOutcome.forge`` stores the result.
    """
    outcome, event = _close(request_id, head_sha, actor, reason, AuditEvent.Action.REJECTED)
    if event is None:
        return outcome
    return _close_on_forge(outcome, event, head_sha, reason)


def dismiss(request_id: int, head_sha: str, actor, reason: str = "") -> MergeOutcome:
    """Hide the request from the queue (for example a stale duplicate); git and the forge are not touched."""
    outcome, _event = _close(request_id, head_sha, actor, reason, AuditEvent.Action.DISMISSED)
    return outcome


def _close_on_forge(outcome: MergeOutcome, event: AuditEvent, head_sha: str, reason: str) -> MergeOutcome:
    """Close the rejected pull request on the forge with the reason as a comment; record how it went."""
    client = client_from_settings()
    if client is None:
        return outcome
    number = event.request.number
    detail = ""
    try:
        closed = client.close_pull(number, head_sha, rejection_comment(reason))
    except ForgeError as exc:
        result, detail = exc.code, str(exc)
        logger.warning("Rejected request %s, but closing it on the forge failed: %s", number, detail)
    else:
        result = "closed" if closed else "already-closed"
    finally:
        client.close()
    event.details = {**event.details, "forge": result, **({"forge_detail": detail[:1000]} if detail else {})}
    event.save(update_fields=["details"])
    return dataclasses.replace(outcome, forge=result, detail=detail)


def rejection_comment(reason: str) -> str:
    """Return the forge comment with the reason the pull request was closed, in every language of LANGUAGES."""

    def each_language(text: str) -> str:
        lines = []
        for language in LANGUAGES:
            with translation.override(language):
                lines.append(gettext(text))
        return "\n".join(lines)

    quoted = "\n".join(f"> {line}".rstrip() for line in reason.strip().splitlines())
    return "\n\n".join(
        [
            each_language(REJECTION_INTRO),
            quoted,
            each_language(REJECTION_OUTRO),
        ]
    )
