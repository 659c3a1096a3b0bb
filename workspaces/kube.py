"""The one module that talks to the Kubernetes API server.

Every call goes through ``Kube._call``, which sets a per-request timeout. It retries
what a retry can fix (timeouts, refused connections, 429, 5xx, a namespace still
terminating) with doubling delays under a cap on the total retry time, and wraps
every failure in ``workspaces.exceptions.KubeError`` with a stable code. Objects are sent with
server-side apply under one field manager, with ``force`` so that Larr1 takes
back fields someone changed by hand:
https://kubernetes.io/docs/reference/using-api/server-side-apply/#conflicts
"""

from __future__ import annotations

import functools
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import urllib3
from django.conf import settings
from kubernetes import client, config, watch
from kubernetes.client.exceptions import ApiException

from workspaces.exceptions import KubeError, KubeUnavailable, NamespaceTerminating

logger = logging.getLogger(__name__)

FIELD_MANAGER = "larr1"
APPLY_CONTENT_TYPE = "application/apply-patch+yaml"
MERGE_PATCH_CONTENT_TYPE = "application/merge-patch+json"
FIRST_RETRY_DELAY = 0.2  # seconds; doubles after each failed attempt
MAX_RETRY_DELAY = 5.0
RETRYABLE_STATUSES = {429, 500, 502, 503, 504}


@dataclass(frozen=True)
class Kind:
    api: type
    suffix: str  # the generated client's method suffix, e.g. "namespaced_deployment"
    namespaced: bool


KINDS = {
    "Namespace": Kind(client.CoreV1Api, "namespace", False),
    "ResourceQuota": Kind(client.CoreV1Api, "namespaced_resource_quota", True),
    "LimitRange": Kind(client.CoreV1Api, "namespaced_limit_range", True),
    "NetworkPolicy": Kind(client.NetworkingV1Api, "namespaced_network_policy", True),
    "Secret": Kind(client.CoreV1Api, "namespaced_secret", True),
    "PersistentVolumeClaim": Kind(client.CoreV1Api, "namespaced_persistent_volume_claim", True),
    "Deployment": Kind(client.AppsV1Api, "namespaced_deployment", True),
    "Service": Kind(client.CoreV1Api, "namespaced_service", True),
    "Ingress": Kind(client.NetworkingV1Api, "namespaced_ingress", True),
    "Pod": Kind(client.CoreV1Api, "namespaced_pod", True),
    "Event": Kind(client.CoreV1Api, "namespaced_event", True),
}


class CallCounter:
    """Counts API calls (attempts included) in this process, for the benchmark."""

    def __init__(self):
        self._lock = threading.Lock()
        self.value = 0

    def add(self) -> None:
        with self._lock:
            self.value += 1


API_CALLS = CallCounter()


@functools.cache
def _api_client(kubeconfig: str, context: str | None, in_cluster: bool) -> client.ApiClient:
    configuration = client.Configuration()
    if in_cluster:
        config.load_incluster_config(client_configuration=configuration)
    else:
        config.load_kube_config(config_file=kubeconfig, context=context, client_configuration=configuration)
    # Retries are ours (bounded, logged); urllib3 must not add hidden ones.
    configuration.retries = False
    return client.ApiClient(configuration)


def api_client() -> client.ApiClient:
    """Return this process's API client, configured from the LARR1_KUBE* settings."""
    return _api_client(str(settings.LARR1_KUBECONFIG), settings.LARR1_KUBE_CONTEXT, settings.LARR1_KUBE_IN_CLUSTER)


class Kube:
    """Kubernetes operations on whole-object dicts, with timeouts, retries and error wrapping."""

    def __init__(self, api: client.ApiClient | None = None):
        self.api = api or api_client()
        self.calls = 0

    # -- objects ---------------------------------------------------------------

    def apply(self, obj: dict) -> dict:
        """Send ``obj`` with server-side apply under Larr1's field manager; return the live object."""
        kind, name, namespace = _identify(obj)
        logger.info("Applying %s %s/%s", kind, namespace or "-", name)
        return self._object_call(
            "patch",
            kind,
            name,
            namespace,
            body=obj,
            field_manager=FIELD_MANAGER,
            force=True,
            _content_type=APPLY_CONTENT_TYPE,
        )

    def create_if_absent(self, obj: dict) -> bool:
        """Create ``obj`` unless an object of that name exists (409 is success); return True if created."""
        kind, name, namespace = _identify(obj)
        try:
            self._object_call("create", kind, None, namespace, body=obj, field_manager=FIELD_MANAGER, label=name)
        except KubeError as exc:
            if exc.status == 409:
                return False
            raise
        logger.info("Created %s %s/%s", kind, namespace or "-", name)
        return True

    def merge_patch(self, kind: str, name: str, namespace: str | None, body: dict) -> dict:
        logger.info("Patching %s %s/%s", kind, namespace or "-", name)
        return self._object_call(
            "patch",
            kind,
            name,
            namespace,
            body=body,
            field_manager=FIELD_MANAGER,
            _content_type=MERGE_PATCH_CONTENT_TYPE,
        )

    def read(self, kind: str, name: str, namespace: str | None = None) -> dict | None:
        """Return the live object, or None when it does not exist."""
        try:
            return self._object_call("read", kind, name, namespace)
        except KubeError as exc:
            if exc.status == 404:
                return None
            raise

    def delete(self, kind: str, name: str, namespace: str | None = None) -> bool:
        """Delete an object (404 is success: it is already gone); return True if this call deleted it."""
        try:
            self._object_call("delete", kind, name, namespace, propagation_policy="Foreground")
        except KubeError as exc:
            if exc.status == 404:
                return False
            raise
        logger.info("Deleted %s %s/%s", kind, namespace or "-", name)
        return True

    def list(self, kind: str, namespace: str | None = None, **query) -> list[dict]:
        """List objects of a kind in one namespace (or cluster-wide for a cluster-scoped kind)."""
        spec = KINDS[kind]
        method = getattr(spec.api(self.api), f"list_{spec.suffix}")
        if spec.namespaced:
            result = self._call(f"list {kind} in {namespace}", method, namespace, **query)
        else:
            result = self._call(f"list {kind}", method, **query)
        return result.get("items") or []

    # -- waiting ---------------------------------------------------------------

    def wait_for(
        self,
        kind: str,
        name: str,
        namespace: str,
        done: Callable[[dict], bool],
        *,
        timeout: float,
    ) -> dict | None:
        """Watch one object until ``done(obj)`` is true; return it, or None when ``timeout`` seconds pass.

        The watch starts from a fresh read, so a state reached before the watch began
        is not missed. A dropped watch is resumed from the last resource version
        until the deadline.
        """
        deadline = time.monotonic() + timeout
        current = self.read(kind, name, namespace)
        if current is not None and done(current):
            return current
        resource_version = (current or {}).get("metadata", {}).get("resourceVersion")
        spec = KINDS[kind]
        method = getattr(spec.api(self.api), f"list_{spec.suffix}")
        while (remaining := deadline - time.monotonic()) > 0:
            watcher = watch.Watch()
            API_CALLS.add()
            self.calls += 1
            query: dict[str, Any] = {
                "field_selector": f"metadata.name={name}",
                "timeout_seconds": max(1, int(remaining)),
                "_request_timeout": (settings.LARR1_KUBE_TIMEOUT, remaining + settings.LARR1_KUBE_TIMEOUT),
            }
            if resource_version:
                query["resource_version"] = resource_version
            try:
                for event in watcher.stream(method, namespace, **query):
                    obj = event["raw_object"]
                    if event["type"] == "ERROR":
                        # 410 Gone: the resource version is too old; start over from a read.
                        resource_version = None
                        break
                    resource_version = obj.get("metadata", {}).get("resourceVersion", resource_version)
                    if event["type"] != "DELETED" and done(obj):
                        return obj
                    if time.monotonic() >= deadline:
                        break
            except ApiException as exc:
                if exc.status != 410:
                    raise _wrap_api_exception(exc, f"watch {kind} {namespace}/{name}") from exc
                resource_version = None
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                logger.warning("Watch of %s %s/%s dropped, resuming: %s", kind, namespace, name, exc)
                self._pause_after_drop(deadline)
            finally:
                watcher.stop()
            if resource_version is None and time.monotonic() < deadline:
                current = self.read(kind, name, namespace)
                if current is not None and done(current):
                    return current
                resource_version = (current or {}).get("metadata", {}).get("resourceVersion")
        return None

    def _pause_after_drop(self, deadline: float) -> None:
        # A dropped watch usually means the API server is restarting; waiting a moment
        # keeps the resume from spinning while it is unreachable.
        time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))

    # -- plumbing --------------------------------------------------------------

    def _object_call(
        self, verb: str, kind: str, name: str | None, namespace: str | None, *, label: str | None = None, **kwargs
    ) -> dict:
        spec = KINDS[kind]
        method = getattr(spec.api(self.api), f"{verb}_{spec.suffix}")
        args: list[Any] = []
        if name is not None:
            args.append(name)
        if spec.namespaced:
            args.append(namespace)
        if "body" in kwargs:
            args.append(kwargs.pop("body"))
        shown = name or label
        where = f"{namespace}/{shown}" if spec.namespaced else shown
        return self._call(f"{verb} {kind} {where}", method, *args, **kwargs)

    def _call(self, description: str, method: Callable, *args, **kwargs) -> dict:
        """Call the API with a timeout; retry what a retry can fix until the retry time is spent."""
        deadline = time.monotonic() + settings.LARR1_KUBE_RETRY_SECONDS
        delay = FIRST_RETRY_DELAY
        attempt = 0
        while True:
            attempt += 1
            API_CALLS.add()
            self.calls += 1
            try:
                response = method(*args, _request_timeout=settings.LARR1_KUBE_TIMEOUT, _preload_content=False, **kwargs)
                return _decode(response)
            except ApiException as exc:
                error = _wrap_api_exception(exc, description)
                retry_after = _retry_after(exc)
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                error = KubeUnavailable(f"{description}: no answer from the API server ({type(exc).__name__})")
                error.__cause__ = exc
                retry_after = None
            wait = max(delay, retry_after or 0)
            if error.permanent:
                # The caller decides what this means (a 404 on delete is success).
                raise error
            if time.monotonic() + wait > deadline:
                logger.warning(
                    "Kubernetes call failed, giving up: %s (code %s, attempt %d)", description, error.code, attempt
                )
                raise error
            logger.warning(
                "Kubernetes call failed, retrying in %.1fs: %s (code %s, attempt %d)",
                wait,
                description,
                error.code,
                attempt,
            )
            time.sleep(wait)
            delay = min(delay * 2, MAX_RETRY_DELAY)


def _identify(obj: dict) -> tuple[str, str, str | None]:
    kind = obj["kind"]
    metadata = obj["metadata"]
    return kind, metadata["name"], metadata.get("namespace")


def _decode(response) -> dict:
    data = response.read() if hasattr(response, "read") else response.data
    if not data:
        return {}
    return json.loads(data)


def _status_body(exc: ApiException) -> dict:
    try:
        return json.loads(exc.body) if exc.body else {}
    except (TypeError, ValueError):
        return {}


def _retry_after(exc: ApiException) -> float | None:
    headers = exc.headers or {}
    value = headers.get("Retry-After") if hasattr(headers, "get") else None
    try:
        return float(value) if value else None
    except ValueError:
        return None


def _wrap_api_exception(exc: ApiException, description: str) -> KubeError:
    """Wrap an ApiException in a KubeError with a stable code and a ``permanent`` flag."""
    status = exc.status or 0
    body = _status_body(exc)
    reason = body.get("reason") or exc.reason or ""
    message = body.get("message") or ""
    text = f"{description}: HTTP {status} {reason}: {message}".strip()
    if status == 0:
        return KubeUnavailable(text, status=status, reason=reason)
    if status == 403 and "being terminated" in message:
        # Objects cannot be created in a namespace that is being deleted; it goes away
        # once its contents are gone, so waiting helps.
        return NamespaceTerminating(text, status=status, reason=reason)
    if status == 403 and "exceeded quota" in message:
        return KubeError(text, status=status, reason=reason, code="kube.quota-exceeded", permanent=True)
    if status in RETRYABLE_STATUSES:
        return KubeUnavailable(text, status=status, reason=reason)
    if status == 409 and reason == "AlreadyExists":
        return KubeError(text, status=status, reason=reason, code="kube.already-exists", permanent=True)
    codes = {
        400: ("kube.invalid", True),
        401: ("kube.unauthorized", True),
        403: ("kube.forbidden", True),
        404: ("kube.not-found", True),
        # Apply with force never conflicts; a 409 on update means someone wrote at the same time.
        409: ("kube.conflict", False),
        422: ("kube.invalid", True),
    }
    code, permanent = codes.get(status, ("kube.error", True))
    return KubeError(text, status=status, reason=reason, code=code, permanent=permanent)


# --- cluster-wide lists, for the reconcile round ---


def list_everywhere(
    kube: Kube, kind: str, *, label_selector: str | None = None, field_selector: str | None = None
) -> list[dict]:
    """List the objects of a kind in every namespace with one API call (retries aside).

    The reconcile round compares hundreds of workspaces; one list per kind keeps
    its API calls independent of their number. The list is not paginated, because
    a ``limit`` would turn it into one call per page again.
    """
    spec = KINDS[kind]
    api = spec.api(kube.api)
    if spec.namespaced:
        method = getattr(api, f"list_{spec.suffix.removeprefix('namespaced_')}_for_all_namespaces")
    else:
        method = getattr(api, f"list_{spec.suffix}")
    query = {}
    if label_selector:
        query["label_selector"] = label_selector
    if field_selector:
        query["field_selector"] = field_selector
    result = kube._call(f"list {kind} in all namespaces", method, **query)
    return result.get("items") or []
