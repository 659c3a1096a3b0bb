"""Compare two trees of the user repository and classify what a pull request does to workspaces."""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Mapping as MappingType
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

from workspaces.contract.findings import Finding, Severity, error, warning
from workspaces.contract.model import USER_DIR, FileEvaluation, TreeEntry, is_workspace_path, path_stem
from workspaces.contract.parsing import Mapping, Scalar, parse_yaml
from workspaces.contract.rules import _evaluate, _OtherNames, evaluate_file

if TYPE_CHECKING:
    from workspaces.contract.catalog import Catalog


class ChangeKind(enum.StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    RENAME = "rename"
    NONE = "none"  # not a workspace change

    @property
    def label(self) -> str:
        return str(CHANGE_KIND_LABELS[self])


CHANGE_KIND_LABELS = {
    ChangeKind.CREATE: _("create"),
    ChangeKind.UPDATE: _("update"),
    ChangeKind.DELETE: _("delete"),
    ChangeKind.RENAME: _("rename"),
    ChangeKind.NONE: _("not a workspace change"),
}


@dataclass(frozen=True)
class ChangeEvaluation:
    kind: ChangeKind
    username: str | None  # the workspace the change targets; the new name for a rename
    old_username: str | None  # the workspace before the change (update, rename, delete)
    before: FileEvaluation | None
    after: FileEvaluation | None
    findings: list[Finding]  # the file's findings, then change findings and risk flags
    path: str | None = None  # the workspace file after the change (before it, for a delete)
    old_path: str | None = None  # the workspace file before the change

    @property
    def errors(self) -> list[Finding]:
        return [finding for finding in self.findings if finding.severity == Severity.ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [finding for finding in self.findings if finding.severity == Severity.WARNING]

    @property
    def risks(self) -> list[Finding]:
        return [finding for finding in self.findings if finding.is_risk]

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class _Unit:
    kind: ChangeKind
    old_path: str | None
    new_path: str | None


def evaluate_change(
    base: MappingType[str, TreeEntry], head: MappingType[str, TreeEntry], catalog: Catalog
) -> ChangeEvaluation:
    """Diff two complete trees and evaluate the workspace change between them.

    ``base`` is the tree the pull request starts from (usually main) and ``head``
    the pull request's tree. Paths outside user/ and a second workspace file are
    flagged; a removed file and an added file with the same content, e-mail
    address or name count as one rename.
    """
    # NOTE: entries compare by path, mode, size and data. Two different files over
    # MAX_FILE_BYTES with equal sizes (data None) look unchanged; TreeEntry has no blob id.
    changed = sorted(path for path in set(base) | set(head) if base.get(path) != head.get(path))
    workspace_paths = [path for path in changed if is_workspace_path(path)]
    outside = [path for path in changed if not path.startswith(f"{USER_DIR}/")]

    change_findings: list[Finding] = []
    for path in outside:
        change_findings.append(warning("change.outside-user", "", None, path=path))
        entry = head.get(path)
        if entry is not None and _looks_like_workspace_file(entry):
            misplaced = evaluate_file(entry, catalog)
            change_findings.extend(misplaced.findings)

    units = _pair_changes(workspace_paths, base, head)
    if len(units) > 1:
        paths = [unit.new_path or unit.old_path for unit in units]
        change_findings.append(error("change.multiple-files", "", None, count=len(units), paths=paths))
    if not units:
        return ChangeEvaluation(ChangeKind.NONE, None, None, None, None, change_findings)

    unit = units[0]
    before = _evaluate_in(base, unit.old_path, catalog) if unit.old_path else None
    after = _evaluate_in(head, unit.new_path, catalog) if unit.new_path else None
    old_username = _username_of(base, unit.old_path) if unit.old_path else None
    username = _username_of(head, unit.new_path) if unit.new_path else old_username

    kind = unit.kind
    if kind == ChangeKind.RENAME and old_username == username:
        kind = ChangeKind.UPDATE  # only the file name changed, such as user/rook.yml → user/rook.yaml

    findings = list(after.findings) if after is not None else []
    findings.extend(change_findings)
    findings.extend(_risks(kind, old_username, username, before, after, catalog))
    return ChangeEvaluation(
        kind, username, old_username, before, after, findings, unit.new_path or unit.old_path, unit.old_path
    )


def _pair_changes(
    paths: list[str], base: MappingType[str, TreeEntry], head: MappingType[str, TreeEntry]
) -> list[_Unit]:
    removed = [path for path in paths if path in base and path not in head]
    added = [path for path in paths if path not in base and path in head]
    modified = [path for path in paths if path in base and path in head]

    units = [_Unit(ChangeKind.UPDATE, path, path) for path in modified]
    for old_path in removed:
        partner = _find_rename_partner(base[old_path], added, head)
        if partner is None:
            units.append(_Unit(ChangeKind.DELETE, old_path, None))
        else:
            added.remove(partner)
            units.append(_Unit(ChangeKind.RENAME, old_path, partner))
    units.extend(_Unit(ChangeKind.CREATE, None, path) for path in added)
    return units


def _find_rename_partner(old: TreeEntry, added: list[str], head: MappingType[str, TreeEntry]) -> str | None:
    """Find the added file that replaces ``old``: the same bytes, name or e-mail address, in that order."""
    for path in added:
        if head[path].data is not None and head[path].data == old.data:
            return path
    for path in added:
        if path_stem(path).lower() == path_stem(old.path).lower():
            return path
    old_email = _raw_fields(old).get("email", "").lower()
    if old_email:
        for path in added:
            if _raw_fields(head[path]).get("email", "").lower() == old_email:
                return path
    return None


def _evaluate_in(tree: MappingType[str, TreeEntry], path: str, catalog: Catalog) -> FileEvaluation:
    stems = Counter(path_stem(other).lower() for other in tree if is_workspace_path(other))
    return _evaluate(tree[path], catalog, _OtherNames(stems, path_stem(path).lower()))


def _username_of(tree: MappingType[str, TreeEntry], path: str) -> str:
    """The workspace a file stands for: its username in lowercase when readable, else its file name."""
    username = _raw_fields(tree[path]).get("username")
    return (username or path_stem(path)).lower()


def _raw_fields(entry: TreeEntry) -> dict[str, str]:
    """Read user.username and user.email as written, from any readable file (valid or not)."""
    if entry.data is None or b"\x00" in entry.data:
        return {}
    try:
        text = entry.data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return {}
    root = parse_yaml(text).root
    if not isinstance(root, Mapping) or "user" not in root.items:
        return {}
    user = root.items["user"][1]
    if not isinstance(user, Mapping):
        return {}
    values = {}
    for key in ("username", "email"):
        item = user.items.get(key)
        if item is not None and isinstance(item[1], Scalar) and item[1].text.strip():
            values[key] = item[1].text.strip()
    return values


def _looks_like_workspace_file(entry: TreeEntry) -> bool:
    if not entry.path.endswith((".yaml", ".yml")) or entry.data is None:
        return False
    return bool(_raw_fields(entry))


def _risks(
    kind: ChangeKind,
    old_username: str | None,
    username: str | None,
    before: FileEvaluation | None,
    after: FileEvaluation | None,
    catalog: Catalog,
) -> list[Finding]:
    findings: list[Finding] = []
    if kind == ChangeKind.DELETE:
        return [warning("risk.delete", "", None, old=old_username)]
    if kind in (ChangeKind.RENAME, ChangeKind.UPDATE) and old_username and username and old_username != username:
        findings.append(warning("risk.rename", "user.username", None, old=old_username, new=username))

    old_spec = before.spec if before is not None else None
    new_spec = after.spec if after is not None else None
    if old_spec is not None and new_spec is not None:
        if old_spec.email.lower() != new_spec.email.lower():
            findings.append(warning("risk.email-changed", "user.email", None, old=old_spec.email, new=new_spec.email))
        if new_spec.storage_bytes < old_spec.storage_bytes:
            findings.append(
                error(
                    "storage.shrink",
                    "storage.size",
                    f"size: {old_spec.storage}",
                    value=new_spec.storage,
                    current=old_spec.storage,
                )
            )

    if new_spec is not None and (old_spec is None or new_spec.storage_bytes != old_spec.storage_bytes):
        policy = catalog.storage
        if new_spec.storage_bytes >= policy.maximum_bytes * policy.near_limit_ratio:
            findings.append(
                warning("risk.storage-near-limit", "storage.size", None, value=new_spec.storage, maximum=policy.maximum)
            )
    return findings
