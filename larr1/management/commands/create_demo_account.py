from pathlib import Path

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Create (or reset) an account with a verified e-mail address, for the local demo."

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True)
        parser.add_argument("--password-file", required=True, type=Path, help="File that contains the password.")
        parser.add_argument("--staff", action="store_true", help="Make the account a cluster admin.")

    def handle(self, *args, email, password_file, staff, **options):
        try:
            password = password_file.read_text().strip()
        except OSError as exc:
            raise CommandError(f"Cannot read the password file {password_file}: {exc.strerror}") from None
        User = get_user_model()
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            user = User(username=email.split("@")[0], email=email)
        user.is_staff = staff
        user.is_superuser = staff
        user.set_password(password)
        user.save()
        EmailAddress.objects.update_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
        self.stdout.write(f"Demo account {email} is ready.")
