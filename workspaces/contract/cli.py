"""Check workspace files from the command line, as the user repository's CI does.

    python -m workspaces.contract.cli [--catalog PATH] [--lang en|zh-hant]
                                      [--format text|github] PATH_OR_DIR...

A file argument is checked as one workspace file; a folder is checked as a
checkout of the user repository: every file under user/, and any YAML file
elsewhere that looks like a misplaced workspace file. Files are read without
following symbolic links. The exit status is 1 when there is an error, 0 when
there are only warnings or nothing, and 2 for a usage error.

Only Django and PyYAML need to be installed: when no Django settings are
configured, minimal ones are set up so that messages can be translated.
"""

from __future__ import annotations

import argparse
import os
import stat
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from workspaces.contract.model import (
    MAX_FILE_BYTES,
    MODE_EXECUTABLE,
    MODE_FILE,
    MODE_SYMLINK,
    MODE_TREE,
    USER_DIR,
    FileEvaluation,
    TreeEntry,
    path_stem,
)

PROJECT_DIR = Path(__file__).resolve().parents[2]
DEFAULT_CATALOG = PROJECT_DIR / "larr1" / "platform.yaml"
LANGUAGES = ("en", "zh-hant")
# Folders of a checkout that hold no workspace files. Hidden folders outside user/
# are skipped too, such as .github and a .larr1 checkout made by the CI workflow.
SKIPPED_DIRS = {"node_modules", "venv"}


def configure_django() -> None:
    """Configure just enough of Django for translations when nothing else has configured it."""
    import django
    from django.apps import apps
    from django.conf import settings

    if not settings.configured:
        settings.configure(
            USE_I18N=True,
            LANGUAGE_CODE="en",
            LANGUAGES=[("en", "English"), ("zh-hant", "Traditional Chinese")],
            LOCALE_PATHS=[PROJECT_DIR / "locale"],
            INSTALLED_APPS=[],
        )
    if not apps.ready:
        django.setup()


def build_parser() -> argparse.ArgumentParser:
    from django.utils.translation import gettext as _

    parser = argparse.ArgumentParser(
        prog="python -m workspaces.contract.cli",
        description=_("Check workspace files (user/<username>.yaml) and print every problem found."),
    )
    parser.add_argument(
        "paths", nargs="+", metavar="PATH", help=_("a workspace file, or a checkout of the user repository")
    )
    parser.add_argument("--catalog", type=Path, default=None, help=_("the platform catalog (default: Larr1's own)"))
    parser.add_argument("--lang", choices=LANGUAGES, default="en", help=_("the language of the messages"))
    parser.add_argument(
        "--format",
        choices=("text", "github"),
        default="text",
        help=_("text: one line per finding; github: GitHub Actions annotations"),
    )
    return parser


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None) -> int:
    configure_django()
    from django.utils import translation

    args = build_parser().parse_args(argv)
    stdout = stdout or sys.stdout
    with translation.override(args.lang):
        return run(args.paths, catalog_path=args.catalog, output_format=args.format, stdout=stdout)


def run(paths: Sequence[str], *, catalog_path: Path | None, output_format: str, stdout: TextIO) -> int:
    """Check ``paths``, print the findings and return the exit status (1 when there is an error)."""
    from django.utils.translation import gettext as _

    from workspaces.contract.catalog import CatalogError, load_catalog

    try:
        catalog = load_catalog(catalog_path or _default_catalog_path())
    except CatalogError as exc:
        stdout.write(_("Invalid platform catalog: %(error)s") % {"error": exc} + "\n")
        return 2

    evaluations: list[FileEvaluation] = []
    for argument in paths:
        if not os.path.lexists(argument):
            stdout.write(_("%(path)s: not found") % {"path": argument} + "\n")
            return 2
        evaluations.extend(check_path(Path(argument), catalog))

    errors = warnings = 0
    for evaluation in evaluations:
        for finding in evaluation.findings:
            if finding.is_error:
                errors += 1
            else:
                warnings += 1
            stdout.write(format_finding(evaluation.path, finding, output_format) + "\n")
    summary = _("Files checked: %(files)d. Errors: %(errors)d. Warnings: %(warnings)d.")
    stdout.write(summary % {"files": len(evaluations), "errors": errors, "warnings": warnings} + "\n")
    return 1 if errors else 0


def _default_catalog_path() -> Path:
    from django.conf import settings

    return Path(getattr(settings, "LARR1_CATALOG_PATH", DEFAULT_CATALOG))


def check_path(path: Path, catalog) -> list[FileEvaluation]:
    """Evaluate one file argument, or every workspace file of a checkout folder."""
    from workspaces.contract.rules import evaluate_file, evaluate_tree

    info = os.lstat(path)
    if stat.S_ISDIR(info.st_mode):
        workspace_entries, misplaced = read_checkout(path)
        evaluations = list(evaluate_tree(workspace_entries, catalog).values())
        evaluations.extend(evaluate_file(entry, catalog) for entry in misplaced)
        return evaluations

    relative = _repository_path(path)
    entry = read_entry(path, relative)
    return [evaluate_file(entry, catalog, other_usernames=_sibling_names(path))]


def read_checkout(root: Path) -> tuple[dict[str, TreeEntry], list[TreeEntry]]:
    """Read a checkout without following links: the entries under user/, and misplaced workspace files."""
    from workspaces.contract.changes import _looks_like_workspace_file

    workspace_entries: dict[str, TreeEntry] = {}
    misplaced: list[TreeEntry] = []
    for directory, subdirectories, files in os.walk(root, followlinks=False):
        relative_dir = Path(directory).relative_to(root).as_posix()
        in_user_dir = relative_dir == USER_DIR or relative_dir.startswith(f"{USER_DIR}/")
        subdirectories[:] = sorted(
            name for name in subdirectories if name not in SKIPPED_DIRS and (in_user_dir or not name.startswith("."))
        )
        # os.walk lists links to folders among the sub-folders; report them as the links they are.
        for name in list(subdirectories):
            if os.path.islink(os.path.join(directory, name)):
                files.append(name)
                subdirectories.remove(name)
        for name in sorted(files):
            relative = name if relative_dir == "." else f"{relative_dir}/{name}"
            full_path = Path(directory, name)
            if relative.startswith(f"{USER_DIR}/"):
                workspace_entries[relative] = read_entry(full_path, relative)
            elif name.endswith((".yaml", ".yml")):
                entry = read_entry(full_path, relative)
                if _looks_like_workspace_file(entry):
                    misplaced.append(entry)
    return workspace_entries, misplaced


def read_entry(path: Path, relative: str) -> TreeEntry:
    """Read a file as git would store it: a link stays a link, and a large file is not loaded."""
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        return TreeEntry(relative, MODE_SYMLINK, info.st_size, None)
    if stat.S_ISDIR(info.st_mode):
        return TreeEntry(relative, MODE_TREE, 0, None)
    if not stat.S_ISREG(info.st_mode):
        return TreeEntry(relative, 0, info.st_size, None)
    mode = MODE_EXECUTABLE if info.st_mode & stat.S_IXUSR else MODE_FILE
    if info.st_size > MAX_FILE_BYTES:
        return TreeEntry(relative, mode, info.st_size, None)

    # O_NOFOLLOW: the file could have been swapped for a link since lstat.
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(descriptor, "rb") as stream:
        data = stream.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        return TreeEntry(relative, mode, len(data), None)
    return TreeEntry(relative, mode, len(data), data)


def _repository_path(path: Path) -> str:
    """Name a file argument as the repository would: user/<name> when it sits in a user folder."""
    absolute = Path(os.path.abspath(path))
    try:
        return absolute.relative_to(Path.cwd()).as_posix()
    except ValueError:
        pass
    if absolute.parent.name == USER_DIR:
        return f"{USER_DIR}/{absolute.name}"
    return absolute.name


def _sibling_names(path: Path) -> list[str]:
    """The names of the other workspace files beside ``path``, for the username collision check."""
    folder = Path(os.path.abspath(path)).parent
    if folder.name != USER_DIR:
        return []
    names = []
    for sibling in folder.iterdir():
        if sibling.name != path.name and sibling.name.endswith((".yaml", ".yml")):
            names.append(path_stem(sibling.name))
    return names


def format_finding(path: str, finding, output_format: str) -> str:
    from django.utils.translation import gettext as _

    fix_label = _("fix:")
    if output_format == "github":
        command = "error" if finding.is_error else "warning"
        properties = f"file={_escape_property(path)}"
        if finding.line:
            properties += f",line={finding.line}"
        properties += f",title={_escape_property(finding.code)}"
        text = finding.message
        if finding.suggestion:
            text += f"\n{fix_label}\n{finding.suggestion}"
        return f"::{command} {properties}::{_escape_data(text)}"

    location = f"{path}:{finding.line}" if finding.line else path
    line = f"{location}: {finding.severity.value} [{finding.code}] {finding.message}"
    if finding.suggestion and "\n" not in finding.suggestion:
        line += f" — {fix_label} {finding.suggestion}"
    elif finding.suggestion:
        indented = "\n".join(f"    {suggestion_line}" for suggestion_line in finding.suggestion.splitlines())
        line += f" — {fix_label}\n{indented}"
    return line


def _escape_data(text: str) -> str:
    # GitHub's workflow command format: https://docs.github.com/actions/reference/workflow-commands-for-github-actions
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


if __name__ == "__main__":
    sys.exit(main())
