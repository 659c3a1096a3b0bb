"""Turn approved workspace files into running workspaces, step by recorded step.

Each entry point (``provision``, ``deliver_credentials``, ``stop``, ``purge_expired``)
first takes the workspace's lock: a conditional update that succeeds for one worker
only and lapses after a lease, so a worker that dies blocks the workspace for at
most the lease. Every Kubernetes write is idempotent (server-side apply, create
that accepts 409, delete that accepts 404), so running a step again after a crash
is safe. What must happen once (the first credentials email) is guarded by a
unique constraint and conditional updates on the delivery's state.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone, translation

from approvals.models import AuditEvent
from larr1.catalog import get_catalog
from workspaces import credentials, names, objects
from workspaces.contract.quantities import parse_bytes
from workspaces.diagnosis import Diagnosis, diagnose, rollout_complete
from workspaces.exceptions import MESSAGES, ProvisioningError, WorkspaceBusy, WorkspaceNotReady, reason_text
from workspaces.kube import Kube
from workspaces.models import CredentialDelivery, ProvisioningRun, ProvisioningStep, Workspace
from workspaces.models_reconcile import WorkspaceObservation

logger = logging.getLogger(__name__)

# Called with each step right after it is recorded as done. Tests use it to stop a
# worker between two steps; nothing else may register here.
step_done_hooks: list[Callable[[ProvisioningStep], None]] = []


# -- following the approved state ---------------------------------------------


def follow_approved_state(usernames: set[str]) -> None:
    """Bring Workspace rows in line with the approved files on main, and enqueue the work.

    Connected to ``approvals.signals.approved_state_changed``. A valid file creates or
    updates the workspace; a removed file starts its deletion; an invalid file leaves
    the running workspace as it is.
    """
    from approvals.models import ApprovedFile

    for username in sorted(usernames):
        approved = (
            ApprovedFile.objects.filter(username=username, removed_at__isnull=True)
            .order_by("-updated_at", "-pk")
            .first()
        )
        if approved is None:
            _start_deletion(username)
        elif approved.valid and approved.spec:
            _want(username, approved.spec)
        else:
            logger.info("Approved file of workspace %s is invalid; leaving the workspace as it is", username)


def _want(username: str, spec: dict) -> Workspace:
    from workspaces import tasks

    with transaction.atomic():
        workspace = Workspace.objects.select_for_update().filter(username=username, desired_state="active").first()
        if workspace is None:
            try:
                with transaction.atomic():
                    workspace = Workspace.objects.create(username=username, spec=spec)
            except IntegrityError:
                # Another sync created it at the same moment; follow that one.
                workspace = Workspace.objects.select_for_update().get(username=username, desired_state="active")
            logger.info("Workspace %s approved (uid %s)", username, workspace.uid)
        elif workspace.spec != spec:
            workspace.spec = spec
            workspace.save(update_fields=["spec", "updated_at"])
            logger.info("Workspace %s changed", username)
        elif workspace.applied_spec == spec and workspace.observed_state == Workspace.ObservedState.RUNNING:
            return workspace
        workspace_id = workspace.pk
        transaction.on_commit(lambda: tasks.provision_workspace.delay(workspace_id))
    return workspace


def _start_deletion(username: str) -> None:
    from workspaces import tasks

    grace = timedelta(seconds=settings.LARR1_DELETE_GRACE_SECONDS)
    with transaction.atomic():
        workspace = Workspace.objects.select_for_update().filter(username=username, desired_state="active").first()
        if workspace is None:
            return
        workspace.desired_state = Workspace.DesiredState.DELETING
        workspace.delete_after = timezone.now() + grace
        workspace.save(update_fields=["desired_state", "delete_after", "updated_at"])
        workspace_id = workspace.pk
        transaction.on_commit(lambda: tasks.stop_workspace.delay(workspace_id))
    logger.info("Workspace %s removed from main; stopping it, volume kept until %s", username, workspace.delete_after)


def request_new_credentials(workspace: Workspace, requested_by=None) -> CredentialDelivery:
    """Create a rotation delivery and send it once the transaction commits ("send new credentials")."""
    from workspaces import tasks

    delivery = CredentialDelivery.objects.create(
        workspace=workspace, reason=CredentialDelivery.Reason.ROTATION, requested_by=requested_by
    )
    transaction.on_commit(lambda: tasks.send_credentials.delay(delivery.pk))
    return delivery


# Codes of a workspace whose pods wait for something outside Larr1: room on a node, an image, a fix.
STUCK_CODES = {
    "workspace.unschedulable",
    "workspace.unschedulable-gpu",
    "workspace.image-pull-failure",
    "workspace.crash-loop",
}


# -- locking and step records -------------------------------------------------


@contextmanager
def workspace_lock(workspace: Workspace) -> Iterator[Lease]:
    """Lock the workspace for this worker, or raise WorkspaceBusy if another worker has the lock."""
    lease = Lease(workspace.pk, uuid.uuid4().hex)
    now = timezone.now()
    taken = (
        Workspace.objects.filter(pk=workspace.pk)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .update(lock_token=lease.token, locked_until=now + lease.duration())
    )
    if taken != 1:
        locked_until = Workspace.objects.filter(pk=workspace.pk).values_list("locked_until", flat=True).first()
        retry_in = max(1.0, (locked_until - now).total_seconds() + 1) if locked_until else 1.0
        raise WorkspaceBusy(f"Workspace {workspace.username} is held by another worker.", retry_in=retry_in)
    try:
        yield lease
    finally:
        Workspace.objects.filter(pk=workspace.pk, lock_token=lease.token).update(lock_token="", locked_until=None)


@dataclass
class Lease:
    workspace_id: int
    token: str

    @staticmethod
    def duration(extra_seconds: float = 0) -> timedelta:
        return timedelta(seconds=settings.LARR1_PROVISIONING_LEASE_SECONDS + extra_seconds)

    def renew(self, extra_seconds: float = 0) -> None:
        """Extend the lease for the next step; raise if another worker took the workspace meanwhile."""
        renewed = Workspace.objects.filter(pk=self.workspace_id, lock_token=self.token).update(
            locked_until=timezone.now() + self.duration(extra_seconds)
        )
        if renewed != 1:
            raise ProvisioningError("The lease on the workspace ran out.", code="workspace.lock-lost", permanent=True)


@dataclass
class RunRecorder:
    """The run row and its step rows, written as the work happens so the dashboard can follow."""

    run: ProvisioningRun
    lease: Lease
    position: int = 0
    password: str | None = field(default=None, repr=False)

    @classmethod
    def start(cls, workspace: Workspace, kind: str, lease: Lease) -> RunRecorder:
        # Runs left "running" belong to a worker that died: its lease has lapsed or we
        # would not hold the lock.
        abandoned = ProvisioningRun.objects.filter(workspace=workspace, state=ProvisioningRun.State.RUNNING)
        ProvisioningStep.objects.filter(run__in=abandoned, state=ProvisioningStep.State.RUNNING).update(
            state=ProvisioningStep.State.FAILED,
            finished_at=timezone.now(),
            code="step.worker-stopped",
            message=str(MESSAGES["step.worker-stopped"]),
        )
        abandoned.update(state=ProvisioningRun.State.ABANDONED, finished_at=timezone.now())
        run = ProvisioningRun.objects.create(workspace=workspace, kind=kind)
        return cls(run=run, lease=lease)

    @contextmanager
    def step(self, name: str, *, extra_lease_seconds: float = 0) -> Iterator[ProvisioningStep]:
        self.lease.renew(extra_lease_seconds)
        self.position += 1
        step = ProvisioningStep.objects.create(
            run=self.run,
            position=self.position,
            name=name,
            state=ProvisioningStep.State.RUNNING,
            started_at=timezone.now(),
        )
        try:
            yield step
        except ProvisioningError as exc:
            step.state = ProvisioningStep.State.FAILED
            step.finished_at = timezone.now()
            if not step.message:
                _note(step, _described_code(exc))
            step.save(update_fields=["state", "finished_at", "message", "code", "detail"])
            raise
        step.state = ProvisioningStep.State.DONE
        step.finished_at = timezone.now()
        step.save(update_fields=["state", "finished_at", "message", "code", "detail"])
        for hook in step_done_hooks:
            hook(step)

    def finish(self, error: ProvisioningError | None = None) -> None:
        run = self.run
        run.finished_at = timezone.now()
        if error is None:
            run.state = ProvisioningRun.State.SUCCEEDED
        else:
            run.state = ProvisioningRun.State.FAILED
            run.error_code = error.code
            run.error_message = str(error)[:4000]
        run.save(update_fields=["state", "finished_at", "error_code", "error_message"])


def _observe(workspace: Workspace, state: str, code: str = "", detail: str = "") -> None:
    """Record the workspace's state, with its reason as a code (pages translate it) and as English (for logs)."""
    now = timezone.now()
    with translation.override("en"):
        reason = reason_text(code, detail)
    Workspace.objects.filter(pk=workspace.pk).update(observed_state=state, state_reason=reason, observed_at=now)
    WorkspaceObservation.objects.update_or_create(
        workspace=workspace, defaults={"reason_code": code, "detail": detail, "observed_at": now}
    )


def _described_code(exc: ProvisioningError) -> str:
    """Return the error's code if pages can describe it, else the generic provisioning failure."""
    return exc.code if exc.code in MESSAGES else "provisioning.failed"


def _note(step: ProvisioningStep, code: str, detail: str = "") -> None:
    """Put a note on a step: a code for pages to translate, and the English sentence for logs."""
    step.code, step.detail = code, detail
    with translation.override("en"):
        step.message = reason_text(code, detail)


def target_for(workspace: Workspace) -> objects.WorkspaceTarget:
    """Build the builders' input from the approved spec and the catalog; storage never shrinks."""
    catalog = get_catalog()
    spec = workspace.spec or {}
    try:
        profile = catalog.profiles[spec["profile"]]
        cuda = catalog.cuda_versions[spec["cuda"]]
    except KeyError as exc:
        raise ProvisioningError(
            f"Workspace {workspace.username}: spec names no {exc.args[0]} the catalog offers.",
            code="workspace.invalid-spec",
            permanent=True,
        ) from None
    storage = spec.get("storage") or catalog.storage.default
    applied = (workspace.applied_spec or {}).get("storage")
    if applied and parse_bytes(applied) > parse_bytes(storage):
        # The contract rejects a smaller size; a PVC cannot shrink anyway.
        logger.warning("Workspace %s asks for less storage than it has; keeping %s", workspace.username, applied)
        storage = applied
    return objects.WorkspaceTarget(
        username=workspace.username, uid=workspace.uid, profile=profile, cuda=cuda, storage=storage, catalog=catalog
    )


# -- provisioning ---------------------------------------------------------------


def provision(workspace_id: int) -> None:
    """Apply every object of the workspace, wait until it is ready, then send the first credentials once.

    Raises WorkspaceBusy when another worker has the lock and ProvisioningError
    when a step fails (the run records it); returns quietly when the row is gone or no
    longer wanted.
    """
    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is None or workspace.desired_state != Workspace.DesiredState.ACTIVE:
        return
    with workspace_lock(workspace) as lease:
        workspace.refresh_from_db()
        kind = ProvisioningRun.Kind.CREATE if workspace.applied_spec is None else ProvisioningRun.Kind.UPDATE
        recorder = RunRecorder.start(workspace, kind, lease)
        kube = Kube()
        try:
            _provision_steps(workspace, recorder, kube)
        except ProvisioningError as exc:
            recorder.finish(exc)
            # A workspace that is not ready has its state from its pods already.
            if not isinstance(exc, WorkspaceNotReady):
                _observe(workspace, Workspace.ObservedState.FAILED, _described_code(exc))
            logger.warning("Provisioning workspace %s failed: %s (code %s)", workspace.username, exc, exc.code)
            raise
        recorder.finish()
    logger.info("Workspace %s is running at %s", workspace.username, workspace.url)


def _provision_steps(workspace: Workspace, recorder: RunRecorder, kube: Kube) -> None:
    target = target_for(workspace)
    catalog = target.catalog
    _observe(workspace, Workspace.ObservedState.PROVISIONING)
    Workspace.objects.filter(pk=workspace.pk).update(
        namespace=target.namespace, url=names.workspace_url(workspace.username, catalog.domain)
    )
    workspace.refresh_from_db()

    with recorder.step("apply-namespace"):
        kube.apply(objects.namespace(target))
    with recorder.step("apply-resource-quota"):
        kube.apply(objects.resource_quota(target))
    with recorder.step("apply-limit-range"):
        kube.apply(objects.limit_range(target))
    with recorder.step("apply-network-policies"):
        for policy in objects.network_policies(target):
            kube.apply(policy)
    with recorder.step("prepare-credentials") as step:
        delivery = _first_delivery(workspace)
        if delivery.state == CredentialDelivery.State.SENT:
            kube.create_if_absent(credentials.locked_secret(target))
            _note(step, "step.credentials-already-sent")
        else:
            recorder.password = credentials.set_password(kube, target, delivery)
    with recorder.step("apply-volume"):
        kube.apply(objects.persistent_volume_claim(target))
    with recorder.step("apply-deployment"):
        kube.apply(objects.deployment(target))
    with recorder.step("apply-service"):
        kube.apply(objects.service(target))
    with recorder.step("apply-ingress"):
        kube.apply(objects.ingress(target))
    with recorder.step("wait-until-ready", extra_lease_seconds=settings.LARR1_READY_TIMEOUT) as step:
        _wait_until_ready(kube, workspace, target, step)
    Workspace.objects.filter(pk=workspace.pk).update(applied_spec=workspace.spec)
    _observe(workspace, Workspace.ObservedState.RUNNING)
    # Recorded when the workspace is ready, so the audit log lists it before the credentials email.
    AuditEvent.objects.create(
        action=AuditEvent.Action.PROVISIONED,
        username=workspace.username,
        details={"run": recorder.run.pk, "kind": recorder.run.kind, "namespace": target.namespace},
    )
    with recorder.step("send-credentials") as step:
        if recorder.password is None:
            _note(step, "step.credentials-already-sent")
        else:
            workspace.refresh_from_db()
            credentials.send_password(workspace, delivery, recorder.password)
            recorder.password = None


def _first_delivery(workspace: Workspace) -> CredentialDelivery:
    """Return the workspace's one first-credentials delivery, creating it if needed."""
    try:
        with transaction.atomic():
            delivery, _ = CredentialDelivery.objects.get_or_create(
                workspace=workspace, reason=CredentialDelivery.Reason.FIRST
            )
    except IntegrityError:
        delivery = CredentialDelivery.objects.get(workspace=workspace, reason=CredentialDelivery.Reason.FIRST)
    return delivery


def _wait_until_ready(
    kube: Kube, workspace: Workspace, target: objects.WorkspaceTarget, step: ProvisioningStep
) -> None:
    """Watch the Deployment until it is available, and note on the step why it is not as soon as the pods show it."""
    timeout = settings.LARR1_READY_TIMEOUT
    deadline = time.monotonic() + timeout
    shown = None
    stuck_since = None
    stuck_limit = settings.LARR1_READY_STUCK_SECONDS
    if _was_stuck_before(workspace, step.run_id):
        # A retry only looks whether the problem went away; the task's growing delays do the waiting.
        stuck_limit = settings.LARR1_READY_CHECK_INTERVAL
    while (remaining := deadline - time.monotonic()) > 0:
        interval = min(remaining, settings.LARR1_READY_CHECK_INTERVAL)
        if kube.wait_for("Deployment", names.DEPLOYMENT, target.namespace, rollout_complete, timeout=interval):
            if shown is not None:
                _note(step, "")
            return
        found = _diagnose_workspace(kube, target)
        problem = None if found.state == Workspace.ObservedState.PENDING else found
        if problem is None:
            stuck_since = None
        elif stuck_since is None:
            stuck_since = time.monotonic()
        elif time.monotonic() - stuck_since >= stuck_limit:
            # Free the worker for other workspaces; the task's retry looks again later.
            logger.info("Workspace %s is stuck (%s); the run stops waiting", workspace.username, problem.code)
            break
        if problem != shown:
            # Still waiting: the scheduler may find room or the registry may come back.
            shown = problem
            _note(step, problem.code if problem else "", problem.detail if problem else "")
            step.save(update_fields=["message", "code", "detail"])
            if problem:
                _observe(workspace, problem.state, problem.code, problem.detail)
            else:
                _observe(workspace, Workspace.ObservedState.PROVISIONING)
    found = _diagnose_workspace(kube, target)
    _note(step, found.code, found.detail)
    _observe(workspace, found.state, found.code, found.detail)
    raise WorkspaceNotReady(
        f"Workspace {workspace.username} is not ready: {found.detail or found.code}", code=found.code
    )


def _was_stuck_before(workspace: Workspace, current_run_id: int) -> bool:
    previous = workspace.runs.exclude(pk=current_run_id).order_by("-started_at", "-pk").first()
    return previous is not None and previous.error_code in STUCK_CODES


def _diagnose_workspace(kube: Kube, target: objects.WorkspaceTarget) -> Diagnosis:
    deployment = kube.read("Deployment", names.DEPLOYMENT, target.namespace)
    selector = names.label_selector(names.selector(target.username, target.uid))
    return diagnose(deployment, kube.list("Pod", target.namespace, label_selector=selector))


# -- credentials, stopping, purging ---------------------------------------------


def deliver_credentials(delivery_id: int) -> None:
    """Set a new password for the delivery and email it, once; used for rotations and retries."""
    delivery = CredentialDelivery.objects.select_related("workspace").filter(pk=delivery_id).first()
    if delivery is None or delivery.state == CredentialDelivery.State.SENT:
        return
    workspace = delivery.workspace
    if workspace.desired_state != Workspace.DesiredState.ACTIVE:
        return
    with workspace_lock(workspace) as lease:
        delivery.refresh_from_db()
        if delivery.state == CredentialDelivery.State.SENT:
            return
        workspace.refresh_from_db()
        recorder = RunRecorder.start(workspace, ProvisioningRun.Kind.ROTATE, lease)
        kube = Kube()
        target = target_for(workspace)
        try:
            with recorder.step("set-password"):
                recorder.password = credentials.set_password(kube, target, delivery)
            with recorder.step("wait-until-ready", extra_lease_seconds=settings.LARR1_READY_TIMEOUT) as step:
                # The pod restarts to load the new hash. Sending after it is ready means the
                # password works when the email arrives; the email goes out either way.
                ready = kube.wait_for(
                    "Deployment",
                    names.DEPLOYMENT,
                    target.namespace,
                    rollout_complete,
                    timeout=settings.LARR1_READY_TIMEOUT,
                )
                if ready is None:
                    _note(step, "workspace.not-ready")
            with recorder.step("send-credentials"):
                credentials.send_password(workspace, delivery, recorder.password)
        except ProvisioningError as exc:
            recorder.finish(exc)
            raise
        recorder.finish()


def stop(workspace_id: int) -> None:
    """Scale a removed workspace to zero; its namespace and volume stay until the grace period ends."""
    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is None or workspace.desired_state != Workspace.DesiredState.DELETING:
        return
    with workspace_lock(workspace) as lease:
        recorder = RunRecorder.start(workspace, ProvisioningRun.Kind.DELETE, lease)
        kube = Kube()
        try:
            with recorder.step("stop-workspace") as step:
                live = kube.read("Deployment", names.DEPLOYMENT, workspace.namespace)
                if live is None:
                    _note(step, "step.no-deployment")
                else:
                    target = target_for(workspace)
                    kube.apply(objects.deployment(target, replicas=0))
            if live is not None:
                with recorder.step("wait-until-stopped", extra_lease_seconds=settings.LARR1_READY_TIMEOUT):
                    kube.wait_for(
                        "Deployment",
                        names.DEPLOYMENT,
                        workspace.namespace,
                        rollout_complete,
                        timeout=settings.LARR1_READY_TIMEOUT,
                    )
        except ProvisioningError as exc:
            recorder.finish(exc)
            raise
        recorder.finish()
    _observe(workspace, Workspace.ObservedState.STOPPED, "workspace.kept-until", workspace.kept_until_text())


def purge_expired() -> list[str]:
    """Delete the namespaces of removed workspaces whose grace period is over; return their usernames.

    Namespace deletion runs in the background in Kubernetes; a workspace is marked
    deleted once a later run finds its namespace gone.
    """
    purged = []
    now = timezone.now()
    due = Workspace.objects.filter(
        Q(desired_state=Workspace.DesiredState.DELETING, delete_after__lte=now)
        | Q(desired_state=Workspace.DesiredState.DELETED, observed_state=Workspace.ObservedState.DELETING)
    )
    kube = Kube()
    for workspace in due:
        try:
            with workspace_lock(workspace):
                if workspace.desired_state == Workspace.DesiredState.DELETING:
                    kube.delete("Namespace", workspace.namespace)
                    Workspace.objects.filter(pk=workspace.pk).update(desired_state=Workspace.DesiredState.DELETED)
                    _observe(workspace, Workspace.ObservedState.DELETING)
                    logger.info("Deleting namespace %s of workspace %s", workspace.namespace, workspace.username)
                if kube.read("Namespace", workspace.namespace) is None:
                    _observe(workspace, Workspace.ObservedState.DELETED)
                    purged.append(workspace.username)
        except WorkspaceBusy:
            continue
    return purged
