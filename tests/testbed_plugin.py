"""Pytest plugin giving tests a real local Kubernetes cluster (see testbed/).

Load it with ``pytest_plugins = ["tests.testbed_plugin"]`` or ``-p tests.testbed_plugin``.

Fixtures:

- ``testbed`` (session): starts the cluster with ``testbed/start``, which reuses the
  one already running from the same state directory (``LARR1_TESTBED_DIR``, default
  ``<repo>/.testbed``); the run then checks that ``<state>/kubeconfig`` works. If the
  cluster cannot be built or started, the run fails with the script's output: it is
  never skipped. The cluster is left running for the next run; ``testbed/stop``
  stops it.
- ``kube_namespace_prefix`` (function): a fresh prefix such as ``tq3x9ab-`` for the
  names of the namespaces a test creates; namespaces still carrying it when the test
  ends are deleted.
"""

from __future__ import annotations

import os
import secrets
import string
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
TESTBED_SRC = REPO_ROOT / "testbed"

# A cold build compiles Kubernetes from source: allow it time on a 2-core machine.
START_TIMEOUT = int(os.environ.get("LARR1_TESTBED_PYTEST_TIMEOUT", "3600"))
OUTPUT_TAIL_LINES = 40


def state_dir() -> Path:
    return Path(os.environ.get("LARR1_TESTBED_DIR") or REPO_ROOT / ".testbed")


@dataclass(frozen=True)
class Testbed:
    """A running local cluster."""

    kubeconfig: Path

    def api_client(self):
        """A new ``kubernetes.client.ApiClient`` for the cluster's admin."""
        from kubernetes import config

        return config.new_client_from_config(config_file=str(self.kubeconfig))

    def is_ready(self) -> bool:
        """True when the API server answers and every simulated node is Ready."""
        from kubernetes import client

        if not self.kubeconfig.is_file():
            return False
        try:
            with self.api_client() as api:
                nodes = client.CoreV1Api(api).list_node(label_selector="type=kwok", _request_timeout=5)
        except Exception:  # noqa: BLE001 - any failure means "not usable as is"
            return False
        if not nodes.items:
            return False
        for node in nodes.items:
            ready = any(c.type == "Ready" and c.status == "True" for c in node.status.conditions or [])
            if not ready:
                return False
        return True


def start_testbed() -> Testbed:
    """Starts (or reuses) the cluster, or fails the test run with the reason."""
    bed = Testbed(kubeconfig=state_dir() / "kubeconfig")
    # testbed/start returns in a fraction of a second when the cluster already runs
    # with the current settings, so it is always asked.
    command = [str(TESTBED_SRC / "start")]
    try:
        result = subprocess.run(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=START_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        output = exc.output or ""
        if isinstance(output, bytes):
            output = output.decode(errors="replace")
        pytest.fail(f"testbed/start did not finish in {START_TIMEOUT}s:\n{_tail(output)}", pytrace=False)
    except OSError as exc:
        pytest.fail(f"could not run {command[0]}: {exc}", pytrace=False)
    if result.returncode != 0:
        pytest.fail(
            f"testbed/start failed (exit {result.returncode}); the local Kubernetes cluster "
            f"is needed by these tests. Last lines of its output:\n{_tail(result.stdout)}",
            pytrace=False,
        )
    if not bed.is_ready():
        pytest.fail(
            f"testbed/start succeeded but {bed.kubeconfig} does not reach a ready cluster:\n{_tail(result.stdout)}",
            pytrace=False,
        )
    return bed


def _tail(text: str) -> str:
    return "\n".join(text.rstrip().splitlines()[-OUTPUT_TAIL_LINES:])


@pytest.fixture(scope="session")
def testbed() -> Testbed:
    return start_testbed()


_PREFIX_ALPHABET = string.ascii_lowercase + string.digits


@pytest.fixture
def kube_namespace_prefix(testbed: Testbed):
    prefix = "t" + "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(6)) + "-"
    yield prefix
    from kubernetes import client

    with testbed.api_client() as api:
        core = client.CoreV1Api(api)
        for ns in core.list_namespace().items:
            if ns.metadata.name.startswith(prefix) and not ns.metadata.deletion_timestamp:
                try:
                    core.delete_namespace(ns.metadata.name)
                except client.ApiException as exc:
                    if exc.status != 404:
                        raise
