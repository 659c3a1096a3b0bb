"""The newcomer's path through the demo, from a fresh start of the run command.

The run command (``python -m larr1.devstack``) starts as a subprocess with its own
data directory, ports and development settings, exactly as a newcomer runs it,
except that the local testbed cluster is already up (the test session starts it).
A browser then signs in as the demo admin, approves the valid request, watches
the workspace become Running, reads the credentials email in the captured mail,
signs in as the demo researcher and sees the workspace's status and address.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.cluster]

REPO_ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 300  # seconds; a first start migrates SQLite, syncs the repository and starts four processes
RUNNING_TIMEOUT = 180_000  # milliseconds, for the browser to see the workspace Running
DEMO_USERNAMES = {"kai", "lin", "researcher"}
SIGN_IN_LINE = re.compile(r"Sign in as the (admin|researcher) (\S+) with the password (\S+)")
# Variables of the test session that must not reach the run command: a newcomer has none of them.
NOT_INHERITED_PREFIXES = ("LARR1_", "DATABASE_URL", "REDIS_URL", "EMAIL_", "KUBECONFIG", "CELERY_", "DJANGO_")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class RunCommand:
    url: str
    accounts: dict[str, tuple[str, str]]  # role -> (email, password)
    output: list[str]


def read_lines(stream, lines: queue.Queue) -> None:
    for line in iter(stream.readline, ""):
        lines.put(line.rstrip("\n"))
    lines.put(None)


def workspace_namespaces(testbed) -> set[str]:
    from kubernetes import client

    with testbed.api_client() as api:
        found = client.CoreV1Api(api).list_namespace(label_selector="app.kubernetes.io/managed-by=larr1").items
    return {ns.metadata.name for ns in found if (ns.metadata.labels or {}).get("larr1.io/workspace") in DEMO_USERNAMES}


@pytest.fixture
def run_command(testbed, tmp_path):
    """Start the run command as a newcomer would; stop it with SIGTERM and delete the namespaces it created."""
    before = workspace_namespaces(testbed)
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith(NOT_INHERITED_PREFIXES)}
    env.update(
        LARR1_ENV="development",
        LARR1_DATA_DIR=str(tmp_path / "larr1"),
        LARR1_PORT=str(port),
        REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
        EMAIL_PORT=str(free_port()),
        PYTHONUNBUFFERED="1",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "larr1.devstack"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=read_lines, args=(process.stdout, lines), daemon=True).start()
    output: list[str] = []
    accounts: dict[str, tuple[str, str]] = {}
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while "Press Ctrl-C" not in (output[-1] if output else ""):
            remaining = deadline - time.monotonic()
            try:
                line = lines.get(timeout=max(0.1, remaining))
            except queue.Empty:
                line = None
            if line is None:
                tail = "\n".join(output[-40:])
                pytest.fail(f"the run command did not print its sign-in lines within {START_TIMEOUT}s:\n{tail}")
            output.append(line)
            match = SIGN_IN_LINE.search(line)
            if match:
                accounts[match.group(1)] = (match.group(2), match.group(3))
        yield RunCommand(url=f"http://127.0.0.1:{port}", accounts=accounts, output=output)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        _delete_namespaces(testbed, workspace_namespaces(testbed) - before)


def _delete_namespaces(testbed, names: set[str]) -> None:
    from kubernetes import client

    with testbed.api_client() as api:
        core = client.CoreV1Api(api)
        for name in names:
            try:
                core.delete_namespace(name)
            except client.ApiException as exc:
                if exc.status != 404:
                    raise


def sign_in(page, base_url: str, email: str, password: str) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", password)
    page.click("form[action='/accounts/login/'] button[type=submit]")
    page.wait_for_selector("[data-testid=signed-in-as]")


def sign_out(page) -> None:
    with page.expect_navigation():
        page.click("form[action='/accounts/logout/'] button[type=submit]")


def test_it_walks_the_newcomer_demo_path(run_command, page, screenshot):
    base = run_command.url
    admin_email, admin_password = run_command.accounts["admin"]
    researcher_email, researcher_password = run_command.accounts["researcher"]
    assert admin_email == "admin@example.com"
    assert researcher_email == "researcher@example.com"

    # 1. The admin signs in and opens the queue with the demo's pull requests.
    sign_in(page, base, admin_email, admin_password)
    page.goto(f"{base}/admin/requests/")
    page.wait_for_selector("[data-testid=queue]")
    screenshot("1-queue")

    # 2. The admin approves request #1, the valid new workspace for the researcher.
    page.click("[data-testid=queue] a:text-is('#1')")
    page.wait_for_selector("[data-testid=approve]")
    screenshot("2-request")
    page.click("[data-testid=approve]")

    # 3. The request page follows provisioning until the workspace runs.
    page.wait_for_selector("[data-testid=workspace-state][data-state=running]", timeout=RUNNING_TIMEOUT)
    assert "https://researcher." in page.inner_text("[data-testid=live-state]")
    screenshot("3-running")

    # 4. The credentials email waits in the captured mail.
    # The approval email before it links to this site, whatever port the run command uses.
    page.goto(f"{base}/dev/mail/")
    page.click(f"tr:has-text('{researcher_email}'):has-text('was approved') a")
    assert f"{base}/" in page.inner_text("main")
    page.goto(f"{base}/dev/mail/")
    page.click(f"tr:has-text('{researcher_email}'):has-text('is ready') a")
    body = page.inner_text("main")
    assert researcher_email in body
    assert "https://researcher." in body
    assert re.search(r"Password: \S+", body)
    screenshot("4-credentials-email")

    # 5. The researcher signs in and sees the workspace's status and address.
    sign_out(page)
    sign_in(page, base, researcher_email, researcher_password)
    page.wait_for_selector("[data-testid=my-workspaces] [data-testid=workspace-status][data-state=running]")
    url = page.inner_text("[data-testid=my-workspaces] [data-testid=workspace-url]")
    assert url.startswith("https://researcher.")
    screenshot("5-researcher-home")
    page.click("[data-testid=my-workspaces] h3 a")
    page.wait_for_selector("[data-testid=workspace-profile]")
    assert page.inner_text("[data-testid=workspace-profile]").startswith("medium")
    assert page.inner_text("[data-testid=workspace-cuda]") == "cuda13.0"
    screenshot("6-researcher-workspace")
