"""Measure reconcile rounds on the testbed with many workspaces: API calls per round and duration.

    eval "$(bin/test-services)" && LARR1_ENV=test .venv/bin/python benchmarks/reconcile_bench.py [--sizes 30 100 300]

For each size it brings the number of workspaces up to that size, then runs two
rounds and prints, per round, the API calls (list calls and repairs) and the
duration. The workspaces are created as provisioning would leave them: a Workspace
row with its applied specification, and every object the builders make, sent with
server-side apply. The Deployments run one pod each. The testbed's two nodes have
8 GPUs between them, so all but a few pods stay Pending as unschedulable, which
the rounds read and record like any other state. Credentials are a placeholder
hash and no email is sent. The benchmark uses a throwaway database (Django's test
name, or LARR1_TEST_DB_NAME) on the configured DATABASE_URL and deletes its
namespaces at the end.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "larr1.settings")
os.environ.setdefault("LARR1_ENV", "test")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import override_settings  # noqa: E402

from larr1.catalog import clear_catalog_cache  # noqa: E402
from tests.testbed_plugin import start_testbed  # noqa: E402

APPLY_THREADS = 8


def spec_for(username: str) -> dict:
    return {
        "username": username,
        "email": f"{username}@example.com",
        "profile": "small",
        "cuda": "cuda13.0",
        "storage": "20Gi",
    }


def create_workspaces(start: int, stop: int, prefix: str) -> None:
    """Create workspaces number ``start`` to ``stop - 1`` as a finished provisioning run leaves them."""
    from workspaces import objects
    from workspaces.kube import Kube
    from workspaces.models import Workspace
    from workspaces.reconcile import desired_objects

    rows = []
    for number in range(start, stop):
        username = f"{prefix}{number}"
        spec = spec_for(username)
        rows.append(Workspace(username=username, spec=spec, applied_spec=spec, observed_state="running"))
    for row in rows:
        row.save()

    def apply_all(workspace) -> None:
        kube = Kube()
        for obj in desired_objects(workspace):
            if obj["kind"] == "Secret":
                from workspaces.provisioning import target_for

                kube.create_if_absent(objects.credentials_secret(target_for(workspace), "placeholder"))
            else:
                kube.apply(obj)

    with ThreadPoolExecutor(APPLY_THREADS) as pool:
        list(pool.map(apply_all, rows))


def delete_namespaces() -> None:
    from workspaces.kube import Kube
    from workspaces.models import Workspace

    kube = Kube()
    namespaces = list(Workspace.objects.values_list("namespace", flat=True))
    with ThreadPoolExecutor(APPLY_THREADS) as pool:
        list(pool.map(lambda name: kube.delete("Namespace", name), namespaces))


def measure(size: int) -> list[str]:
    from workspaces.kube import Kube
    from workspaces.reconcile import list_cluster, run_round

    lines = []
    for round_number in (1, 2):
        kube = Kube()
        list_calls = list_cluster(kube).calls
        run = run_round(Kube())
        lines.append(
            f"{size:>10} {round_number:>5} {run.workspaces:>8} {list_calls:>10} {run.api_calls:>9} "
            f"{len(run.repairs):>7} {run.duration:>9.2f}"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[30, 100, 300])
    args = parser.parse_args()
    sizes = sorted(args.sizes)

    testbed = start_testbed()
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    prefix = f"bench{os.getpid() % 100000}-"
    overrides = {
        "LARR1_KUBECONFIG": testbed.kubeconfig,
        "LARR1_KUBE_CONTEXT": None,
        "LARR1_KUBE_IN_CLUSTER": False,
        "LARR1_CATALOG_PATH": REPO_ROOT / "larr1" / "platform-testbed.yaml",
    }
    try:
        with override_settings(**overrides):
            clear_catalog_cache()
            database = settings.DATABASES["default"]["NAME"]
            print(f"Kubernetes API server: testbed ({testbed.kubeconfig}); database: {database}")
            print(
                f"{'workspaces':>10} {'round':>5} {'checked':>8} {'list calls':>10} {'API calls':>9} "
                f"{'repairs':>7} {'seconds':>9}"
            )
            created = 0
            for size in sizes:
                started = time.monotonic()
                create_workspaces(created, size, prefix)
                print(f"# created workspaces {created}..{size - 1} in {time.monotonic() - started:.1f}s", flush=True)
                created = size
                for line in measure(size):
                    print(line, flush=True)
            delete_namespaces()
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    main()
