"""Every string a person reads exists in Traditional Chinese, and the compiled catalogue is current."""

import gettext
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]
CATALOGUE = Path("locale/zh_Hant/LC_MESSAGES/django.po")
SOURCES = ["larr1", "approvals", "workspaces", "templates", "manage.py", "locale"]


def parse_po(path: Path) -> dict[str, str]:
    """Map each msgid (singular, with its context when present) to its msgstr; fuzzy entries map to ''."""
    entries = {}
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        lines = [line for line in block.splitlines() if line and not line.startswith("#~")]
        fuzzy = any(line.startswith("#,") and "fuzzy" in line for line in lines)
        fields: dict[str, str] = {}
        current = None
        for line in lines:
            match = re.match(r'^(msgctxt|msgid|msgid_plural|msgstr(?:\[\d+\])?) "(.*)"$', line)
            if match:
                current = match.group(1)
                fields[current] = match.group(2)
            elif line.startswith('"') and current:
                fields[current] += line[1:-1]
        if fields.get("msgid"):
            key = fields["msgid"] if "msgctxt" not in fields else f"{fields['msgctxt']}\x04{fields['msgid']}"
            translated = fields.get("msgstr", fields.get("msgstr[0]", ""))
            entries[decode(key)] = "" if fuzzy else decode(translated)
    return entries


ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}


def decode(text: str) -> str:
    return re.sub(r"\\(.)", lambda match: ESCAPES.get(match.group(1), match.group(0)), text)


def test_it_translates_every_string():
    untranslated = [msgid for msgid, msgstr in parse_po(BASE_DIR / CATALOGUE).items() if not msgstr]
    assert untranslated == []


def test_it_compiles_the_catalogue_that_is_used():
    with (BASE_DIR / CATALOGUE).with_suffix(".mo").open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    for msgid, msgstr in parse_po(BASE_DIR / CATALOGUE).items():
        if "\x04" in msgid:
            context, text = msgid.split("\x04", 1)
            assert compiled.pgettext(context, text) == msgstr, msgid
        else:
            assert compiled.gettext(msgid) == msgstr, msgid


@pytest.fixture
def extracted_catalogue(tmp_path):
    """Run makemessages on a copy of the sources and return the catalogue it writes."""
    for name in SOURCES:
        source = BASE_DIR / name
        target = tmp_path / name
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, target)
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "zh_Hant", "--no-location", "--no-obsolete"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    return tmp_path / CATALOGUE


def test_it_catalogues_every_marked_string(extracted_catalogue):
    current = set(parse_po(extracted_catalogue))
    committed = set(parse_po(BASE_DIR / CATALOGUE))
    assert sorted(current - committed) == []
