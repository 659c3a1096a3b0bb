"""The values the contract takes in (git tree entries) and gives back (specs and evaluations)."""

from __future__ import annotations

from dataclasses import dataclass

from workspaces.contract.findings import Finding, Severity

# Git tree entry modes, as `git ls-tree` prints them in octal.
MODE_FILE = 0o100644
MODE_EXECUTABLE = 0o100755
MODE_SYMLINK = 0o120000
MODE_TREE = 0o40000
MODE_SUBMODULE = 0o160000

# A workspace file has about ten lines; the largest real one, with its comments, has 1.2 KiB.
MAX_FILE_BYTES = 16 * 1024

USER_DIR = "user"
WORKSPACE_SUFFIX = ".yaml"
# Placeholder files that keep an empty folder in git; they are not workspace files.
IGNORED_NAMES = frozenset({".gitkeep", ".keep"})


@dataclass(frozen=True)
class TreeEntry:
    path: str  # relative to the repository root, with "/" separators
    mode: int  # git mode, e.g. MODE_FILE or MODE_SYMLINK
    size: int  # bytes
    data: bytes | None  # None when not loaded because size > MAX_FILE_BYTES (or not a file)

    @classmethod
    def file(cls, path: str, data: bytes, mode: int = MODE_FILE) -> TreeEntry:
        """Build an entry for a regular file, dropping data above MAX_FILE_BYTES as readers must."""
        return cls(path, mode, len(data), data if len(data) <= MAX_FILE_BYTES else None)


@dataclass(frozen=True)
class WorkspaceSpec:
    username: str
    email: str
    profile: str
    cuda: str
    storage: str  # the quantity as written, or the catalog's default when absent
    storage_bytes: int


@dataclass(frozen=True)
class FileEvaluation:
    path: str
    spec: WorkspaceSpec | None  # None whenever there is an error
    findings: list[Finding]

    @property
    def ok(self) -> bool:
        return not any(finding.severity == Severity.ERROR for finding in self.findings)

    @property
    def errors(self) -> list[Finding]:
        return [finding for finding in self.findings if finding.severity == Severity.ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [finding for finding in self.findings if finding.severity == Severity.WARNING]


def is_workspace_path(path: str) -> bool:
    """True for every path under user/ except placeholders such as user/.gitkeep."""
    if not path.startswith(f"{USER_DIR}/"):
        return False
    return path.rsplit("/", 1)[-1] not in IGNORED_NAMES


def path_stem(path: str) -> str:
    """Return the file name without its extension: "user/rook.yml" → "rook"."""
    name = path.rsplit("/", 1)[-1]
    for suffix in (".yaml", ".yml", ".YAML", ".YML"):
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    if "." in name[1:]:
        return name.rsplit(".", 1)[0]
    return name
