"""The command-line checker that the user repository's CI runs: output, exit status, languages."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest
from django.core.management import call_command

from tests.contract.conftest import PROJECT_DIR, workspace
from workspaces.contract.cli import main


def run_cli(*args: str) -> tuple[int, str]:
    output = io.StringIO()
    status = main(list(args), stdout=output)
    return status, output.getvalue()


@pytest.fixture
def checkout(tmp_path, monkeypatch):
    """A checkout of the user repository, as the current directory."""
    (tmp_path / "user").mkdir()
    (tmp_path / "user" / ".gitkeep").write_text("")
    (tmp_path / "README.md").write_text("# Workspaces\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(checkout, path: str, text: str):
    target = checkout / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")
    return target


def test_it_exits_zero_for_valid_file(checkout):
    write(checkout, "user/alice.yaml", workspace("alice"))
    status, output = run_cli("user/alice.yaml")
    assert status == 0
    assert output == "Files checked: 1. Errors: 0. Warnings: 0.\n"


def test_it_prints_error_with_line_and_fix(checkout):
    write(checkout, "user/jules.yaml", workspace("Jules"))
    status, output = run_cli("user/jules.yaml")
    assert status == 1
    first_line = output.splitlines()[0]
    assert first_line.startswith("user/jules.yaml:2: error [username.uppercase] The username Jules contains capital")
    assert first_line.endswith(" — fix: username: jules")


def test_it_indents_multiline_fix(checkout):
    write(checkout, "user/bob.yaml", "user:\n  username: bob\n  email: bob@example.com\nworkspace:\n  profile: small\n")
    _status, output = run_cli("user/bob.yaml")
    lines = output.splitlines()
    assert lines[0].startswith("user/bob.yaml:4: error [layout.old]")
    assert lines[0].endswith("— fix:")
    assert lines[1:6] == [
        "    user:",
        "      username: bob",
        "      email: bob@example.com",
        "    profile:",
        "      name: small",
    ]


def test_it_checks_whole_checkout(checkout):
    write(checkout, "user/alice.yaml", workspace("alice"))
    write(checkout, "user/rook.yml", workspace("rook"))
    write(checkout, "users/bob.yaml", workspace("bob"))
    write(checkout, ".github/workflows/check.yml", "on: pull_request\njobs: {}\n")
    status, output = run_cli(".")
    assert status == 1
    assert "user/rook.yml: error [file.extension]" in output
    assert "users/bob.yaml: error [file.outside-user]" in output
    assert ".gitkeep" not in output
    assert ".github" not in output
    assert output.endswith("Files checked: 3. Errors: 2. Warnings: 0.\n")


def test_it_reports_collision_in_checkout(checkout):
    write(checkout, "user/alice.yaml", workspace("alice"))
    write(checkout, "user/Alice.yaml", workspace("alice"))
    _status, output = run_cli(".")
    assert output.count("[username.collision]") == 2


def test_it_reports_collision_for_single_file(checkout):
    write(checkout, "user/alice.yaml", workspace("alice"))
    write(checkout, "user/Alice.yaml", workspace("alice"))
    _status, output = run_cli("user/alice.yaml")
    assert "[username.collision]" in output


def test_it_does_not_follow_symlink(checkout, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside") / "secret.yaml"
    outside.write_text(workspace("alice"))
    os.symlink(outside, checkout / "user" / "alice.yaml")
    status, output = run_cli(".")
    assert status == 1
    assert "user/alice.yaml: error [file.symlink]" in output


def test_it_reports_symlinked_folder(checkout, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside")
    (outside / "alice.yaml").write_text(workspace("alice"))
    os.symlink(outside, checkout / "user" / "team")
    _status, output = run_cli(".")
    assert "user/team: error [file.symlink]" in output
    assert "team/alice.yaml" not in output


def test_it_does_not_load_oversize_file(checkout):
    write(checkout, "user/alice.yaml", workspace("alice") + "#" * 100_000)
    _status, output = run_cli("user/alice.yaml")
    assert "[file.too-large]" in output


def test_it_writes_github_annotations(checkout):
    write(checkout, "user/tam.yaml", workspace("tam", email="tam@gmail.con"))
    status, output = run_cli("--format", "github", "user/tam.yaml")
    assert status == 1
    first_line = output.splitlines()[0]
    assert first_line.startswith("::error file=user/tam.yaml,line=3,title=email.tld::The email address")
    assert first_line.endswith("Did you mean .com?%0Afix:%0Aemail: tam@gmail.com")


def test_it_exits_two_for_missing_path(checkout):
    status, output = run_cli("user/nobody.yaml")
    assert status == 2
    assert output == "user/nobody.yaml: not found\n"


def test_it_exits_two_for_bad_catalog(checkout):
    write(checkout, "catalog.yaml", "domain: gpu.example.com\n")
    write(checkout, "user/alice.yaml", workspace("alice"))
    status, output = run_cli("--catalog", "catalog.yaml", "user/alice.yaml")
    assert status == 2
    assert output.startswith("Invalid platform catalog: profiles: missing")


def test_it_uses_given_catalog(checkout):
    catalog = (PROJECT_DIR / "larr1" / "platform.yaml").read_text().replace("  cuda13.0:\n", "  cuda12.9:\n")
    write(checkout, "catalog.yaml", catalog)
    write(checkout, "user/alice.yaml", workspace("alice", cuda="cuda12.9"))
    assert run_cli("--catalog", "catalog.yaml", "user/alice.yaml")[0] == 0


def test_it_prints_traditional_chinese(checkout):
    # Uses the project's compiled catalogue in locale/.
    write(checkout, "user/jules.yaml", workspace("Jules"))
    status, output = run_cli("--lang", "zh-hant", "user/jules.yaml")
    assert status == 1
    assert "使用者名稱 Jules 含有大寫字母" in output
    assert "修正： username: jules" in output
    assert output.endswith("已檢查檔案：1。錯誤：1。警告：0。\n")


def test_it_runs_with_only_django_and_yaml(checkout):
    write(checkout, "user/jules.yaml", workspace("Jules"))
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "LARR1_"))}
    environment["PYTHONPATH"] = str(PROJECT_DIR)
    probe = "import sys; import workspaces.contract.cli as cli; sys.exit(cli.main())"
    completed = subprocess.run(
        [sys.executable, "-c", probe, "user/jules.yaml"],
        cwd=checkout,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 1, completed.stderr
    assert "user/jules.yaml:2: error [username.uppercase]" in completed.stdout


def test_it_keeps_larr1_services_unimported(checkout):
    write(checkout, "user/alice.yaml", workspace("alice"))
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "LARR1_"))}
    environment["PYTHONPATH"] = str(PROJECT_DIR)
    probe = (
        "import sys; import workspaces.contract.cli as cli; status = cli.main(['user/alice.yaml']); "
        "assert 'celery' not in sys.modules and 'larr1' not in sys.modules, sorted(sys.modules); sys.exit(status)"
    )
    completed = subprocess.run(
        [sys.executable, "-c", probe], cwd=checkout, env=environment, capture_output=True, text=True, timeout=60
    )
    assert completed.returncode == 0, completed.stderr


def test_it_exits_nonzero_from_management_command(checkout):
    write(checkout, "user/jules.yaml", workspace("Jules"))
    output = io.StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("check_workspaces", "user/jules.yaml", stdout=output)
    assert exited.value.code == 1
    assert "[username.uppercase]" in output.getvalue()


def test_it_passes_valid_checkout_through_management_command(checkout):
    write(checkout, "user/alice.yaml", workspace("alice"))
    output = io.StringIO()
    call_command("check_workspaces", ".", stdout=output)
    assert output.getvalue() == "Files checked: 1. Errors: 0. Warnings: 0.\n"


def test_it_skips_hidden_folders_outside_user(checkout):
    write(checkout, "user/alice.yaml", workspace("alice"))
    write(checkout, ".larr1/docs/alice.yaml", workspace("alice"))
    write(checkout, "user/.drafts/bob.yaml", workspace("bob"))
    _status, output = run_cli(".")
    assert ".larr1" not in output
    assert "user/.drafts/bob.yaml: error [file.subfolder]" in output


def test_it_names_a_fifo_a_special_file(checkout):
    os.mkfifo(checkout / "user" / "fifo.yaml")
    status, output = run_cli("user/fifo.yaml")
    assert status == 1
    assert "user/fifo.yaml is a git special file, not a regular file." in output
