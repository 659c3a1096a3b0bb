"""Findings: what is wrong (or risky) in a workspace file or a change to it.

A finding stores a stable code, a field path, JSON-safe parameters and an
optional literal fix. Its message is rendered when read, in the active Django
language, from the one registry of translated templates below, so findings
stored in the database show in whichever language the reader uses.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext


def list_separator() -> str:
    """Return the active language's list separator (", " in English, "、" in Traditional Chinese)."""
    return pgettext("list separator", ", ")


def join_list(items) -> str:
    """Join items with the active language's list separator."""
    return list_separator().join(str(item) for item in items)


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"

    @property
    def label(self) -> str:
        return str(SEVERITY_LABELS[self])


SEVERITY_LABELS = {Severity.ERROR: _("error"), Severity.WARNING: _("warning")}

# One template per code. A code ending in ":closest" is the variant used when the
# finding has a "closest" parameter (a "did you mean"), and ":kept_until" likewise.
MESSAGES = {
    # Where the file is and what kind of git object it is.
    "file.outside-user": _(
        "Workspace files belong in the user/ folder, but this one is %(path)s. Move it to %(expected)s."
    ),
    "file.subfolder": _("Workspace files go directly in user/, not in a sub-folder. Move %(path)s to %(expected)s."),
    "file.extension": _("The file name must end in .yaml. Rename %(path)s to %(expected)s."),
    "file.name": _(
        "The file name %(path)s does not make a valid username. Name the file user/<username>.yaml "
        "with a lowercase username, such as %(expected)s."
    ),
    "file.symlink": _(
        "%(path)s is a symbolic link. A workspace file must be a regular file; replace the link with the file."
    ),
    "file.not-a-file": _("%(path)s is a git %(kind)s, not a regular file. A workspace file is one plain YAML file."),
    "file.too-large": _("The file has %(size)s bytes but a workspace file may have at most %(limit)s bytes."),
    "file.binary": _("The file contains binary data (a NUL byte). A workspace file is plain YAML text."),
    "file.encoding": _("The file is not UTF-8 text (invalid byte at offset %(offset)s). Save it as UTF-8."),
    "file.bom": _("The file starts with a byte order mark (BOM). Save it as UTF-8 without a BOM."),
    "file.empty": _("The file is empty. Write the workspace fields as in the suggestion."),
    # YAML itself.
    "yaml.syntax": _("Invalid YAML at line %(line)s: %(problem)s."),
    "yaml.anchor": _("Line %(line)s uses a YAML anchor or alias (& or *). Write every value out instead."),
    "yaml.tag": _("Line %(line)s uses the YAML tag %(tag)s. Remove the tag."),
    "yaml.too-deep": _("Line %(line)s nests deeper than %(limit)s levels. A workspace file has two levels."),
    "yaml.too-many-values": _("The file has more than %(limit)s YAML values. A workspace file has about five."),
    "yaml.multiple-documents": _(
        "A second YAML document starts at line %(line)s. Keep one document and remove the --- separator."
    ),
    "yaml.not-mapping": _("The file must be a YAML mapping with the sections user, profile, cuda and storage."),
    "yaml.coerced": _(
        "%(key_path)s: the value %(value)s would be read as %(type)s, not as text, by YAML 1.1 tools. Put it in quotes."
    ),
    # Keys and sections.
    "key.duplicate": _(
        "The key %(key)s appears twice (lines %(first_line)s and %(line)s). YAML tools would silently keep "
        "only the last one. Remove one of them."
    ),
    "key.unknown": _("Unknown key %(key)s. Allowed here: %(allowed)s."),
    "key.unknown:closest": _("Unknown key %(key)s. Did you mean %(closest)s? Allowed here: %(allowed)s."),
    "key.invalid": _("Line %(line)s has a key that is not plain text. Keys are single words such as username."),
    "key.missing": _("The required key %(key_path)s is missing."),
    "value.not-mapping": _("%(key_path)s must be a section with keys under it, not a single value."),
    "value.not-text": _("%(key_path)s must be a single value, not a list or a section."),
    "value.empty": _("%(key_path)s is empty. Write a value."),
    "layout.old": _(
        "The file uses the old layout with a workspace: section. The layout changed: profile, cuda and "
        "storage are now sections of their own. Use the layout in the suggestion."
    ),
    # user.username
    "username.uppercase": _(
        "The username %(value)s contains capital letters, but it becomes a namespace and a host name, "
        "which must be lowercase. Write %(expected)s."
    ),
    "username.invalid": _(
        "The username %(value)s is not valid. Use lowercase letters, digits and hyphens; start with a letter "
        "and end with a letter or digit."
    ),
    "username.too-long": _(
        "The username %(value)s has %(length)s characters; at most %(limit)s are allowed so that the "
        "Kubernetes names made from it stay within 63 characters."
    ),
    "username.reserved": _("The username %(value)s is reserved by the platform. Choose another one."),
    "username.mismatch": _(
        "The username %(value)s differs from the file name %(path)s. Change the username to %(expected)s, "
        "or rename the file to %(renamed)s (renaming an existing workspace needs an admin's approval)."
    ),
    "username.collision": _(
        "The username %(value)s is already used by the workspace %(other)s (usernames are compared "
        "ignoring case). Choose another one."
    ),
    # user.email
    "email.invalid": _("%(value)s is not a valid email address. Write it as name@example.com."),
    "email.tld": _("The email address %(value)s ends in .%(tld)s, which is not a top-level domain that exists."),
    "email.tld:closest": _(
        "The email address %(value)s ends in .%(tld)s, which is not a top-level domain that exists. "
        "Did you mean .%(closest)s?"
    ),
    # profile.name and cuda.version
    "profile.unknown": _("The profile %(value)s is not offered. Choose one of: %(offered)s."),
    "cuda.unknown": _("CUDA version %(value)s is not offered. Choose one of: %(offered)s."),
    "cuda.format": _("Write the CUDA version as cudaMAJOR.MINOR, one of: %(offered)s (not %(value)s)."),
    # storage.size
    "storage.format": _(
        "The storage size %(value)s is not a size the platform accepts. Write a whole number followed by "
        "Gi (gibibytes) or Ti (tebibytes), such as 100Gi."
    ),
    "storage.not-positive": _("The storage size %(value)s must be above zero."),
    "storage.too-small": _("The storage size %(value)s is below the minimum of %(minimum)s."),
    "storage.too-large": _("The storage size %(value)s is above the maximum of %(maximum)s."),
    "storage.shrink": _(
        "Storage can only grow: %(value)s is smaller than the current %(current)s. Keep %(current)s or more."
    ),
    # Changes between two versions of the repository.
    "change.outside-user": _(
        "The pull request also changes %(path)s, outside user/. A workspace request should change only its file."
    ),
    "change.multiple-files": _(
        "The pull request changes %(count)s workspace files (%(paths)s). One pull request may change one "
        "workspace file; split it."
    ),
    "risk.email-changed": _(
        "The email address changes from %(old)s to %(new)s. The credentials will be sent to the new address."
    ),
    "risk.rename": _(
        "This renames the workspace %(old)s to %(new)s: a new workspace is made and the old one's data is not moved."
    ),
    "risk.delete": _("This deletes the workspace %(old)s. Its data is removed after the grace period."),
    "risk.readded": _(
        "The workspace %(username)s was removed earlier. Approving creates a new workspace with an empty "
        "volume, and the old workspace's files are not restored."
    ),
    "risk.readded:kept_until": _(
        "The workspace %(username)s was removed earlier. Approving creates a new workspace with an empty "
        "volume, and the old workspace's files are not moved to it. The old files are kept until %(kept_until)s, "
        "then deleted."
    ),
    "risk.storage-near-limit": _("The storage size %(value)s is close to the maximum of %(maximum)s."),
}


# Parameters whose presence selects the message variant "<code>:<parameter>", in this order.
VARIANT_PARAMS = ("closest", "kept_until")


# Parameters stored as language-neutral words and shown translated.
PARAM_LABELS = {
    "type": {
        "bool": _("a true/false value"),
        "int": _("a number"),
        "float": _("a number"),
        "null": _("an empty value"),
        "timestamp": _("a date"),
    },
    "kind": {"tree": _("folder"), "submodule": _("submodule")},
}


class _KeepMissing(dict):
    """Format parameters that leave an unknown placeholder visible instead of raising KeyError."""

    def __missing__(self, key: str) -> str:
        return f"%({key})s"


@dataclass(frozen=True)
class Finding:
    severity: Severity
    code: str
    field: str = ""  # dotted path such as "user.username"; "" for the whole file
    # JSON-safe; "line" when known. A list is shown joined with the reader's list separator.
    params: dict[str, Any] = dataclass_field(default_factory=dict)
    suggestion: str | None = None  # a literal fix, such as "username: jules"

    @property
    def is_error(self) -> bool:
        return self.severity == Severity.ERROR

    @property
    def is_risk(self) -> bool:
        return self.code.startswith("risk.")

    @property
    def line(self) -> int | None:
        return self.params.get("line")

    @property
    def message(self) -> str:
        """The message in the active language, with the parameters filled in."""
        template = None
        for variant in VARIANT_PARAMS:
            if template is None and self.params.get(variant) is not None:
                template = MESSAGES.get(f"{self.code}:{variant}")
        if template is None:
            template = MESSAGES.get(self.code)
        if template is None:
            return self.code
        params = _KeepMissing(self.params)
        for name, value in params.items():
            if isinstance(value, list):
                params[name] = join_list(value)
        for name, labels in PARAM_LABELS.items():
            if params.get(name) in labels:
                params[name] = labels[params[name]]
        return str(template) % params

    def as_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity.value,
            "code": self.code,
            "field": self.field,
            "params": dict(self.params),
            "suggestion": self.suggestion,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        return cls(
            severity=Severity(data["severity"]),
            code=data["code"],
            field=data.get("field", ""),
            params=dict(data.get("params") or {}),
            suggestion=data.get("suggestion"),
        )


def error(code: str, field: str = "", suggestion: str | None = None, **params: Any) -> Finding:
    return Finding(Severity.ERROR, code, field, params, suggestion)


def warning(code: str, field: str = "", suggestion: str | None = None, **params: Any) -> Finding:
    return Finding(Severity.WARNING, code, field, params, suggestion)
