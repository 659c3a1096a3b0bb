"""evaluate_change: what a pull request does to workspaces, and the risks an admin must see."""

from __future__ import annotations

from tests.contract.conftest import entry, workspace
from workspaces.contract import ChangeKind, evaluate_change

README = entry("README.md", "# Workspaces\n")


def tree(*entries):
    return {item.path: item for item in (README, *entries)}


def codes(change):
    return [finding.code for finding in change.findings]


def test_it_classifies_new_file_as_create(catalog):
    change = evaluate_change(tree(), tree(entry("user/alice.yaml", workspace("alice"))), catalog)
    assert change.kind == ChangeKind.CREATE
    assert change.username == "alice"
    assert change.old_username is None
    assert change.after.spec.username == "alice"
    assert change.ok


def test_it_classifies_edit_as_update(catalog):
    base = tree(entry("user/alice.yaml", workspace("alice", profile="small")))
    head = tree(entry("user/alice.yaml", workspace("alice", profile="large")))
    change = evaluate_change(base, head, catalog)
    assert change.kind == ChangeKind.UPDATE
    assert change.before.spec.profile == "small"
    assert change.after.spec.profile == "large"
    assert codes(change) == []


def test_it_flags_deletion_as_risk(catalog):
    change = evaluate_change(tree(entry("user/alice.yaml", workspace("alice"))), tree(), catalog)
    assert change.kind == ChangeKind.DELETE
    assert change.old_username == "alice"
    assert change.after is None
    assert [finding.code for finding in change.risks] == ["risk.delete"]
    assert change.ok


def test_it_detects_rename_by_email(catalog):
    base = tree(entry("user/tam.yaml", workspace("tam", email="tam@example.com")))
    head = tree(entry("user/cobalt.yaml", workspace("cobalt", email="tam@example.com")))
    change = evaluate_change(base, head, catalog)
    assert change.kind == ChangeKind.RENAME
    assert change.old_username == "tam"
    assert change.username == "cobalt"
    assert codes(change) == ["risk.rename"]


def test_it_pairs_moved_file_with_identical_content(catalog):
    content = workspace("tam")
    change = evaluate_change(tree(entry("user/tam.yaml", content)), tree(entry("user/tom.yaml", content)), catalog)
    assert change.kind == ChangeKind.UPDATE
    assert change.old_path == "user/tam.yaml"
    assert change.path == "user/tom.yaml"
    assert codes(change) == ["username.mismatch"]


def test_it_treats_extension_fix_as_update(catalog):
    base = tree(entry("user/rook.yml", workspace("rook")))
    head = tree(entry("user/rook.yaml", workspace("rook")))
    change = evaluate_change(base, head, catalog)
    assert change.kind == ChangeKind.UPDATE
    assert change.old_path == "user/rook.yml"
    assert codes(change) == []


def test_it_keeps_unrelated_delete_and_create_apart(catalog):
    base = tree(entry("user/alice.yaml", workspace("alice")))
    head = tree(entry("user/bob.yaml", workspace("bob")))
    change = evaluate_change(base, head, catalog)
    assert "change.multiple-files" in codes(change)
    assert not change.ok


def test_it_flags_username_change_inside_file(catalog):
    base = tree(entry("user/tam.yaml", workspace("tam")))
    head = tree(entry("user/tam.yaml", workspace("cobalt", email="tam@example.com")))
    change = evaluate_change(base, head, catalog)
    assert change.kind == ChangeKind.UPDATE
    assert codes(change) == ["username.mismatch", "risk.rename"]


def test_it_ignores_changes_outside_workspaces(catalog):
    head = {**tree(), "README.md": entry("README.md", "# Workspaces, updated\n")}
    change = evaluate_change(tree(), head, catalog)
    assert change.kind == ChangeKind.NONE
    assert codes(change) == ["change.outside-user"]
    assert change.findings[0].severity == "warning"


def test_it_flags_extra_file_outside_user(catalog):
    head = tree(entry("user/alice.yaml", workspace("alice")), entry(".github/workflows/ci.yml", "on: push\n"))
    change = evaluate_change(tree(), head, catalog)
    assert change.kind == ChangeKind.CREATE
    assert codes(change) == ["change.outside-user"]
    assert change.findings[0].params == {"path": ".github/workflows/ci.yml"}


def test_it_reports_misplaced_workspace_file(catalog):
    change = evaluate_change(tree(), tree(entry("users/alice.yaml", workspace("alice"))), catalog)
    assert change.kind == ChangeKind.NONE
    assert codes(change) == ["change.outside-user", "file.outside-user"]
    assert change.findings[1].suggestion == "user/alice.yaml"
    assert not change.ok


def test_it_rejects_two_workspace_files(catalog):
    head = tree(entry("user/alice.yaml", workspace("alice")), entry("user/bob.yaml", workspace("bob")))
    change = evaluate_change(tree(), head, catalog)
    (finding,) = change.errors
    assert finding.code == "change.multiple-files"
    assert finding.params == {"count": 2, "paths": ["user/alice.yaml", "user/bob.yaml"]}


def test_it_ignores_gitkeep_beside_workspace_file(catalog):
    head = tree(entry("user/alice.yaml", workspace("alice")), entry("user/.gitkeep", ""))
    change = evaluate_change(tree(), head, catalog)
    assert change.kind == ChangeKind.CREATE
    assert codes(change) == []


def test_it_rejects_storage_shrink(catalog):
    base = tree(entry("user/alice.yaml", workspace("alice", storage="200Gi")))
    head = tree(entry("user/alice.yaml", workspace("alice", storage="150Gi")))
    change = evaluate_change(base, head, catalog)
    (finding,) = change.errors
    assert finding.code == "storage.shrink"
    assert finding.suggestion == "size: 200Gi"


def test_it_rejects_shrink_to_default_by_removing_size(catalog):
    base = tree(entry("user/alice.yaml", workspace("alice", storage="200Gi")))
    head = tree(entry("user/alice.yaml", workspace("alice", storage=None)))
    assert codes(evaluate_change(base, head, catalog)) == ["storage.shrink"]


def test_it_accepts_storage_growth(catalog):
    base = tree(entry("user/alice.yaml", workspace("alice", storage="100Gi")))
    head = tree(entry("user/alice.yaml", workspace("alice", storage="300Gi")))
    assert codes(evaluate_change(base, head, catalog)) == []


def test_it_flags_email_change(catalog):
    base = tree(entry("user/alice.yaml", workspace("alice", email="alice@example.com")))
    head = tree(entry("user/alice.yaml", workspace("alice", email="alice@example.org")))
    change = evaluate_change(base, head, catalog)
    (risk,) = change.risks
    assert risk.code == "risk.email-changed"
    assert risk.params == {"old": "alice@example.com", "new": "alice@example.org"}
    assert change.ok


def test_it_flags_storage_near_limit(catalog):
    head = tree(entry("user/alice.yaml", workspace("alice", storage="900Gi")))
    change = evaluate_change(tree(), head, catalog)
    assert [finding.code for finding in change.risks] == ["risk.storage-near-limit"]
    assert change.ok


def test_it_does_not_reflag_unchanged_large_storage(catalog):
    base = tree(entry("user/alice.yaml", workspace("alice", profile="small", storage="900Gi")))
    head = tree(entry("user/alice.yaml", workspace("alice", profile="large", storage="900Gi")))
    assert codes(evaluate_change(base, head, catalog)) == []


def test_it_rejects_collision_with_existing_workspace(catalog):
    base = tree(entry("user/alice.yaml", workspace("alice")))
    head = tree(entry("user/alice.yaml", workspace("alice")), entry("user/Alice.yaml", workspace("alice")))
    change = evaluate_change(base, head, catalog)
    assert change.kind == ChangeKind.CREATE
    assert codes(change) == ["file.name", "username.collision"]


def test_it_reports_unchanged_trees_as_none(catalog):
    same = tree(entry("user/alice.yaml", workspace("alice")))
    change = evaluate_change(same, dict(same), catalog)
    assert change.kind == ChangeKind.NONE
    assert change.findings == []


def test_it_accepts_readded_file_as_create(catalog):
    change = evaluate_change(tree(), tree(entry("user/jules.yaml", workspace("jules"))), catalog)
    assert change.kind == ChangeKind.CREATE
    assert change.ok
