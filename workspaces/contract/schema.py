"""The workspace file contract as a JSON Schema, for editors and the user repository's CI.

The schema covers what a schema can: the layout, required keys, allowed values
and formats. Checks that need more context (the file name, other workspaces,
existing top-level domains, storage that may only grow) are made by the command
`python -m workspaces.contract.cli`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workspaces.contract.usernames import RESERVED_PREFIXES, RESERVED_USERNAMES, USERNAME_MAX_LENGTH

if TYPE_CHECKING:
    from workspaces.contract.catalog import Catalog

SCHEMA_ID = "https://larr1.example.com/schemas/workspace.schema.json"


def json_schema(catalog: Catalog) -> dict[str, Any]:
    """Build the JSON Schema (draft 2020-12) of a workspace file for ``catalog``."""
    reserved_prefix = "|".join(prefix.replace("-", "\\-") for prefix in RESERVED_PREFIXES)
    storage = catalog.storage
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "Larr1 workspace file (user/<username>.yaml)",
        "description": "One personal GPU workspace. Open a pull request that adds this file to request it.",
        "type": "object",
        "additionalProperties": False,
        "required": ["user", "profile", "cuda"],
        "properties": {
            "user": {
                "type": "object",
                "additionalProperties": False,
                "required": ["username", "email"],
                "properties": {
                    "username": {
                        "description": (
                            "Lowercase letters, digits and hyphens, starting with a letter; equal to the file "
                            f"name. At most {USERNAME_MAX_LENGTH} characters."
                        ),
                        "type": "string",
                        "pattern": "^[a-z]([-a-z0-9]*[a-z0-9])?$",
                        "maxLength": USERNAME_MAX_LENGTH,
                        "not": {
                            "anyOf": [
                                {"enum": sorted(RESERVED_USERNAMES)},
                                {"pattern": f"^({reserved_prefix})"},
                            ]
                        },
                        "examples": ["alice"],
                    },
                    "email": {
                        "description": "Where the workspace's credentials are sent.",
                        "type": "string",
                        "format": "email",
                        "pattern": "^[^@\\s]+@[^@\\s]+\\.[^@\\s.]+$",
                        "examples": ["alice@example.com"],
                    },
                },
            },
            "profile": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name"],
                "properties": {
                    "name": {
                        "description": "The GPU profile: "
                        + "; ".join(
                            f"{profile.name}: {profile.gpu_memory_gib} GiB GPU memory, {profile.cpu} CPU, "
                            f"{profile.memory} RAM"
                            for profile in catalog.profiles.values()
                        ),
                        "type": "string",
                        "enum": list(catalog.profiles),
                    }
                },
            },
            "cuda": {
                "type": "object",
                "additionalProperties": False,
                "required": ["version"],
                "properties": {
                    "version": {
                        "description": "The CUDA version of the workspace image.",
                        "type": "string",
                        "enum": list(catalog.cuda_versions),
                    }
                },
            },
            "storage": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "size": {
                        "description": (
                            f"Persistent storage, {storage.minimum} to {storage.maximum}; {storage.default} when "
                            "absent. It can grow later but never shrink."
                        ),
                        "type": "string",
                        "pattern": "^[1-9][0-9]*(Gi|Ti)$",
                        "default": storage.default,
                        "examples": [storage.default],
                    }
                },
            },
        },
    }
