"""Production settings, checked in a separate process so the environment is clean."""

import os
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]


def run_manage(extra_env: dict, *args: str) -> subprocess.CompletedProcess:
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("LARR1_", "DJANGO_"))}
    environment.update(extra_env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=environment, capture_output=True, text=True, timeout=120
    )


PRODUCTION = {
    "LARR1_ENV": "production",
    "SECRET_KEY": "a-long-random-production-secret-key-4f9d2c81b7e6a05d3c9e8f1a2b4c6d8e",
    "ALLOWED_HOSTS": "larr1.example.com",
    "SITE_URL": "https://larr1.example.com",
    "DATABASE_URL": "postgres://larr1@127.0.0.1:1/larr1",
}


def test_it_passes_the_deploy_check_with_production_variables():
    result = run_manage(PRODUCTION, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_it_refuses_production_without_a_secret_key():
    settings = {key: value for key, value in PRODUCTION.items() if key != "SECRET_KEY"}
    result = run_manage(settings, "check")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_it_names_a_malformed_variable():
    result = run_manage({**PRODUCTION, "LARR1_SYNC_INTERVAL": "soon"}, "check")
    assert result.returncode != 0
    assert "LARR1_SYNC_INTERVAL must be a whole number" in result.stderr


def test_it_refuses_production_without_a_site_url():
    settings = {key: value for key, value in PRODUCTION.items() if key != "SITE_URL"}
    result = run_manage(settings, "check")
    assert result.returncode != 0
    assert "SITE_URL must be set in production" in result.stderr
