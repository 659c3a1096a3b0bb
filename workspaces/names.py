"""Every Kubernetes name and label Larr1 derives from a workspace.

A workspace is a username plus a uid: a short random id drawn when the workspace
is created and never reused. The namespace carries both, so a workspace created
again under the same username gets a new namespace and never sees the volume of
the old one, which may still be waiting out its grace period. Objects inside the
namespace have fixed names because the namespace already belongs to one workspace.
"""

from __future__ import annotations

import re
import secrets
import string

LABEL_DOMAIN = "larr1.io"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "larr1"
WORKSPACE_LABEL = f"{LABEL_DOMAIN}/workspace"
WORKSPACE_UID_LABEL = f"{LABEL_DOMAIN}/workspace-uid"
COMPONENT_LABEL = "app.kubernetes.io/component"
# Pod-template annotation with the id of the credentials delivery whose password
# hash the pod must load: changing it restarts the pod with the new password.
CREDENTIALS_ANNOTATION = f"{LABEL_DOMAIN}/credentials-delivery"

NAMESPACE_PREFIX = "ws-"
UID_LENGTH = 6
# Lowercase letters and digits keep the uid valid inside a DNS label.
UID_ALPHABET = string.ascii_lowercase + string.digits
MAX_DNS_LABEL = 63

DEPLOYMENT = "workspace"
SERVICE = "workspace"
INGRESS = "workspace"
CONTAINER = "code-server"
PVC = "home"
CREDENTIALS_SECRET = "workspace-credentials"
TLS_SECRET = "workspace-tls"
QUOTA = "workspace"
LIMIT_RANGE = "workspace"
POLICY_DENY_INGRESS = "deny-ingress"
POLICY_ALLOW_INGRESS = "allow-ingress-controller"
POLICY_ALLOW_ACME_SOLVER = "allow-acme-http01-solver"
POLICY_EGRESS = "egress"

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_UID = re.compile(rf"^[{re.escape(UID_ALPHABET)}]{{{UID_LENGTH}}}$")


class InvalidName(ValueError):
    """A username or uid that cannot become part of a Kubernetes name."""


def new_uid() -> str:
    """Draw a new workspace uid: six lowercase letters or digits (36**6, about 2.2e9 values)."""
    return "".join(secrets.choice(UID_ALPHABET) for _ in range(UID_LENGTH))


def is_dns_label(text: str) -> bool:
    return len(text) <= MAX_DNS_LABEL and bool(_DNS_LABEL.match(text))


def namespace_name(username: str, uid: str) -> str:
    """Return the namespace ``ws-<username>-<uid>``, shortening the username to fit 63 characters.

    Two workspaces never share a namespace because their uids differ (the database
    keeps uids unique), so cutting the username cannot cause a collision.
    """
    _check(username, uid)
    room = MAX_DNS_LABEL - len(NAMESPACE_PREFIX) - 1 - len(uid)
    head = username[:room].rstrip("-")
    return f"{NAMESPACE_PREFIX}{head}-{uid}"


def host_name(username: str, domain: str) -> str:
    """Return the workspace's host name ``<username>.<domain>``."""
    _check(username)
    return f"{username}.{domain}"


def workspace_url(username: str, domain: str) -> str:
    return f"https://{host_name(username, domain)}"


def labels(username: str, uid: str, component: str | None = None) -> dict[str, str]:
    """Return the labels every object of the workspace carries."""
    _check(username, uid)
    result = {
        MANAGED_BY_LABEL: MANAGED_BY,
        WORKSPACE_LABEL: username,
        WORKSPACE_UID_LABEL: uid,
    }
    if component:
        result[COMPONENT_LABEL] = component
    return result


def selector(username: str, uid: str) -> dict[str, str]:
    """Return the labels that select the workspace's pods; they never change for a workspace."""
    _check(username, uid)
    return {WORKSPACE_LABEL: username, WORKSPACE_UID_LABEL: uid}


def label_selector(labels_to_match: dict[str, str]) -> str:
    """Format labels as a Kubernetes label selector string."""
    return ",".join(f"{key}={value}" for key, value in sorted(labels_to_match.items()))


def _check(username: str, uid: str | None = None) -> None:
    if not is_dns_label(username):
        raise InvalidName(f"Username {username!r} is not a lowercase DNS label.")
    if uid is not None and not _UID.match(uid):
        raise InvalidName(f"Workspace uid {uid!r} must be {UID_LENGTH} lowercase letters or digits.")
