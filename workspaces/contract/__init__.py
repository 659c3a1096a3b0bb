"""The workspace file contract: parse and check user/<username>.yaml and changes to it.

Pure Python (Django's translation functions and PyYAML; no database, no network),
so the same code runs in Larr1 and in the user repository's CI.
"""

from workspaces.contract.catalog import Catalog, CatalogError, load_catalog
from workspaces.contract.changes import ChangeEvaluation, ChangeKind, evaluate_change
from workspaces.contract.findings import MESSAGES, Finding, Severity
from workspaces.contract.model import (
    MAX_FILE_BYTES,
    MODE_EXECUTABLE,
    MODE_FILE,
    MODE_SUBMODULE,
    MODE_SYMLINK,
    MODE_TREE,
    FileEvaluation,
    TreeEntry,
    WorkspaceSpec,
    is_workspace_path,
)
from workspaces.contract.rules import evaluate_file, evaluate_tree
from workspaces.contract.schema import json_schema
from workspaces.contract.usernames import RESERVED_PREFIXES, RESERVED_USERNAMES, USERNAME_MAX_LENGTH

__all__ = [
    "MAX_FILE_BYTES",
    "MESSAGES",
    "MODE_EXECUTABLE",
    "MODE_FILE",
    "MODE_SUBMODULE",
    "MODE_SYMLINK",
    "MODE_TREE",
    "RESERVED_PREFIXES",
    "RESERVED_USERNAMES",
    "USERNAME_MAX_LENGTH",
    "Catalog",
    "CatalogError",
    "ChangeEvaluation",
    "ChangeKind",
    "FileEvaluation",
    "Finding",
    "Severity",
    "TreeEntry",
    "WorkspaceSpec",
    "evaluate_change",
    "evaluate_file",
    "evaluate_tree",
    "is_workspace_path",
    "json_schema",
    "load_catalog",
]
