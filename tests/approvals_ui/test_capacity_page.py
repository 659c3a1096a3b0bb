"""The capacity page: GPU memory per node as the local testbed's API server reports it."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse


def node_row(html: str, node: str) -> str:
    """Return the table row of ``node`` on the capacity page."""
    match = re.search(rf'<tr data-node="{re.escape(node)}".*?</tr>', html, re.DOTALL)
    assert match, f"no table row for node {node}"
    return match.group(0)


@pytest.mark.cluster
def test_it_shows_each_testbed_node_with_its_workspaces(admin_client, cluster):
    cluster.run_workspace_pods({"carol": "spark-1"}, gpumem_mib=32768)

    html = admin_client.get(reverse("approvals:capacity")).content.decode()

    spark1 = node_row(html, "spark-1")
    assert "96 GiB" in spark1
    assert "reported by the cluster" in spark1
    assert "64 GiB" in spark1
    assert "1/4" in spark1
    assert "carol" in spark1
    assert "0/4" in node_row(html, "spark-2")


@pytest.mark.cluster
def test_it_marks_a_node_that_is_not_ready(admin_client, cluster):
    unready = cluster.add_node("unready", gpus=4, ready=False)

    html = admin_client.get(reverse("approvals:capacity")).content.decode()

    assert "not schedulable" in node_row(html, unready)
    assert "not schedulable" not in node_row(html, "spark-1")


@pytest.mark.cluster
def test_it_counts_gpu_pods_waiting_for_a_node(admin_client, cluster):
    cluster.add_pending_workspace_pod("dave")

    html = admin_client.get(reverse("approvals:capacity")).content.decode()

    assert "1 GPU pod is waiting for a node." in html


def test_it_says_capacity_is_unknown_without_a_cluster(admin_client, no_cluster):
    html = admin_client.get(reverse("approvals:capacity")).content.decode()

    assert "Capacity unknown." in html
    assert 'data-testid="capacity-table"' not in html
