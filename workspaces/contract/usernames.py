"""Rules for user.username, which becomes Kubernetes names and a host name."""

from __future__ import annotations

import re

# Larr1 derives names such as the namespace "ws-<username>", the Deployment
# "<username>-code-server" and the host "<username>.<domain>". Kubernetes adds a
# ReplicaSet hash of up to 10 characters to the Deployment's name, and labels and
# DNS labels allow 63 characters: 40 + len("-code-server") + 1 + 10 = 63.
USERNAME_MAX_LENGTH = 40

# A DNS-1035 label (what Service names require): lowercase, starts with a letter.
USERNAME_PATTERN = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")

RESERVED_USERNAMES = frozenset(
    {
        "admin", "administrator", "api", "apiserver", "argocd", "auth", "cert-manager", "default",
        "dashboard", "grafana", "ingress", "ingress-nginx", "larr1", "localhost", "login", "mail",
        "monitoring", "node", "nodes", "prometheus", "public", "registry", "root", "smtp", "static",
        "system", "www",
    }
)  # fmt: skip
RESERVED_PREFIXES = ("kube-", "larr1-", "system-", "openshift-", "xn--")


def is_reserved(username: str) -> bool:
    return username in RESERVED_USERNAMES or username.startswith(RESERVED_PREFIXES)


def sanitize_username(text: str, max_length: int | None = USERNAME_MAX_LENGTH) -> str | None:
    """Return the closest valid username to ``text`` ("Jules_K" → "jules-k"), or None when none is close."""
    candidate = text.strip().lower()
    candidate = re.sub(r"[\s_.]+", "-", candidate)
    candidate = re.sub(r"[^-a-z0-9]", "", candidate)
    candidate = re.sub(r"-{2,}", "-", candidate)
    candidate = candidate.lstrip("-0123456789").rstrip("-")
    if max_length is not None:
        candidate = candidate[:max_length].rstrip("-")
    if not candidate or not USERNAME_PATTERN.match(candidate):
        return None
    return candidate
