"""Rules for the values of a workspace file: username, e-mail, profile, CUDA version and storage."""

from __future__ import annotations

import difflib
import re
from collections.abc import Container
from typing import TYPE_CHECKING

from workspaces.contract import tlds
from workspaces.contract.findings import Finding, error
from workspaces.contract.parsing import Scalar
from workspaces.contract.quantities import GIB, format_gibibytes
from workspaces.contract.usernames import USERNAME_MAX_LENGTH, USERNAME_PATTERN, is_reserved, sanitize_username

if TYPE_CHECKING:
    from workspaces.contract.catalog import Catalog

_EMAIL = re.compile(r"^(?P<local>[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64})@(?P<domain>[^@\s]{1,253})$")
_DOMAIN_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_STORAGE = re.compile(r"^(?P<number>[0-9]+)(?P<unit>Gi|Ti)$")
_STORAGE_LOOSE = re.compile(r"^\s*(?P<sign>[-+]?)\s*(?P<number>[0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*(?P<unit>[A-Za-z]*)\s*$")
_LOOSE_UNITS = {
    "": GIB,
    "g": GIB, "gb": GIB, "gi": GIB, "gib": GIB,
    "t": 2**40, "tb": 2**40, "ti": 2**40, "tib": 2**40,
    "m": 2**20, "mb": 2**20, "mi": 2**20, "mib": 2**20,
}  # fmt: skip
_CUDA_LOOSE = re.compile(r"^\s*(?:cuda)?[\s_-]*v?(?P<version>[0-9]+(?:\.[0-9]+)*)\s*$", re.IGNORECASE)


def coerced(field: str, scalar: Scalar, key: str) -> Finding:
    return error(
        "yaml.coerced",
        field,
        f'{key}: "{scalar.text}"',
        line=scalar.line,
        key_path=field,
        value=scalar.text,
        type=scalar.yaml_type,
    )


def check_username(scalar: Scalar, stem: str, path: str, other_usernames: Container[str]) -> list[Finding]:
    """Check user.username against DNS rules, reserved names, the file name and other workspaces."""
    field = "user.username"
    text = scalar.text
    line = scalar.line
    findings: list[Finding] = []

    lowered = text.lower()
    if text != lowered and USERNAME_PATTERN.match(lowered):
        findings.append(
            error("username.uppercase", field, f"username: {lowered}", line=line, value=text, expected=lowered)
        )
    elif not USERNAME_PATTERN.match(text):
        fixed = sanitize_username(text)
        suggestion = f"username: {fixed}" if fixed else None
        findings.append(error("username.invalid", field, suggestion, line=line, value=text))
        return findings
    elif scalar.yaml_type != "str":
        findings.append(coerced(field, scalar, "username"))

    if len(lowered) > USERNAME_MAX_LENGTH:
        findings.append(
            error("username.too-long", field, None, line=line, value=text, length=len(text), limit=USERNAME_MAX_LENGTH)
        )
    if is_reserved(lowered):
        findings.append(error("username.reserved", field, None, line=line, value=text))
    if lowered != stem.lower():
        folder = path.rsplit("/", 1)[0] if "/" in path else "user"
        findings.append(
            error(
                "username.mismatch",
                field,
                f"username: {stem.lower()}",
                line=line,
                value=text,
                path=path,
                expected=stem.lower(),
                renamed=f"{folder}/{lowered}.yaml",
            )
        )
    if lowered in other_usernames:
        findings.append(error("username.collision", field, None, line=line, value=text, other=lowered))
    return findings


def check_email(scalar: Scalar) -> list[Finding]:
    field = "user.email"
    text = scalar.text
    line = scalar.line

    stripped = text.strip()
    match = _EMAIL.match(stripped)
    if stripped != text or match is None or ".." in stripped or stripped.split("@")[0].startswith("."):
        suggestion = f"email: {stripped}" if match is not None and stripped != text else None
        return [error("email.invalid", field, suggestion, line=line, value=text)]

    labels = match["domain"].lower().rstrip(".").split(".")
    ascii_labels = [tlds.to_ascii_label(label) for label in labels]
    if len(labels) < 2 or any(label is None or not _DOMAIN_LABEL.match(label) for label in ascii_labels):
        return [error("email.invalid", field, None, line=line, value=text)]

    tld = labels[-1]
    if not tlds.is_known_tld(tld):
        closest = tlds.suggest_tld(tld)
        suggestion = None
        params = {"line": line, "value": text, "tld": tld}
        if closest:
            domain = ".".join(labels[:-1] + [closest])
            suggestion = f"email: {match['local']}@{domain}"
            params["closest"] = closest
        return [error("email.tld", field, suggestion, **params)]
    return []


def check_profile(scalar: Scalar, catalog: Catalog) -> list[Finding]:
    text = scalar.text.strip()
    if text in catalog.profiles:
        return []
    offered = list(catalog.profiles)
    closest = _closest(text, offered)
    suggestion = f"name: {closest}" if closest else None
    return [
        error(
            "profile.unknown",
            "profile.name",
            suggestion,
            line=scalar.line,
            value=scalar.text,
            offered=offered,
        )
    ]


def check_cuda(scalar: Scalar, catalog: Catalog) -> list[Finding]:
    text = scalar.text
    if text in catalog.cuda_versions:
        return []
    offered = list(catalog.cuda_versions)
    params = {"line": scalar.line, "value": text, "offered": offered}

    loose = _CUDA_LOOSE.match(text)
    if loose is not None:
        normalized = f"cuda{loose['version']}"
        closest = normalized if normalized in catalog.cuda_versions else _closest_cuda(loose["version"], offered)
        suggestion = f"version: {closest}" if closest else None
        if normalized != text:
            return [error("cuda.format", "cuda.version", suggestion, **params)]
        return [error("cuda.unknown", "cuda.version", suggestion, **params)]

    closest = _closest(text, offered)
    suggestion = f"version: {closest}" if closest else None
    return [error("cuda.unknown", "cuda.version", suggestion, **params)]


def check_storage(scalar: Scalar, catalog: Catalog) -> tuple[int | None, list[Finding]]:
    """Return the size in bytes (None when invalid) and the findings for storage.size."""
    field = "storage.size"
    text = scalar.text
    policy = catalog.storage
    params = {"line": scalar.line, "value": text}

    match = _STORAGE.match(text)
    if match is not None:
        size_bytes = int(match["number"]) * (GIB if match["unit"] == "Gi" else 2**40)
    else:
        loose = _STORAGE_LOOSE.match(text)
        if loose is None or loose["unit"].lower() not in _LOOSE_UNITS:
            return None, [error("storage.format", field, None, **params)]
        if loose["sign"] == "-" or float(loose["number"]) == 0:
            return None, [error("storage.not-positive", field, f"size: {policy.default}", **params)]
        size_bytes = int(float(loose["number"]) * _LOOSE_UNITS[loose["unit"].lower()])
        size_bytes = min(max(size_bytes, policy.minimum_bytes), policy.maximum_bytes)
        return None, [error("storage.format", field, f"size: {format_gibibytes(size_bytes)}", **params)]

    if size_bytes == 0:
        return None, [error("storage.not-positive", field, f"size: {policy.default}", **params)]
    if size_bytes < policy.minimum_bytes:
        return None, [error("storage.too-small", field, f"size: {policy.minimum}", minimum=policy.minimum, **params)]
    if size_bytes > policy.maximum_bytes:
        return None, [error("storage.too-large", field, f"size: {policy.maximum}", maximum=policy.maximum, **params)]
    return size_bytes, []


def _closest_cuda(version: str, offered: list[str]) -> str | None:
    """Return the offered version nearest to ``version``: the same major version first, then the nearest minor."""
    requested = _version_tuple(version)
    candidates = [(name, _version_tuple(name.removeprefix("cuda"))) for name in offered]
    candidates = [(name, parts) for name, parts in candidates if parts]
    if not requested or not candidates:
        return None

    def distance(candidate: tuple[str, tuple[int, ...]]) -> tuple[int, int]:
        parts = candidate[1]
        minor = parts[1] if len(parts) > 1 else 0
        requested_minor = requested[1] if len(requested) > 1 else 0
        return abs(parts[0] - requested[0]), abs(minor - requested_minor)

    return min(candidates, key=distance)[0]


def _version_tuple(text: str) -> tuple[int, ...]:
    if not re.fullmatch(r"[0-9]+(\.[0-9]+)*", text):
        return ()
    return tuple(int(part) for part in text.split("."))


def closest_key(key: str, allowed: list[str]) -> str | None:
    return _closest(key, allowed)


def _closest(text: str, options: list[str]) -> str | None:
    lowered = {option.lower(): option for option in options}
    if text.lower() in lowered:
        return lowered[text.lower()]
    matches = difflib.get_close_matches(text.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[matches[0]] if matches else None
