"""Run provisioning in a separate process and SIGKILL it right after a named step is recorded done.

Usage: python -m tests.workspaces.crash_worker <workspace id> <step name>
The environment names the database, the cluster and the mail server.
"""

import os
import signal
import sys

import django


def main() -> None:
    workspace_id, stop_after = int(sys.argv[1]), sys.argv[2]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "larr1.settings")
    django.setup()
    from workspaces import provisioning

    def kill_after(step) -> None:
        if step.name == stop_after:
            os.kill(os.getpid(), signal.SIGKILL)

    provisioning.step_done_hooks.append(kill_after)
    provisioning.provision(workspace_id)


if __name__ == "__main__":
    main()
