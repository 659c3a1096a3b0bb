"""The JSON Schema: valid files pass, the mistakes a schema can see fail, and the command writes it."""

from __future__ import annotations

import json
import re

import jsonschema
import pytest
import yaml
from django.core.management import call_command

from tests.contract.conftest import PROJECT_DIR, workspace
from workspaces.contract import json_schema

DOC = PROJECT_DIR / "docs" / "workspace-file.md"


def doc_examples() -> list[str]:
    """The complete workspace files shown in the user-facing documentation."""
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    return [block for block in blocks if block.startswith("user:") and "cuda:" in block]


@pytest.fixture(scope="module")
def validator(catalog):
    schema = json_schema(catalog)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_it_documents_examples():
    assert len(doc_examples()) >= 2


def test_it_accepts_documented_examples(validator):
    for example in doc_examples():
        assert list(validator.iter_errors(yaml.safe_load(example))) == [], example


def test_it_accepts_file_without_storage(validator):
    assert validator.is_valid(yaml.safe_load(workspace("alice", storage=None)))


@pytest.mark.parametrize(
    "content",
    [
        workspace("Jules"),
        workspace("kube-admin"),
        workspace("a" * 41),
        workspace("alice", cuda="cuda12.9"),
        workspace("alice", profile="xlarge"),
        workspace("alice", storage="100GB"),
        workspace("alice", storage="0Gi"),
        workspace("alice") + "gpu: 2\n",
        "user:\n  username: alice\n  email: alice@example.com\nworkspace:\n  profile: small\n",
    ],
    ids=["uppercase", "reserved", "too-long", "cuda", "profile", "storage-unit", "storage-zero", "unknown", "old"],
)
def test_it_rejects_mistakes_schema_can_see(validator, content):
    assert not validator.is_valid(yaml.safe_load(content))


def test_it_writes_schema_file(tmp_path, catalog):
    output = tmp_path / "workspace.schema.json"
    call_command("workspace_schema", "-o", str(output))
    assert json.loads(output.read_text(encoding="utf-8")) == json_schema(catalog)
