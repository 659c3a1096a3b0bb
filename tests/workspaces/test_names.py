"""Kubernetes names derived from a workspace: valid DNS labels that never collide."""

import pytest

from workspaces import names


def test_it_puts_username_and_uid_in_the_namespace():
    assert names.namespace_name("alice", "abc123") == "ws-alice-abc123"


def test_it_shortens_a_long_username_to_a_valid_label():
    username = "a" * 60 + "-b"

    namespace = names.namespace_name(username, "abc123")

    assert len(namespace) == 63
    assert names.is_dns_label(namespace)
    assert namespace.endswith("-abc123")


def test_it_never_ends_the_shortened_username_with_a_dash():
    username = "a" * 52 + "-" + "b" * 10

    namespace = names.namespace_name(username, "abc123")

    assert "--" not in namespace
    assert names.is_dns_label(namespace)


def test_it_gives_a_recreated_workspace_another_namespace():
    first = names.namespace_name("alice", names.new_uid())
    second = names.namespace_name("alice", names.new_uid())

    assert first != second


def test_it_keeps_same_prefixed_long_usernames_apart():
    prefix = "x" * 70
    left = names.namespace_name(prefix[:62] + "a", "aaaaaa")
    right = names.namespace_name(prefix[:62] + "b", "bbbbbb")

    assert left != right


@pytest.mark.parametrize("username", ["Alice", "alice_b", "-alice", "", "a" * 64])
def test_it_rejects_a_username_that_is_not_a_dns_label(username):
    with pytest.raises(names.InvalidName):
        names.namespace_name(username, "abc123")


def test_it_rejects_a_malformed_uid():
    with pytest.raises(names.InvalidName):
        names.namespace_name("alice", "ABC123")


def test_it_labels_objects_with_the_workspace_and_uid():
    assert names.labels("alice", "abc123") == {
        "app.kubernetes.io/managed-by": "larr1",
        "larr1.io/workspace": "alice",
        "larr1.io/workspace-uid": "abc123",
    }
