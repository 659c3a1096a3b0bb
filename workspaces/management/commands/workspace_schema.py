"""Write the workspace file's JSON Schema for the catalog Larr1 runs with."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand

from larr1.catalog import get_catalog
from workspaces.contract import json_schema


class Command(BaseCommand):
    help = "Write the JSON Schema of user/<username>.yaml, for editors and the user repository's CI."

    def add_arguments(self, parser):
        parser.add_argument("-o", "--output", type=Path, help="the file to write (default: standard output)")

    def handle(self, *args, output=None, **options):
        text = json.dumps(json_schema(get_catalog()), indent=2, ensure_ascii=False) + "\n"
        if output is None:
            self.stdout.write(text, ending="")
            return
        output.write_text(text, encoding="utf-8")
        self.stderr.write(f"Wrote {output}")
