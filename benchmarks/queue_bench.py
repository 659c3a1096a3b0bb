"""Measure the server time of the admin queue page with 1,000 open requests.

Run against the test PostgreSQL (the script creates and drops its own database):

    eval "$(bin/test-services)" && LARR1_ENV=test .venv/bin/python benchmarks/queue_bench.py [--requests N] [--rounds N]

It prints the median and worst time of rendering /admin/requests/ (first page,
with and without filters) through Django's test client, and the number of SQL
queries per render, which stays the same whatever the number of requests.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "larr1.settings")
os.environ.setdefault("LARR1_ENV", "test")
os.environ.setdefault("LARR1_TEST_DB_NAME", "bench_larr1_queue")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402

FINDINGS = [
    {"severity": "error", "code": "cuda.unknown", "field": "cuda.version", "params": {}, "suggestion": None},
    {"severity": "warning", "code": "risk.email-changed", "field": "user.email", "params": {}, "suggestion": None},
]


def make_requests(count: int) -> None:
    from approvals.models import Request

    Request.objects.bulk_create(
        Request(
            forge="git",
            number=index + 1,
            ref=f"refs/pull/{index + 1}/head",
            title=f"Add user{index}",
            author=f"user{index}",
            head_sha=f"{index:040x}",
            change_kind="create",
            path=f"user/user{index}.yaml",
            username=f"user{index}",
            findings=FINDINGS if index % 2 else [],
            has_errors=bool(index % 2),
            risks=["risk.email-changed"] if index % 2 else [],
        )
        for index in range(count)
    )


def measure(client, url: str, params: dict, rounds: int) -> tuple[list[float], int]:
    client.get(url, params)  # warm caches, templates and the session
    timings = []
    queries = 0
    for _ in range(rounds):
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            response = client.get(url, params)
            timings.append(time.perf_counter() - start)
        assert response.status_code == 200, response.status_code
        queries = len(captured)
    return timings, queries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000, help="open requests to create (default 1000)")
    parser.add_argument("--rounds", type=int, default=30, help="renders to time per case (default 30)")
    args = parser.parse_args()

    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.test.utils import get_runner

    setup_test_environment()
    runner = get_runner(settings)(verbosity=0, interactive=False)
    old_config = runner.setup_databases()
    try:
        make_requests(args.requests)
        admin = get_user_model().objects.create_user("bench-admin", "bench-admin@example.com", is_staff=True)
        client = Client()
        client.force_login(admin)
        print(f"queue page, {args.requests} open requests, {args.rounds} rounds, Django test client, no network")
        cases = {"first page": {}, "errors + username filter": {"errors": "yes", "q": "user1"}, "page 10": {"page": 10}}
        for name, params in cases.items():
            timings, queries = measure(client, "/admin/requests/", params, args.rounds)
            median = statistics.median(timings) * 1000
            worst = max(timings) * 1000
            print(f"  {name:26s} median {median:7.1f} ms   max {worst:7.1f} ms   {queries} SQL queries")
    finally:
        runner.teardown_databases(old_config)


if __name__ == "__main__":
    main()
