"""Check workspace files or a checkout of the user repository, like the command-line checker."""

from pathlib import Path

from django.core.management.base import BaseCommand
from django.utils import translation

from workspaces.contract.cli import LANGUAGES, run


class Command(BaseCommand):
    help = "Check workspace files (user/<username>.yaml) or a checkout; exit with status 1 when there is an error."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", metavar="PATH", help="a workspace file, or a checkout folder")
        parser.add_argument("--catalog", help="the platform catalog (default: LARR1_CATALOG)")
        parser.add_argument("--lang", choices=LANGUAGES, default="en", help="the language of the messages")
        parser.add_argument("--format", choices=("text", "github"), default="text", dest="output_format")

    def handle(self, *args, paths, catalog=None, lang="en", output_format="text", **options):
        with translation.override(lang):
            status = run(
                paths,
                catalog_path=Path(catalog) if catalog else None,
                output_format=output_format,
                stdout=self.stdout,
            )
        if status:
            raise SystemExit(status)
