"""Keep the cluster in line with what was approved, one round at a time.

A round lists each kind Larr1 manages once, cluster-wide, with the managed-by label
selector (never one call per workspace), so its API calls do not grow with the
number of workspaces. ``compare`` is pure: given the objects the builders make for
each workspace and the objects listed, it returns what to re-apply and which
objects nobody owns. ``run_round`` does the I/O around it: it lists, re-applies
through ``workspaces.kube`` (server-side apply), records orphans without ever
deleting them, records Kubernetes events, and writes each workspace's observed
state with a reason.
"""

from __future__ import annotations

import copy
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.dateparse import parse_datetime
from kubernetes.utils import parse_quantity

from workspaces import credentials, names, objects
from workspaces.diagnosis import diagnose, rollout_complete
from workspaces.exceptions import KubeError, ProvisioningError, WorkspaceBusy, reason_text
from workspaces.kube import Kube, list_everywhere
from workspaces.models import CredentialDelivery, Workspace
from workspaces.models_reconcile import OrphanObject, ReconcileRun, WorkspaceEvent, WorkspaceObservation

logger = logging.getLogger(__name__)

# The kinds a workspace is made of, in the order they are applied: the namespace
# first, since everything else lives in it.
MANAGED_KINDS = (
    "Namespace",
    "ResourceQuota",
    "LimitRange",
    "NetworkPolicy",
    "Secret",
    "PersistentVolumeClaim",
    "Deployment",
    "Service",
    "Ingress",
)
# Listed to read the state; pods belong to Deployments and events to the cluster,
# so neither is repaired nor reported as an orphan.
STATUS_KINDS = ("Pod", "Event")
MANAGED_SELECTOR = f"{names.MANAGED_BY_LABEL}={names.MANAGED_BY}"
# The events a workspace page keeps; older ones are pruned.
MAX_EVENTS_PER_WORKSPACE = 50


# -- the pure comparison ------------------------------------------------------


@dataclass(frozen=True, order=True)
class ObjectKey:
    kind: str
    namespace: str  # "" for a cluster-scoped object
    name: str

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace or '-'}/{self.name}"


@dataclass(frozen=True)
class Repair:
    """An object to apply again. ``fields`` lists the paths that differ; empty when the object is missing."""

    uid: str  # the workspace's uid
    key: ObjectKey
    desired: dict
    fields: tuple[str, ...] = ()

    @property
    def missing(self) -> bool:
        return not self.fields


@dataclass(frozen=True)
class Orphan:
    key: ObjectKey
    labels: dict
    reason: str  # unknown-workspace, deleted-workspace or unexpected-object


@dataclass
class Comparison:
    repairs: list[Repair] = field(default_factory=list)
    orphans: list[Orphan] = field(default_factory=list)
    # Workspaces whose namespace is being deleted: nothing can be created in it until it is gone.
    waiting: set[str] = field(default_factory=set)

    def repairs_by_workspace(self) -> dict[str, list[Repair]]:
        grouped: dict[str, list[Repair]] = defaultdict(list)
        for repair in self.repairs:
            grouped[repair.uid].append(repair)
        return grouped


def key_of(kind: str, obj: dict) -> ObjectKey:
    metadata = obj.get("metadata") or {}
    return ObjectKey(kind, metadata.get("namespace") or "", metadata.get("name") or "")


def compare(
    desired: dict[str, list[dict]],
    actual: dict[str, list[dict]],
    *,
    owners: Iterable[str] = (),
    deleted: Iterable[str] = (),
) -> Comparison:
    """Compare the objects each workspace should have with the objects listed from the cluster.

    ``desired`` maps a workspace uid to its built objects, and only these workspaces
    are checked for drift. ``actual`` maps a kind to the listed objects of that kind.
    ``owners`` are uids of further workspaces that own their objects but are not
    checked, such as removed ones in their grace period or ones a provisioning run
    is working on. ``deleted`` are uids of workspaces that are gone. Every listed object
    of a managed kind whose uid label is none of these, or that a checked workspace
    should not have, is an orphan.
    """
    result = Comparison()
    index = {key_of(kind, obj): obj for kind in MANAGED_KINDS for obj in actual.get(kind, [])}
    expected: dict[str, set[ObjectKey]] = {}

    for uid, built in desired.items():
        keys = {key_of(obj["kind"], obj) for obj in built}
        expected[uid] = keys
        namespace = next((index.get(key) for key in keys if key.kind == "Namespace"), None)
        if namespace is not None and namespace["metadata"].get("deletionTimestamp"):
            result.waiting.add(uid)
            continue
        for obj in built:
            key = key_of(obj["kind"], obj)
            live = index.get(key)
            if live is None:
                result.repairs.append(Repair(uid, key, obj))
                continue
            if live["metadata"].get("deletionTimestamp"):
                continue  # going away; a later round re-creates it
            fields = tuple(drifted_fields(obj, live))
            if fields:
                result.repairs.append(Repair(uid, key, obj, fields))

    owner_uids = set(owners)
    deleted_uids = set(deleted)
    for key in sorted(index):
        labels = index[key]["metadata"].get("labels") or {}
        uid = labels.get(names.WORKSPACE_UID_LABEL, "")
        if uid in expected:
            if key not in expected[uid]:
                result.orphans.append(Orphan(key, labels, "unexpected-object"))
        elif uid in owner_uids:
            continue
        elif uid in deleted_uids:
            result.orphans.append(Orphan(key, labels, "deleted-workspace"))
        else:
            result.orphans.append(Orphan(key, labels, "unknown-workspace"))
    return result


def drifted_fields(desired: dict, live: dict) -> list[str]:
    """List the paths where the live object differs from what Larr1 applies.

    Only fields Larr1 sets are compared, so defaults the API server fills in and
    fields other controllers own (status, annotations they add) are not drift. A
    Secret is compared by presence only: Larr1 keeps no password to compare its
    content with. A volume larger than requested is not drift, because a claim
    can only grow.
    """
    kind = desired["kind"]
    if kind == "Secret":
        return []
    differences: list[str] = []
    metadata = desired.get("metadata") or {}
    live_metadata = live.get("metadata") or {}
    for part in ("labels", "annotations"):
        if part in metadata:
            differences += _differences(metadata[part], live_metadata.get(part), f"metadata.{part}")
    for part, value in desired.items():
        if part in ("apiVersion", "kind", "metadata"):
            continue
        differences += _differences(value, live.get(part), part)
    if kind == "PersistentVolumeClaim":
        storage_path = "spec.resources.requests.storage"
        if storage_path in differences and _at_least(live, desired, ("spec", "resources", "requests", "storage")):
            differences.remove(storage_path)
    return differences


def _differences(want, have, path: str) -> list[str]:
    if isinstance(want, dict):
        if have is None and not want:
            return []
        if not isinstance(have, dict):
            return [path]
        found = []
        for key, value in want.items():
            found += _differences(value, have.get(key), f"{path}.{key}")
        return found
    if isinstance(want, list):
        if have is None and not want:
            return []
        if not isinstance(have, list) or len(have) != len(want):
            return [path]
        found = []
        for position, (wanted, live) in enumerate(zip(want, have, strict=True)):
            found += _differences(wanted, live, f"{path}[{position}]")
        return found
    if want == have or _same_quantity(want, have):
        return []
    return [path]


def _same_quantity(want, have) -> bool:
    # The API server may write a quantity in another form ("1024Mi" for "1Gi").
    if not (isinstance(want, str) and isinstance(have, str)):
        return False
    try:
        return parse_quantity(want) == parse_quantity(have)
    except ValueError:
        return False


def _at_least(live: dict, desired: dict, path: tuple[str, ...]) -> bool:
    def dig(obj):
        for part in path:
            obj = (obj or {}).get(part)
        return obj

    try:
        return parse_quantity(dig(live)) >= parse_quantity(dig(desired))
    except (TypeError, ValueError):
        return False


# -- the observed state (pure) ------------------------------------------------


@dataclass(frozen=True)
class Observation:
    state: str  # a Workspace.ObservedState value
    code: str  # a reason code for reason_text, "" when running
    detail: str = ""


def observe(desired_state: str, namespace: dict | None, deployment: dict | None, pods: list[dict]) -> Observation:
    """Read a workspace's state from its live namespace, Deployment and pods."""
    State = Workspace.ObservedState
    terminating = bool(namespace and namespace["metadata"].get("deletionTimestamp"))
    if desired_state != Workspace.DesiredState.ACTIVE:
        if namespace is None or terminating:
            return Observation(State.DELETING, "workspace.deleting")
        return Observation(State.STOPPED, "workspace.removed")
    if terminating:
        return Observation(State.PENDING, "workspace.namespace-deleting")
    if namespace is None or deployment is None:
        return Observation(State.PENDING, "workspace.recreating")
    if deployment.get("spec", {}).get("replicas", 1) == 0:
        return Observation(State.STOPPED, "workspace.scaled-down")
    if rollout_complete(deployment):
        return Observation(State.RUNNING, "")
    found = diagnose(deployment, pods)
    if found.state == State.PENDING:
        return Observation(State.PENDING, "workspace.starting", found.detail)
    return Observation(found.state, found.code, found.detail)


# -- one round ----------------------------------------------------------------


@dataclass
class Listing:
    """Everything a round listed, by kind."""

    objects: dict[str, list[dict]]
    calls: int

    def by_namespace(self, kind: str) -> dict[str, list[dict]]:
        grouped: dict[str, list[dict]] = defaultdict(list)
        for obj in self.objects.get(kind, []):
            grouped[obj["metadata"].get("namespace", "")].append(obj)
        return grouped


def list_cluster(kube: Kube) -> Listing:
    """List every managed kind and the pods and events, one call per kind."""
    before = kube.calls
    listed = {kind: list_everywhere(kube, kind, label_selector=MANAGED_SELECTOR) for kind in MANAGED_KINDS}
    listed["Pod"] = list_everywhere(kube, "Pod", label_selector=MANAGED_SELECTOR)
    # Events carry no labels, so the round lists all of them and keeps those in
    # workspace namespaces.
    # NOTE: the API server keeps events for an hour by default (--event-ttl). On a
    # cluster with heavy event traffic, a watch would be cheaper than this list.
    listed["Event"] = list_everywhere(kube, "Event")
    return Listing(listed, kube.calls - before)


def desired_objects(workspace: Workspace) -> list[dict]:
    """Build the objects the workspace's last finished provisioning run applied.

    The applied specification is enforced, not the newest approved one: a change
    waiting for its provisioning run is that run's work. The Secret is built with
    an empty hash because only its presence is compared.
    """
    from workspaces.provisioning import target_for

    target = target_for(_applied(workspace))
    return [
        objects.namespace(target),
        objects.resource_quota(target),
        objects.limit_range(target),
        *objects.network_policies(target),
        objects.credentials_secret(target, ""),
        objects.persistent_volume_claim(target),
        objects.deployment(target),
        objects.service(target),
        objects.ingress(target),
    ]


def run_round(kube: Kube | None = None) -> ReconcileRun:
    """Run one reconcile round and return its record. The caller makes sure rounds do not overlap."""
    kube = kube or Kube()
    run = ReconcileRun.objects.create()
    calls_before = kube.calls
    try:
        _round(kube, run)
    except KubeError as exc:
        run.state = ReconcileRun.State.FAILED
        run.error_code = exc.code
        run.error_message = str(exc)[:4000]
        logger.warning("Reconcile round %s failed: %s (code %s)", run.pk, exc, exc.code)
    else:
        run.state = ReconcileRun.State.SUCCEEDED
    run.finished_at = timezone.now()
    run.api_calls = kube.calls - calls_before
    run.save()
    logger.info(
        "Reconcile round %s: %s workspaces, %s repairs, %s orphans, %s API calls, %.2fs",
        run.pk,
        run.workspaces,
        len(run.repairs),
        run.orphans,
        run.api_calls,
        run.duration or 0.0,
    )
    return run


def _round(kube: Kube, run: ReconcileRun) -> None:
    listing = list_cluster(kube)
    now = timezone.now()
    rows = list(Workspace.objects.exclude(desired_state=Workspace.DesiredState.DELETED))
    deleted = set(Workspace.objects.filter(desired_state=Workspace.DesiredState.DELETED).values_list("uid", flat=True))

    # 1. Decide which workspaces to check: active, provisioned at least once, and not
    #    held by a provisioning worker (its run applies the objects itself).
    checked: dict[str, Workspace] = {}
    desired: dict[str, list[dict]] = {}
    for workspace in rows:
        busy = workspace.locked_until is not None and workspace.locked_until > now
        if workspace.desired_state != Workspace.DesiredState.ACTIVE or workspace.applied_spec is None or busy:
            continue
        try:
            desired[workspace.uid] = desired_objects(workspace)
        except ProvisioningError as exc:
            logger.warning("Workspace %s cannot be built: %s (code %s)", workspace.username, exc, exc.code)
            continue
        checked[workspace.uid] = workspace
    owners = {workspace.uid for workspace in rows} - set(checked)
    comparison = compare(desired, listing.objects, owners=owners, deleted=deleted)
    run.workspaces = len(checked)

    # 2. Repair, workspace by workspace, under each workspace's lock.
    for uid, repairs in comparison.repairs_by_workspace().items():
        run.repairs += _repair(kube, checked[uid], repairs)

    # 3. Record what nobody owns, the events, and every workspace's state.
    run.orphans = _record_orphans(comparison.orphans, now)
    by_namespace = {workspace.namespace: workspace for workspace in rows if workspace.namespace}
    _record_events(listing.objects["Event"], by_namespace)
    _record_states(rows, listing, now)


def _repair(kube: Kube, workspace: Workspace, repairs: list[Repair]) -> list[dict]:
    from workspaces.provisioning import target_for, workspace_lock

    done = []
    secret_restored = False
    try:
        with workspace_lock(workspace):
            for repair in sorted(repairs, key=lambda item: MANAGED_KINDS.index(item.key.kind)):
                entry = {
                    "workspace": workspace.username,
                    "kind": repair.key.kind,
                    "namespace": repair.key.namespace,
                    "name": repair.key.name,
                    "fields": list(repair.fields),
                }
                try:
                    if repair.key.kind == "Secret":
                        kube.create_if_absent(credentials.locked_secret(target_for(_applied(workspace))))
                        secret_restored = True
                    else:
                        kube.apply(repair.desired)
                except KubeError as exc:
                    entry["error"] = exc.code
                    logger.warning("Repairing %s of workspace %s failed: %s", repair.key, workspace.username, exc)
                else:
                    logger.info(
                        "Repaired %s of workspace %s (%s)",
                        repair.key,
                        workspace.username,
                        ", ".join(repair.fields) or "missing",
                    )
                    WorkspaceEvent.objects.create(
                        workspace=workspace,
                        source=WorkspaceEvent.Source.RECONCILE,
                        type=WorkspaceEvent.Type.WARNING,
                        reason="Recreated" if repair.missing else "Reapplied",
                        object=f"{repair.key.kind}/{repair.key.name}",
                        message=", ".join(repair.fields),
                    )
                done.append(entry)
    except WorkspaceBusy:
        logger.info("Workspace %s is held by a provisioning worker; repairing it next round", workspace.username)
    if secret_restored:
        # Requested once the lock is released, so the rotation's worker can take it.
        _request_credentials(workspace)
    return done


def _applied(workspace: Workspace) -> Workspace:
    applied = copy.copy(workspace)
    applied.spec = workspace.applied_spec
    return applied


def _request_credentials(workspace: Workspace) -> None:
    """Send the owner a new password after the credentials Secret was put back.

    The old password is gone with the Secret (the cluster kept only its hash), and
    the Secret put back holds the hash of a password nobody knows.
    """
    waiting = CredentialDelivery.objects.filter(workspace=workspace).exclude(state=CredentialDelivery.State.SENT)
    if waiting.exists():
        return
    from workspaces.provisioning import request_new_credentials

    with transaction.atomic():
        request_new_credentials(workspace)
    logger.info("Credentials Secret of workspace %s was missing; new credentials requested", workspace.username)


def _record_orphans(orphans: list[Orphan], now) -> int:
    seen = set()
    for orphan in orphans:
        key = orphan.key
        seen.add((key.kind, key.namespace, key.name))
        record, created = OrphanObject.objects.update_or_create(
            kind=key.kind,
            namespace=key.namespace,
            name=key.name,
            defaults={"labels": orphan.labels, "reason": orphan.reason, "last_seen_at": now, "gone_at": None},
            create_defaults={
                "labels": orphan.labels,
                "reason": orphan.reason,
                "first_seen_at": now,
                "last_seen_at": now,
            },
        )
        if created:
            logger.warning("Found %s labelled as Larr1's that no workspace owns (%s)", key, orphan.reason)
    for record in OrphanObject.objects.filter(gone_at__isnull=True):
        if (record.kind, record.namespace, record.name) not in seen:
            record.gone_at = now
            record.save(update_fields=["gone_at"])
    return len(orphans)


def _record_events(events: list[dict], by_namespace: dict[str, Workspace]) -> None:
    """Store the Kubernetes events of workspace namespaces, once per event (its count updated)."""
    relevant = [event for event in events if event.get("metadata", {}).get("namespace") in by_namespace]
    if not relevant:
        return
    workspace_ids = {workspace.pk for workspace in by_namespace.values()}
    known = {
        (row.workspace_id, row.event_uid): row
        for row in WorkspaceEvent.objects.filter(workspace_id__in=workspace_ids).exclude(event_uid="")
    }
    new, changed, touched = [], [], set()
    for event in relevant:
        metadata = event["metadata"]
        workspace = by_namespace[metadata["namespace"]]
        involved = event.get("involvedObject") or {}
        at = _event_time(event)
        count = event.get("count") or (event.get("series") or {}).get("count") or 1
        row = known.get((workspace.pk, metadata.get("uid", "")))
        if row is None:
            new.append(
                WorkspaceEvent(
                    workspace=workspace,
                    source=WorkspaceEvent.Source.KUBERNETES,
                    event_uid=metadata.get("uid", ""),
                    at=at,
                    type=event.get("type") or WorkspaceEvent.Type.NORMAL,
                    reason=(event.get("reason") or "")[:128],
                    object=f"{involved.get('kind', '')}/{involved.get('name', '')}"[:300],
                    message=event.get("message") or "",
                    count=count,
                )
            )
            touched.add(workspace.pk)
        elif row.count != count or row.at != at:
            row.count, row.at, row.message = count, at, event.get("message") or ""
            changed.append(row)
    WorkspaceEvent.objects.bulk_create(new, ignore_conflicts=True)
    WorkspaceEvent.objects.bulk_update(changed, ["count", "at", "message"])
    for workspace_id in touched:
        stale = WorkspaceEvent.objects.filter(workspace_id=workspace_id).values_list("pk", flat=True)[
            MAX_EVENTS_PER_WORKSPACE:
        ]
        WorkspaceEvent.objects.filter(pk__in=list(stale)).delete()


def _event_time(event: dict):
    series = event.get("series") or {}
    for value in (
        event.get("lastTimestamp"),
        series.get("lastObservedTime"),
        event.get("eventTime"),
        event.get("firstTimestamp"),
        event.get("metadata", {}).get("creationTimestamp"),
    ):
        if value:
            parsed = parse_datetime(value)
            if parsed is not None:
                return parsed
    return timezone.now()


def _record_states(rows: list[Workspace], listing: Listing, now) -> None:
    namespaces = {obj["metadata"]["name"]: obj for obj in listing.objects["Namespace"]}
    deployments = {
        obj["metadata"].get("namespace"): obj
        for obj in listing.objects["Deployment"]
        if obj["metadata"].get("name") == names.DEPLOYMENT
    }
    pods = listing.by_namespace("Pod")
    for workspace in rows:
        deployment = deployments.get(workspace.namespace)
        if workspace.applied_spec is None and deployment is None:
            continue  # never provisioned: its provisioning run reports the state
        found = observe(
            workspace.desired_state,
            namespaces.get(workspace.namespace),
            deployment,
            pods.get(workspace.namespace, []),
        )
        _save_observation(workspace, found, now)


def _save_observation(workspace: Workspace, found: Observation, now) -> None:
    with translation.override("en"):
        reason = reason_text(found.code, found.detail)
    # A provisioning worker holding the workspace reports its state itself.
    updated = (
        Workspace.objects.filter(pk=workspace.pk)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .update(observed_state=found.state, state_reason=reason, observed_at=now)
    )
    if not updated:
        return
    if workspace.observed_state != found.state:
        logger.info(
            "Workspace %s is %s (was %s): %s", workspace.username, found.state, workspace.observed_state, reason
        )
    WorkspaceObservation.objects.update_or_create(
        workspace=workspace, defaults={"reason_code": found.code, "detail": found.detail, "observed_at": now}
    )
