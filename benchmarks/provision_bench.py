"""Measure approve-to-email latency and Kubernetes API calls per workspace on the local testbed.

Usage (the testbed must be running: testbed/start):

    .venv/bin/python benchmarks/provision_bench.py [--count 20]

Each workspace is approved the way the mirror does it, with an ApprovedFile row and
the approved_state_changed signal. The clock stops when the credentials email has
reached a real SMTP server on loopback. Tasks run in this process (Celery's eager
mode), so the numbers leave out broker queueing. Workspaces are provisioned one
after another and each namespace is deleted before the next, because the testbed
has 8 GPUs. The database is a throw-away SQLite file.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def configure_environment(work_dir: Path, smtp_port: int) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "larr1.settings",
            "LARR1_ENV": "test",
            "DATABASE_URL": f"sqlite:///{work_dir / 'bench.sqlite3'}",
            "LARR1_DATA_DIR": str(work_dir),
            "LARR1_CATALOG": str(REPO_ROOT / "larr1" / "platform-testbed.yaml"),
            "KUBECONFIG": str(REPO_ROOT / ".testbed" / "kubeconfig"),
            "CELERY_TASK_ALWAYS_EAGER": "true",
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(smtp_port),
            "LOG_LEVEL": "WARNING",
        }
    )


def percentile(values: list[float], fraction: float) -> float:
    """Return the nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, round(fraction * len(ordered)))
    return ordered[rank - 1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20, help="workspaces to provision (default 20)")
    arguments = parser.parse_args()

    sys.path.insert(0, str(REPO_ROOT))
    work_dir = Path(tempfile.mkdtemp(prefix="larr1-provision-bench-"))
    from larr1.mailsink import MailSink, captured_messages

    sink = MailSink(work_dir / "mail", port=0).start()
    configure_environment(work_dir, sink.port)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction

    from approvals.models import ApprovedFile
    from approvals.signals import approved_state_changed
    from workspaces.kube import API_CALLS, Kube
    from workspaces.models import Workspace

    call_command("migrate", verbosity=0)
    kube = Kube()
    run_id = secrets.token_hex(3)
    latencies: list[float] = []
    calls: list[int] = []
    try:
        for index in range(arguments.count):
            username = f"bench{run_id}-{index}"
            spec = {
                "username": username,
                "email": f"{username}@example.com",
                "profile": "small",
                "cuda": "cuda13.0",
                "storage": "20Gi",
            }
            calls_before = API_CALLS.value
            started = time.perf_counter()
            with transaction.atomic():
                ApprovedFile.objects.create(path=f"user/{username}.yaml", username=username, valid=True, spec=spec)
                approved_state_changed.send(sender=None, usernames={username})
            received = len(captured_messages(work_dir / "mail"))
            if received != index + 1:
                raise SystemExit(f"{username}: expected {index + 1} emails, found {received}")
            latencies.append(time.perf_counter() - started)
            calls.append(API_CALLS.value - calls_before)
            workspace = Workspace.objects.get(username=username)
            kube.delete("Namespace", workspace.namespace)
            print(f"{username}: {latencies[-1]:.2f} s, {calls[-1]} API calls", flush=True)
    finally:
        sink.stop()

    print()
    print(f"workspaces:               {len(latencies)}")
    print(f"approve-to-email p50:     {percentile(latencies, 0.50):.2f} s")
    print(f"approve-to-email p95:     {percentile(latencies, 0.95):.2f} s")
    print(f"approve-to-email mean:    {statistics.mean(latencies):.2f} s")
    print(f"API calls per workspace:  mean {statistics.mean(calls):.1f}, min {min(calls)}, max {max(calls)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
