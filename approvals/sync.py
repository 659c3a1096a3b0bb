"""Bring requests and the approved state in line with the mirror.

One sync:

1. fetches main and every pull-request head;
2. re-evaluates the workspace files on main (the approved state) and records the
   ones that changed on main without a Larr1 approval;
3. evaluates only the pull requests whose head moved since the last sync;
4. marks requests merged whose change reached main, or takes open, closed and
   merged from the forge's API. A merge commit makes the head an ancestor of
   main. After a squash or rebase merge, a commit on main brought the file to
   the request's content;
5. points older open requests for the same workspace file at the newest one.

Callers hold the sync lock (``approvals.locking.sync_lock``) so that one sync or
approval at a time touches the mirror.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from approvals.emails import notify_new_requests
from approvals.exceptions import ApprovalsError, ForgeError, MergeConflict
from approvals.forge import ForgeClient, PageCache, PullState, client_from_settings
from approvals.git import PULL_REF_PREFIX, Mirror
from approvals.models import ApprovedFile, AuditEvent, ChangeKind, Request, RequestHead, SyncRun, is_risk_code
from approvals.signals import approved_state_changed
from larr1.catalog import get_catalog
from workspaces.contract import ChangeKind as ContractChangeKind
from workspaces.contract import evaluate_change, evaluate_tree
from workspaces.contract.findings import Finding, Severity
from workspaces.contract.model import path_stem
from workspaces.models import Workspace

logger = logging.getLogger(__name__)

# Pages of the forge's pull-request listing with their ETags, kept between the syncs
# of this process, so an unchanged page costs a 304 and none of the forge's rate limit.
forge_pages = PageCache()


@dataclass
class SyncReport:
    """Changes made by one sync, for the management command, the SyncRun row and tests."""

    main_sha: str = ""
    previous_main_sha: str = ""
    created: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    force_pushed: list[int] = field(default_factory=list)
    merged: list[int] = field(default_factory=list)
    closed: list[int] = field(default_factory=list)
    reopened: list[int] = field(default_factory=list)
    reevaluated: list[int] = field(default_factory=list)
    approved_added: list[str] = field(default_factory=list)
    approved_changed: list[str] = field(default_factory=list)
    approved_removed: list[str] = field(default_factory=list)
    merged_outside: list[str] = field(default_factory=list)
    forge_error: str = ""

    @property
    def refs_changed(self) -> int:
        return len(set(self.created) | set(self.updated) | set(self.closed))

    def lines(self) -> list[str]:
        """Describe the changes in the active language, one line each."""
        numbers = {
            _("New requests"): self.created,
            _("Updated requests"): self.updated,
            _("Force-pushed requests"): self.force_pushed,
            _("Merged requests"): self.merged,
            _("Closed requests"): self.closed,
            _("Reopened requests"): self.reopened,
            _("Requests re-evaluated against main"): self.reevaluated,
        }
        paths = {
            _("Approved files added"): self.approved_added,
            _("Approved files changed"): self.approved_changed,
            _("Approved files removed"): self.approved_removed,
            _("Changed on main without Larr1"): self.merged_outside,
        }
        lines = [f"{label}: {', '.join(f'#{n}' for n in sorted(items))}" for label, items in numbers.items() if items]
        lines += [f"{label}: {', '.join(sorted(items))}" for label, items in paths.items() if items]
        if self.forge_error:
            lines.append(_("The forge's API failed (%(code)s); states are from git only.") % {"code": self.forge_error})
        if not lines:
            lines.append(_("Nothing changed."))
        return lines


@dataclass
class _Context:
    """Per-sync state shared by the phases below."""

    mirror: Mirror
    catalog: object
    main: str
    previous_main: str | None
    main_entries: dict
    now: object
    report: SyncReport
    tree_cache: dict = field(default_factory=dict)
    blob_cache: dict = field(default_factory=dict)

    def blobs(self, commit: str) -> dict[str, str]:
        if commit not in self.blob_cache:
            self.blob_cache[commit] = self.mirror.blob_shas(commit)
        return self.blob_cache[commit]

    def tree(self, commit: str | None) -> dict:
        if commit is None:
            return {}
        if commit not in self.tree_cache:
            self.tree_cache[commit] = self.mirror.tree_entries(commit)
        return self.tree_cache[commit]


def sync_repository(
    *, mirror: Mirror | None = None, forge: ForgeClient | None | bool = True, trigger: str = ""
) -> SyncReport:
    """Fetch the user repository and update requests and approved files; record a SyncRun.

    ``forge=True`` uses the configured forge client (if any), ``None``/``False`` uses plain git.
    Raises ApprovalsError (after recording the failed run) when git fails.
    """
    run = SyncRun.objects.create(trigger=trigger)
    client = None
    try:
        if mirror is None:
            mirror = Mirror.from_settings()
        client = client_from_settings(page_cache=forge_pages) if forge is True else (forge or None)
        with mirror:
            report = _sync(mirror, client)
    except ApprovalsError as exc:
        run.status = SyncRun.Status.FAILED
        run.error_code = exc.code
        run.summary = str(exc)[:2000]
        run.finished_at = timezone.now()
        run.save()
        logger.warning("Sync failed: %s", exc)
        raise
    finally:
        if client is not None and forge is True:
            client.close()
    run.status = SyncRun.Status.SUCCEEDED
    run.main_sha = report.main_sha
    run.refs_changed = report.refs_changed
    run.summary = "\n".join(report.lines())
    run.finished_at = timezone.now()
    run.save()
    return report


def _previous_main() -> str | None:
    previous = (
        SyncRun.objects.filter(status=SyncRun.Status.SUCCEEDED).exclude(main_sha="").values_list("main_sha", flat=True)
    )
    return previous.first()


def _sync(mirror: Mirror, client: ForgeClient | None) -> SyncReport:
    mirror.fetch()
    main = mirror.main_sha()
    if main is None:
        raise ApprovalsError("The mirror has no main branch after fetching.", code="branch-missing", permanent=True)
    previous = _previous_main()
    if previous and not mirror.has_commit(previous):
        previous = None  # main was rewritten and the old commit is gone
    report = SyncReport(main_sha=main, previous_main_sha=previous or "")
    context = _Context(
        mirror=mirror,
        catalog=get_catalog(),
        main=main,
        previous_main=previous,
        main_entries=mirror.tree_entries(main),
        now=timezone.now(),
        report=report,
    )
    context.tree_cache[main] = context.main_entries

    pulls: dict[int, PullState] | None = None
    if client is not None:
        try:
            pulls = client.list_pulls()
        except ForgeError as exc:
            logger.warning("Listing pull requests failed, using git only: %s", exc)
            report.forge_error = exc.code

    with transaction.atomic():
        changed_paths = _sync_approved_files(context)
        _sync_requests(context, pulls)
        _mark_merged_by_content(context, changed_paths)
        _reevaluate_after_main_moved(context)
        _record_outside_merges(context, changed_paths)
        _update_superseded(mirror.forge)
        if report.created:
            new_requests = Request.objects.filter(forge=mirror.forge, number__in=report.created)
            notify_new_requests(new_requests.values_list("pk", flat=True))
    logger.info(
        "Synced main=%s created=%s updated=%s merged=%s",
        main,
        len(report.created),
        len(report.updated),
        len(report.merged),
    )
    return report


# --- the approved state on main ----------------------------------------------------


def _decode(data: bytes | None) -> str:
    if data is None:
        return ""
    return data.decode("utf-8", "replace").replace("\x00", "\ufffd")


def _sync_approved_files(context: _Context) -> dict[str, str]:
    """Update ApprovedFile rows from main; return {path: "added"|"changed"|"removed"} for files whose blob changed."""
    mirror, main = context.mirror, context.main
    evaluations = evaluate_tree(context.main_entries, context.catalog)
    blob_shas = mirror.blob_shas(main)
    existing = {row.path: row for row in ApprovedFile.objects.all()}
    changed: dict[str, str] = {}
    usernames: set[str] = set()

    for path, evaluation in evaluations.items():
        spec = dataclasses.asdict(evaluation.spec) if evaluation.spec else None
        values = {
            "username": evaluation.spec.username if evaluation.spec else path_stem(path).lower(),
            "blob_sha": blob_shas.get(path, ""),
            "content": _decode(context.main_entries[path].data),
            "valid": evaluation.ok and evaluation.spec is not None,
            "findings": [finding.as_dict() for finding in evaluation.findings],
            "spec": spec,
            "removed_at": None,
        }
        row = existing.get(path)
        if row is not None and all(getattr(row, name) == value for name, value in values.items()):
            continue
        blob_changed = row is None or row.removed_at is not None or row.blob_sha != values["blob_sha"]
        if blob_changed:
            values["commit_sha"] = mirror.last_change(main, path) or main
            changed[path] = "added" if row is None or row.removed_at is not None else "changed"
        values["updated_at"] = context.now
        ApprovedFile.objects.update_or_create(path=path, defaults=values)
        usernames.add(values["username"])
        if row is not None and row.username and row.username != values["username"]:
            usernames.add(row.username)

    for path, row in existing.items():
        if path in evaluations or row.removed_at is not None:
            continue
        row.removed_at = context.now
        row.updated_at = context.now
        row.commit_sha = mirror.last_change(main, path) or main
        row.save(update_fields=["removed_at", "updated_at", "commit_sha"])
        changed[path] = "removed"
        usernames.add(row.username)

    report = context.report
    report.approved_added = sorted(path for path, how in changed.items() if how == "added")
    report.approved_changed = sorted(path for path, how in changed.items() if how == "changed")
    report.approved_removed = sorted(path for path, how in changed.items() if how == "removed")
    if usernames:
        transaction.on_commit(
            lambda: approved_state_changed.send(sender=ApprovedFile, usernames=set(usernames)), robust=True
        )
    return changed


def _record_outside_merges(context: _Context, changed: dict[str, str]) -> None:
    """Record an AuditEvent for each workspace file that changed on main without an approval in Larr1.

    A file whose last change on main is the merge commit of a Larr1 approval is
    skipped. The event links a request only when everything that request changes
    is on main, so a request that merely touches the same path is not blamed.
    """
    if context.previous_main is None:
        return  # the first sync imports main as it is
    approved_commits = set(
        AuditEvent.objects.filter(action=AuditEvent.Action.APPROVED).exclude(commit="").values_list("commit", flat=True)
    )
    approved_commits |= set(
        Request.objects.exclude(merged_commit="")
        .filter(events__action=AuditEvent.Action.APPROVED)
        .values_list("merged_commit", flat=True)
    )
    for path, how in sorted(changed.items()):
        row = ApprovedFile.objects.get(path=path)
        if row.commit_sha in approved_commits:
            continue
        content = "" if how == "removed" else row.content
        candidates = Request.objects.filter(path=path, file_after=content)
        if how == "removed":
            candidates = candidates.filter(change_kind=ChangeKind.DELETE)
        candidates = [request for request in candidates.order_by("-opened_at", "-number") if _landed(context, request)]
        if AuditEvent.objects.filter(request__in=candidates, action=AuditEvent.Action.APPROVED).exists():
            continue
        AuditEvent.objects.create(
            action=AuditEvent.Action.MERGED_OUTSIDE,
            request=candidates[0] if candidates else None,
            commit=row.commit_sha,
            username=row.username,
            details={"path": path, "change": how},
        )
        context.report.merged_outside.append(path)
        logger.info("Workspace file changed on main without Larr1: path=%s commit=%s", path, row.commit_sha)


def _landed(context: _Context, request: Request) -> bool:
    """Return whether main has the request's head content on every path the request changes."""
    mirror = context.mirror
    if not mirror.has_commit(request.head_sha):
        return False
    paths = mirror.changed_paths(request.merge_base_sha or None, request.head_sha)
    head_blobs = context.blobs(request.head_sha)
    main_blobs = context.blobs(context.main)
    return all(head_blobs.get(path) == main_blobs.get(path) for path in paths)


# --- pull requests -----------------------------------------------------------------


def _sync_requests(context: _Context, pulls: dict[int, PullState] | None) -> None:
    mirror, report = context.mirror, context.report
    forge = mirror.forge
    heads = mirror.list_heads()
    requests = {request.number: request for request in Request.objects.filter(forge=forge)}
    merged_heads = mirror.heads_merged_into_main()

    for number, head in sorted(heads.items()):
        request = requests.get(number)
        if request is None:
            request = _create_request(context, number, head)
            requests[number] = request
        elif request.head_sha != head:
            _move_head(context, request, head)

    for number, request in requests.items():
        if number not in heads and request.state == Request.State.OPEN:
            request.state = Request.State.CLOSED
            request.save(update_fields=["state", "updated_at"])
            report.closed.append(number)

    if pulls is not None:
        _apply_forge_state(context, requests, pulls)
        return
    for number in merged_heads:
        request = requests.get(number)
        if request is not None and request.state != Request.State.MERGED:
            _mark_merged(context, request, commit=context.main)


def _reevaluate_after_main_moved(context: _Context) -> None:
    """Re-evaluate open requests whose workspace file main changed since the last sync.

    Their stored diff, findings and capacity effect were computed against an older
    main, and approving now would land something else.
    """
    if context.previous_main is None or context.previous_main == context.main:
        return
    touched = context.mirror.touched_paths(context.previous_main, context.main)
    if not touched:
        return
    # New and moved heads were just evaluated against this main.
    requests = Request.objects.filter(forge=context.mirror.forge, state=Request.State.OPEN).exclude(
        base_sha=context.main
    )
    for request in requests:
        if not _touches(context, request, touched):
            continue
        _evaluate(context, request)
        request.save()
        context.report.reevaluated.append(request.number)
        logger.info("Re-evaluated request number=%s against main=%s", request.number, context.main)


def _touches(context: _Context, request: Request, paths: set[str]) -> bool:
    """Return whether the request's workspace file, or the file it renames or deletes, is one of ``paths``."""
    if request.path in paths:
        return True
    if not request.file_before:
        return False
    # The old path of a rename is not stored: find a path whose content in the tree the
    # request was evaluated against is the request's before-side.
    for commit in {request.merge_base_sha, request.base_sha} - {""}:
        entries = context.tree(commit) if context.mirror.has_commit(commit) else {}
        for path in paths:
            entry = entries.get(path)
            if entry is not None and _decode(entry.data) == request.file_before:
                return True
    return False


def _create_request(context: _Context, number: int, head: str) -> Request:
    info = context.mirror.commit_info(head)
    request = Request(
        forge=context.mirror.forge,
        number=number,
        ref=f"{PULL_REF_PREFIX[context.mirror.forge]}{number}/head",
        title=info.summary[:500],
        author=info.author_name[:200],
        head_sha=head,
        opened_at=context.now,
    )
    _evaluate(context, request)
    request.save()
    RequestHead.objects.create(request=request, sha=head, first_seen_at=context.now)
    context.report.created.append(number)
    logger.info("Created request number=%s head=%s kind=%s", number, head, request.change_kind)
    return request


def _move_head(context: _Context, request: Request, head: str) -> None:
    mirror = context.mirror
    forced = not (mirror.has_commit(request.head_sha) and mirror.is_ancestor(request.head_sha, head))
    request.head_sha = head
    if context.mirror.forge == "git" or not request.url:
        request.title = mirror.commit_info(head).summary[:500] or request.title
    _evaluate(context, request)
    if request.state in Request.DECIDED_STATES:
        # A new push after a rejection or a dismissal needs another review.
        request.state = Request.State.OPEN
        context.report.reopened.append(request.number)
    request.save()
    RequestHead.objects.create(request=request, sha=head, first_seen_at=context.now, forced=forced)
    context.report.updated.append(request.number)
    if forced:
        context.report.force_pushed.append(request.number)
    logger.info("Updated request number=%s head=%s forced=%s", request.number, head, forced)


def _finding_key(finding) -> tuple:
    return (finding.code, finding.field, tuple(sorted((k, str(v)) for k, v in finding.params.items())))


@dataclass(frozen=True)
class Review:
    """The evaluated change a request makes to main, as its page shows it to the admin."""

    merge_base: str
    main: str
    change_kind: str
    path: str
    old_path: str
    username: str
    old_username: str
    file_before: str
    file_after: str
    findings: list

    # The fields that must still match the stored request when an admin approves it.
    REVIEWED_FIELDS = ("change_kind", "path", "username", "old_username", "file_before", "file_after", "findings")

    def differs_from(self, request: Request) -> list[str]:
        """Return the names of the reviewed fields whose value on ``request`` is not this review's."""
        # Stored findings went through JSON, so compare them in that form.
        reviewed = {**{name: getattr(self, name) for name in self.REVIEWED_FIELDS}}
        reviewed["findings"] = json.loads(json.dumps(self.findings))
        return [name for name in self.REVIEWED_FIELDS if getattr(request, name) != reviewed[name]]


def review_context(mirror: Mirror, main: str) -> _Context:
    """Build the state ``review_request`` needs to evaluate requests against ``main``."""
    entries = mirror.tree_entries(main)
    context = _Context(
        mirror=mirror,
        catalog=get_catalog(),
        main=main,
        previous_main=None,
        main_entries=entries,
        now=timezone.now(),
        report=SyncReport(main_sha=main),
    )
    context.tree_cache[main] = entries
    return context


def reevaluate_request(mirror: Mirror, request: Request) -> None:
    """Evaluate ``request`` against the mirror's current main and save it, so its page shows what would land."""
    _evaluate(review_context(mirror, mirror.main_sha()), request)
    request.save()


def review_request(context: _Context, head_sha: str) -> Review:
    """Evaluate a pull request's head against main as it is in ``context``.

    The request's head is diffed against its merge base with main. When main
    changed the request's workspace file since that merge base, that diff no
    longer shows what approving would do. The request is then evaluated as the
    change from current main to the merge of main and the head, which is what
    lands on main. When that merge conflicts, or main already has the request's
    file so that nothing would land, the merge-base evaluation stays and the
    findings of the head's file applied to current main are added.
    """
    mirror = context.mirror
    merge_base = mirror.merge_base(head_sha, context.main)
    before_entries = context.tree(merge_base)
    after_entries = mirror.tree_entries(head_sha)
    evaluation = evaluate_change(before_entries, after_entries, context.catalog)
    findings = list(evaluation.findings)

    touched = {path for path in (evaluation.path, evaluation.old_path) if path}
    if merge_base != context.main and touched:
        changed_on_main = mirror.changed_paths(merge_base, context.main) if merge_base else set(context.main_entries)
        if touched & changed_on_main:
            try:
                merged_entries = mirror.tree_entries(mirror.merge_tree(context.main, head_sha))
            except MergeConflict:
                merged_entries = None
            landing = None
            if merged_entries is not None:
                landing = evaluate_change(context.main_entries, merged_entries, context.catalog)
            if landing is not None and landing.kind != ContractChangeKind.NONE:
                before_entries, after_entries = context.main_entries, merged_entries
                evaluation = landing
                findings = list(evaluation.findings)
            elif landing is not None:
                # Main already has the request's file: nothing lands, so show the request's own change.
                findings = _add_findings_against_main(context, touched, after_entries, findings)
            else:
                findings = _add_findings_against_main(context, touched, after_entries, findings)

    if evaluation.kind == ContractChangeKind.CREATE and evaluation.path:
        findings = findings + _readded_findings(context, evaluation.path, evaluation.username or "")

    old_path = evaluation.old_path
    new_path = evaluation.path if evaluation.kind != ContractChangeKind.DELETE else None
    return Review(
        merge_base=merge_base or "",
        main=context.main,
        change_kind=ChangeKind(evaluation.kind.value),
        path=evaluation.path or "",
        old_path=old_path or "",
        username=evaluation.username or "",
        old_username=evaluation.old_username or "",
        file_before=_decode(before_entries[old_path].data) if old_path in before_entries else "",
        file_after=_decode(after_entries[new_path].data) if new_path in after_entries else "",
        findings=[finding.as_dict() for finding in findings],
    )


def _readded_findings(context: _Context, path: str, username: str) -> list[Finding]:
    """Return a risk finding when a new workspace file brings back a workspace that was removed from main.

    Approving makes a new workspace with an empty volume. While the old workspace
    is in its grace period, the finding states until when its data is kept. Main's
    history counts too, because a file added and removed between two syncs has no
    ApprovedFile row.
    """
    removed = ApprovedFile.objects.filter(removed_at__isnull=False).filter(
        Q(path=path) | Q(username=username) if username else Q(path=path)
    )
    on_main_before = path not in context.main_entries and context.mirror.last_change(context.main, path) is not None
    if not removed.exists() and not on_main_before:
        return []
    username = username or path_stem(path).lower()
    params = {"username": username}
    kept_until = grace_period_end(username)
    if kept_until:
        params["kept_until"] = kept_until
    return [Finding(Severity.WARNING, "risk.readded", "user.username", params)]


def grace_period_end(username: str) -> str:
    """Return when the data of the removed workspace ``username`` is deleted, or "" when none is kept.

    A finding stores the text, so it stays JSON-safe.
    """
    old = (
        Workspace.objects.filter(
            username=username, desired_state=Workspace.DesiredState.DELETING, delete_after__gt=timezone.now()
        )
        .order_by("-delete_after")
        .first()
    )
    if old is None:
        return ""
    return old.kept_until_text()


def _add_findings_against_main(context: _Context, touched: set[str], head_entries: dict, findings: list) -> list:
    """Add the findings of the head's workspace file applied to current main.

    A stale request may collide with what was approved meanwhile (a re-added file,
    a username now taken). Only the request's workspace file is applied, so other
    files that main changed since do not show up as part of the request.
    """
    merged_tree = dict(context.main_entries)
    for path in touched:
        if path in head_entries:
            merged_tree[path] = head_entries[path]
        else:
            merged_tree.pop(path, None)
    against_main = evaluate_change(context.main_entries, merged_tree, context.catalog)
    findings = list(findings)
    seen = {_finding_key(finding) for finding in findings}
    for finding in against_main.findings:
        if finding.code.startswith("change.") or _finding_key(finding) in seen:
            continue
        findings.append(finding)
        seen.add(_finding_key(finding))
    return findings


def _evaluate(context: _Context, request: Request) -> None:
    """Store the request's review against current main on the request (not saved)."""
    review = review_request(context, request.head_sha)
    request.merge_base_sha = review.merge_base
    request.base_sha = review.main
    request.change_kind = review.change_kind
    request.path = review.path
    request.username = review.username
    request.old_username = review.old_username
    request.file_before = review.file_before
    request.file_after = review.file_after
    request.findings = review.findings
    findings = [Finding.from_dict(data) for data in review.findings]
    request.has_errors = any(finding.is_error for finding in findings)
    request.risks = sorted({finding.code for finding in findings if is_risk_code(finding.code)})
    request.last_evaluated_at = context.now


def _mark_merged(context: _Context, request: Request, *, commit: str) -> None:
    request.state = Request.State.MERGED
    request.superseded_by = None
    if not request.merged_commit:
        request.merged_commit = commit
    request.save(update_fields=["state", "superseded_by", "merged_commit", "updated_at"])
    context.report.merged.append(request.number)
    logger.info("Request merged number=%s commit=%s", request.number, commit)


def _mark_merged_by_content(context: _Context, changed: dict[str, str]) -> None:
    """Mark open requests merged when a commit on main brought their file to the requested content.

    Only commits since the last sync count, and only for requests seen before this
    sync, so a new request that happens to match main is not taken as merged.
    """
    if context.previous_main is None or context.previous_main == context.main:
        return
    touched = context.mirror.touched_paths(context.previous_main, context.main)
    candidates = Request.objects.filter(
        forge=context.mirror.forge, state=Request.State.OPEN, path__in=touched, opened_at__lt=context.now
    ).exclude(change_kind=ChangeKind.NONE)
    for request in candidates:
        entry = context.main_entries.get(request.path)
        if request.change_kind == ChangeKind.DELETE:
            merged = entry is None
        else:
            merged = entry is not None and _decode(entry.data) == request.file_after and request.file_after != ""
        if merged and _landed(context, request):
            commit = context.mirror.last_change(context.main, request.path) or context.main
            _mark_merged(context, request, commit=commit)


def _apply_forge_state(context: _Context, requests: dict[int, Request], pulls: dict[int, PullState]) -> None:
    report = context.report
    for number, request in requests.items():
        pull = pulls.get(number)
        if pull is None:
            continue
        request.title = pull.title[:500] or request.title
        request.author = pull.author[:200] or request.author
        request.url = pull.url[:500]
        if pull.created_at is not None:
            request.opened_at = pull.created_at
        previous = request.state
        if pull.state == "merged":
            request.state = Request.State.MERGED
            request.merged_commit = request.merged_commit or pull.merge_commit
            request.superseded_by = None
        elif pull.state == "closed" and previous not in Request.DECIDED_STATES:
            request.state = Request.State.CLOSED
        elif pull.state == "open" and previous == Request.State.CLOSED:
            request.state = Request.State.OPEN
        request.save()
        if request.state != previous:
            transitions = {
                Request.State.MERGED: report.merged,
                Request.State.CLOSED: report.closed,
                Request.State.OPEN: report.reopened,
            }
            transitions[request.state].append(number)


def _update_superseded(forge: str) -> None:
    """Point older open requests for the same workspace file at the newest open one."""
    open_requests = Request.objects.filter(forge=forge, state=Request.State.OPEN).exclude(path="")
    newest: dict[str, Request] = {}
    for request in open_requests.order_by("opened_at", "number"):
        newest[request.path] = request
    for request in open_requests:
        target = newest[request.path]
        superseded_by_id = None if target.pk == request.pk else target.pk
        if request.superseded_by_id != superseded_by_id:
            Request.objects.filter(pk=request.pk).update(superseded_by_id=superseded_by_id)
    Request.objects.filter(forge=forge, superseded_by__isnull=False).exclude(state=Request.State.OPEN).update(
        superseded_by=None
    )
