"""Evaluate one workspace file, or every workspace file of a tree, from git objects."""

from __future__ import annotations

import codecs
from collections import Counter
from collections.abc import Container, Iterable
from collections.abc import Mapping as MappingType
from typing import TYPE_CHECKING

from workspaces.contract import fields
from workspaces.contract.findings import Finding, error
from workspaces.contract.model import (
    MAX_FILE_BYTES,
    MODE_EXECUTABLE,
    MODE_FILE,
    MODE_SUBMODULE,
    MODE_SYMLINK,
    MODE_TREE,
    USER_DIR,
    FileEvaluation,
    TreeEntry,
    WorkspaceSpec,
    is_workspace_path,
    path_stem,
)
from workspaces.contract.parsing import Mapping, Node, Scalar, parse_yaml
from workspaces.contract.usernames import sanitize_username

if TYPE_CHECKING:
    from workspaces.contract.catalog import Catalog

# The layout: section -> keys, with whether each key is required.
LAYOUT: dict[str, dict[str, bool]] = {
    "user": {"username": True, "email": True},
    "profile": {"name": True},
    "cuda": {"version": True},
    "storage": {"size": False},
}
REQUIRED_SECTIONS = ("user", "profile", "cuda")
# The layout before the sections were split: workspace: {profile, cuda, storage}.
OLD_LAYOUT_KEYS = {"profile": ("profile", "name"), "cuda": ("cuda", "version"), "storage": ("storage", "size")}


def evaluate_file(entry: TreeEntry, catalog: Catalog, *, other_usernames: Iterable[str] = ()) -> FileEvaluation:
    """Check one file from a git tree and return its spec (when valid) and findings.

    ``other_usernames`` are the usernames (or file names) of the other workspaces in
    the same tree. A username equal to one of them, ignoring case, is an error.
    """
    others = {name.lower() for name in other_usernames}
    return _evaluate(entry, catalog, others)


def evaluate_tree(entries: MappingType[str, TreeEntry], catalog: Catalog) -> dict[str, FileEvaluation]:
    """Evaluate every workspace file under user/ (valid or not), keyed by path.

    Usernames collide when two files' names are equal ignoring case and extension.
    """
    paths = sorted(path for path in entries if is_workspace_path(path))
    stem_counts = Counter(path_stem(path).lower() for path in paths)
    return {
        path: _evaluate(entries[path], catalog, _OtherNames(stem_counts, path_stem(path).lower())) for path in paths
    }


class _OtherNames(Container[str]):
    """The lowercased names of every workspace file but one, without copying the set per file."""

    def __init__(self, counts: Counter, own: str):
        self.counts = counts
        self.own = own

    def __contains__(self, name: object) -> bool:
        count = self.counts.get(name, 0)
        return count > (1 if name == self.own else 0)


def _evaluate(entry: TreeEntry, catalog: Catalog, others: Container[str]) -> FileEvaluation:
    findings = _check_path(entry.path)
    content_findings, root = _read_content(entry)
    findings.extend(content_findings)
    if root is None:
        return FileEvaluation(entry.path, None, findings)

    spec = _check_document(root, entry.path, catalog, others, findings)
    if any(finding.is_error for finding in findings):
        spec = None
    return FileEvaluation(entry.path, spec, findings)


def _check_path(path: str) -> list[Finding]:
    """Check where the file is and how it is named: user/<username>.yaml."""
    findings: list[Finding] = []
    stem = path_stem(path)
    name = path.rsplit("/", 1)[-1]
    fixed_stem = sanitize_username(stem, max_length=None) or stem.lower()
    expected = f"{USER_DIR}/{fixed_stem}.yaml"

    parts = path.split("/")
    if parts[0] != USER_DIR:
        findings.append(error("file.outside-user", "", expected, path=path, expected=expected))
    elif len(parts) > 2:
        findings.append(error("file.subfolder", "", expected, path=path, expected=expected))
    elif not name.endswith(".yaml") or name == ".yaml":
        findings.append(error("file.extension", "", expected, path=path, expected=expected))
    elif fixed_stem != stem:
        findings.append(error("file.name", "", expected, path=path, expected=expected))
    return findings


def _read_content(entry: TreeEntry) -> tuple[list[Finding], Node | None]:
    """Check the git object and its bytes, then parse them; return findings and the YAML tree."""
    path = entry.path
    if entry.mode == MODE_SYMLINK:
        return [error("file.symlink", "", None, path=path)], None
    if entry.mode == MODE_TREE:
        return [error("file.not-a-file", "", None, path=path, kind="tree")], None
    if entry.mode == MODE_SUBMODULE:
        return [error("file.not-a-file", "", None, path=path, kind="submodule")], None
    if entry.mode not in (MODE_FILE, MODE_EXECUTABLE):
        # A FIFO, device or socket in a checkout; git itself stores none of these.
        return [error("file.not-a-file", "", None, path=path, kind="special file")], None
    if entry.data is None or entry.size > MAX_FILE_BYTES or len(entry.data) > MAX_FILE_BYTES:
        return [error("file.too-large", "", None, size=entry.size, limit=MAX_FILE_BYTES)], None

    data = entry.data
    if b"\x00" in data:
        return [error("file.binary", "")], None

    findings: list[Finding] = []
    if data.startswith(codecs.BOM_UTF8):
        findings.append(error("file.bom", "", line=1))
        data = data[len(codecs.BOM_UTF8) :]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return [*findings, error("file.encoding", "", None, line=line, offset=exc.start)], None

    parsed = parse_yaml(text)
    findings.extend(parsed.findings)
    if parsed.root is None and not parsed.fatal:
        findings.append(error("file.empty", "", _example_file(path_stem(path).lower())))
    return findings, parsed.root


def _check_document(
    root: Node, path: str, catalog: Catalog, others: Container[str], findings: list[Finding]
) -> WorkspaceSpec | None:
    if not isinstance(root, Mapping):
        if isinstance(root, Scalar) and root.yaml_type == "null":
            findings.append(error("file.empty", "", _example_file(path_stem(path).lower())))
        else:
            findings.append(error("yaml.not-mapping", "", None, line=root.line))
        return None

    sections = dict(root.items)
    old_layout = sections.pop("workspace", None)
    if old_layout is not None:
        _move_old_layout(old_layout, sections, root, findings)

    for key, (line, _node) in sections.items():
        if key not in LAYOUT:
            findings.append(_unknown_key(key, "", list(LAYOUT), line, _node))

    username = _section_text(sections, "user", "username", findings)
    email = _section_text(sections, "user", "email", findings)
    profile = _section_text(sections, "profile", "name", findings)
    cuda = _section_text(sections, "cuda", "version", findings)
    storage = _section_text(sections, "storage", "size", findings)

    stem = path_stem(path)
    if username is not None:
        findings.extend(fields.check_username(username, stem, path, others))
    if email is not None:
        findings.extend(fields.check_email(email))
    if profile is not None:
        findings.extend(fields.check_profile(profile, catalog))
    if cuda is not None:
        findings.extend(fields.check_cuda(cuda, catalog))
    storage_bytes = catalog.storage.default_bytes
    if storage is not None:
        size, storage_findings = fields.check_storage(storage, catalog)
        findings.extend(storage_findings)
        storage_bytes = size if size is not None else storage_bytes

    if None in (username, email, profile, cuda):
        return None
    return WorkspaceSpec(
        username=username.text,
        email=email.text,
        profile=profile.text,
        cuda=cuda.text,
        storage=storage.text if storage is not None else catalog.storage.default,
        storage_bytes=storage_bytes,
    )


def _section_text(
    sections: dict[str, tuple[int, Node]], section: str, key: str, findings: list[Finding]
) -> Scalar | None:
    """Return the scalar at section.key, or None after adding a finding for what is wrong with it.

    A missing key is not reported again when an unknown key is its likely misspelling.
    """
    field = f"{section}.{key}"
    required = LAYOUT[section][key]
    misspelt = {_misspelt_field(finding) for finding in findings if finding.code == "key.unknown"}
    if section not in sections:
        if section in REQUIRED_SECTIONS and key == next(iter(LAYOUT[section])) and section not in misspelt:
            findings.append(error("key.missing", section, _example_section(section), key_path=section))
        return None

    section_line, node = sections[section]
    if isinstance(node, Scalar) and node.yaml_type == "null" and not required:
        return None  # an empty optional section, such as "storage:" alone
    if not isinstance(node, Mapping):
        if key == next(iter(LAYOUT[section])):
            value = node.text if isinstance(node, Scalar) and node.text else "..."
            suggestion = f"{section}:\n  {key}: {value}"
            findings.append(error("value.not-mapping", section, suggestion, line=section_line, key_path=section))
        return None

    if key == next(iter(LAYOUT[section])):
        for other_key, (line, value) in node.items.items():
            if other_key not in LAYOUT[section]:
                findings.append(_unknown_key(other_key, section, list(LAYOUT[section]), line, value))

    if key not in node.items:
        if required and field not in misspelt:
            findings.append(error("key.missing", field, f"{key}: ...", line=section_line, key_path=field))
        return None
    line, value = node.items[key]
    if not isinstance(value, Scalar):
        findings.append(error("value.not-text", field, None, line=line, key_path=field))
        return None
    if value.yaml_type == "null" or not value.text.strip():
        findings.append(error("value.empty", field, None, line=line, key_path=field))
        return None
    return value


def _misspelt_field(finding: Finding) -> str | None:
    closest = finding.params.get("closest")
    if closest is None:
        return None
    section = finding.field.rsplit(".", 1)[0] if "." in finding.field else ""
    return f"{section}.{closest}" if section else closest


def _unknown_key(key: str, section: str, allowed: list[str], line: int, value: Node) -> Finding:
    field = f"{section}.{key}" if section else key
    closest = fields.closest_key(key, allowed)
    params = {"line": line, "key": key, "allowed": list(allowed)}
    suggestion = None
    if closest:
        params["closest"] = closest
        suggestion = f"{closest}: {value.text}" if isinstance(value, Scalar) else f"{closest}:"
    return error("key.unknown", field, suggestion, **params)


def _move_old_layout(
    old_layout: tuple[int, Node], sections: dict[str, tuple[int, Node]], root: Mapping, findings: list[Finding]
) -> None:
    """Report the old workspace: section and move its values into the current sections, so they are checked too."""
    line, node = old_layout
    moved: dict[str, str] = {}
    if isinstance(node, Mapping):
        for old_key, (key_line, value) in node.items.items():
            if old_key not in OLD_LAYOUT_KEYS:
                findings.append(_unknown_key(old_key, "workspace", list(OLD_LAYOUT_KEYS), key_line, value))
                continue
            section, key = OLD_LAYOUT_KEYS[old_key]
            if section in sections:
                continue
            converted = Mapping(key_line)
            converted.items[key] = (key_line, value)
            sections[section] = (key_line, converted)
            if isinstance(value, Scalar):
                moved[section] = value.text

    user_lines = []
    user = root.items.get("user")
    if user is not None and isinstance(user[1], Mapping):
        for key in ("username", "email"):
            value = user[1].items.get(key)
            if value is not None and isinstance(value[1], Scalar):
                user_lines.append(f"  {key}: {value[1].text}")
    suggestion_lines = ["user:", *user_lines]
    for section, key in (("profile", "name"), ("cuda", "version"), ("storage", "size")):
        if section in moved:
            suggestion_lines += [f"{section}:", f"  {key}: {moved[section]}"]
    findings.append(error("layout.old", "workspace", "\n".join(suggestion_lines), line=line))


def _example_section(section: str) -> str:
    examples = {
        "user": "user:\n  username: alice\n  email: alice@example.com",
        "profile": "profile:\n  name: medium",
        "cuda": "cuda:\n  version: cuda13.0",
    }
    return examples[section]


def _example_file(username: str) -> str:
    return (
        f"user:\n  username: {username}\n  email: {username}@example.com\n"
        "profile:\n  name: medium\ncuda:\n  version: cuda13.0\nstorage:\n  size: 100Gi"
    )
