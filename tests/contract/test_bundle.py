"""Every workspace file version in the real user repository, with the findings each must get.

The versions are read at test time from the bundle beside the project (never copied):
each row names a file path and the blob id git gives its content.
"""

from __future__ import annotations

import pytest

from workspaces.contract import ChangeKind, evaluate_change, evaluate_file, evaluate_tree, is_workspace_path
from workspaces.contract.model import TreeEntry

# (path, blob id prefix) -> the finding codes, in the order they are reported.
EXPECTED_FILE_FINDINGS = {
    ("user/aaa.yaml", "7d66b811"): [],
    ("user/aaa.yaml", "8c1f1bd2"): [],
    ("user/alice.yaml", "1702ad77"): [],
    ("user/alice.yaml", "2ed50218"): [],
    ("user/alice.yaml", "52bfca87"): ["cuda.unknown"],
    ("user/alice.yaml", "6caf51cb"): [],
    ("user/alice.yaml", "7d7bb84a"): [],
    ("user/alice.yaml", "d9131a1e"): ["cuda.unknown"],
    ("user/alice.yaml", "e2dc7a8f"): ["layout.old", "cuda.unknown"],
    ("user/ami.yaml", "11dc40fb"): ["username.uppercase"],
    ("user/ami.yaml", "b8f3ce3d"): ["username.uppercase"],
    ("user/ami.yaml", "f1c17348"): ["username.uppercase", "cuda.unknown"],
    ("user/bbb.yaml", "59fe91b2"): [],
    ("user/bob.yaml", "0b705f88"): [],
    ("user/bob.yaml", "15777a0d"): ["username.mismatch"],
    ("user/bob.yaml", "1a4bf039"): [],
    ("user/bob.yaml", "4db21dd9"): [],
    ("user/bob.yaml", "e17d87a5"): ["layout.old"],
    ("user/bob.yaml", "fc2e571d"): ["username.mismatch"],
    ("user/ccc.yaml", "85f0c25b"): [],
    ("user/charlie.yaml", "41aac665"): [],
    ("user/charlie.yaml", "775b2773"): [],
    ("user/charlie.yaml", "e087c289"): [],
    ("user/dora.yaml", "18e2c7c1"): ["cuda.unknown"],
    ("user/jules.yaml", "959449bd"): ["username.uppercase"],
    ("user/jules.yaml", "de4c45e2"): ["username.uppercase", "cuda.unknown"],
    ("user/jules.yaml", "e03e92ce"): [],
    ("user/lars.yaml", "78958549"): ["username.mismatch"],
    ("user/lars.yaml", "9d311841"): [],
    ("user/lars.yaml", "cf3e7bf2"): [],
    ("user/rook.yaml", "1cca3f49"): ["username.uppercase", "cuda.unknown"],
    ("user/rook.yaml", "5d72f285"): [],
    ("user/rook.yaml", "d077a5ed"): ["cuda.unknown"],
    ("user/rook.yml", "1cca3f49"): ["file.extension", "username.uppercase", "cuda.unknown"],
    ("user/sven.yaml", "d15ca148"): ["username.uppercase", "cuda.unknown"],
    ("user/tam.yaml", "3cb4d131"): ["username.mismatch"],
    ("user/tam.yaml", "4d9e4153"): ["email.tld"],
    ("user/tam.yaml", "8628e410"): [],
    ("user/tam.yaml", "bd25bdd1"): ["cuda.unknown"],
    ("user/test.yaml", "30187424"): ["username.mismatch"],
    ("user/test.yaml", "d41f3695"): ["username.mismatch", "cuda.unknown"],
    ("user/test.yaml", "e175e270"): ["username.uppercase", "username.mismatch", "cuda.unknown"],
}

# Pull request -> (change kind, workspace, previous workspace, finding codes).
EXPECTED_PULL_REQUESTS = {
    1: (ChangeKind.CREATE, "jules", None, ["username.uppercase", "cuda.unknown"]),
    2: (ChangeKind.CREATE, "rook", None, ["file.extension", "username.uppercase", "cuda.unknown"]),
    3: (ChangeKind.UPDATE, "rook", "rook", ["username.uppercase", "cuda.unknown"]),
    4: (ChangeKind.CREATE, "ami", None, ["username.uppercase", "cuda.unknown"]),
    5: (ChangeKind.CREATE, "tam", None, ["cuda.unknown"]),
    7: (ChangeKind.CREATE, "ami", None, ["username.uppercase"]),
    8: (ChangeKind.UPDATE, "jules", "jules", ["username.uppercase"]),
    9: (ChangeKind.CREATE, "rook", None, []),
    10: (ChangeKind.CREATE, "ami", None, ["username.uppercase"]),
    11: (ChangeKind.CREATE, "jules", None, []),
    12: (ChangeKind.UPDATE, "rook", "rook", []),
    13: (ChangeKind.CREATE, "tam", None, ["email.tld"]),
    14: (ChangeKind.UPDATE, "cobalt", "tam", ["username.mismatch", "risk.rename"]),
    15: (ChangeKind.CREATE, "jules", None, []),
    16: (ChangeKind.CREATE, "jules", None, []),
    17: (ChangeKind.DELETE, "jules", "jules", ["risk.delete"]),
}


def workspace_blobs(bundle_repo) -> dict[tuple[str, str], TreeEntry]:
    """Every distinct (path, blob) under user/ in any commit of the bundle."""
    blobs = {}
    for commit in bundle_repo.commits():
        for mode, sha, size, path in bundle_repo.tree_lines(commit, "user/"):
            if (path, sha[:8]) not in blobs and is_workspace_path(path):
                blobs[(path, sha[:8])] = TreeEntry(path, mode, size, bundle_repo.blob(sha))
    return blobs


@pytest.fixture(scope="module")
def bundle_blobs(bundle_repo):
    return workspace_blobs(bundle_repo)


def test_it_has_an_expectation_for_every_version(bundle_blobs):
    assert sorted(bundle_blobs) == sorted(EXPECTED_FILE_FINDINGS)


@pytest.mark.parametrize(("path", "blob"), sorted(EXPECTED_FILE_FINDINGS))
def test_it_reports_bundle_version(bundle_blobs, catalog, path, blob):
    evaluation = evaluate_file(bundle_blobs[(path, blob)], catalog)
    assert [finding.code for finding in evaluation.findings] == EXPECTED_FILE_FINDINGS[(path, blob)]
    assert (evaluation.spec is not None) == (not EXPECTED_FILE_FINDINGS[(path, blob)])


def test_it_evaluates_main_as_approved_state(bundle_repo, catalog):
    evaluations = evaluate_tree(bundle_repo.tree("refs/heads/main"), catalog)
    codes = {path: [finding.code for finding in evaluation.findings] for path, evaluation in evaluations.items()}
    assert codes == {
        "user/ami.yaml": ["username.uppercase"],
        "user/bbb.yaml": [],
        "user/jules.yaml": [],
        "user/lars.yaml": [],
        "user/rook.yaml": [],
        "user/tam.yaml": ["username.mismatch"],
        "user/test.yaml": ["username.mismatch"],
    }


def test_it_skips_gitkeep_placeholder(bundle_repo, catalog):
    tree = bundle_repo.tree("refs/heads/main")
    assert "user/.gitkeep" in tree
    assert "user/.gitkeep" not in evaluate_tree(tree, catalog)


@pytest.mark.parametrize("number", sorted(EXPECTED_PULL_REQUESTS))
def test_it_classifies_bundle_pull_request(bundle_repo, catalog, number):
    head = bundle_repo.rev_parse(f"refs/pull/{number}/head")
    base = bundle_repo.pull_request_base(head)
    change = evaluate_change(bundle_repo.tree(base), bundle_repo.tree(head), catalog)
    kind, username, old_username, codes = EXPECTED_PULL_REQUESTS[number]
    assert change.kind == kind
    assert change.username == username
    assert change.old_username == old_username
    assert [finding.code for finding in change.findings] == codes
