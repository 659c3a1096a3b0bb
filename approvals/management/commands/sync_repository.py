from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from approvals.exceptions import ApprovalsError, SyncAlreadyRunning, user_message
from approvals.locking import sync_lock
from approvals.sync import sync_repository


class Command(BaseCommand):
    help = "Fetch the user repository now and print which requests and approved files changed."

    def add_arguments(self, parser):
        parser.add_argument(
            "--wait",
            type=float,
            default=float(settings.LARR1_GIT_TIMEOUT),
            help="Seconds to wait for a running sync to finish (default: LARR1_GIT_TIMEOUT).",
        )

    def handle(self, *args, wait: float, **options):
        try:
            with sync_lock(blocking_timeout=wait):
                report = sync_repository(trigger="command")
        except SyncAlreadyRunning as exc:
            raise CommandError(str(user_message(exc.code))) from None
        except ApprovalsError as exc:
            raise CommandError(f"{user_message(exc.code)} ({exc})") from None
        for line in report.lines():
            self.stdout.write(line)
