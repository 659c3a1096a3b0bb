"""GitHub sign-in appears on the sign-in page only when a GitHub OAuth app is configured."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from django.urls import reverse

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_it_reads_the_github_app_from_the_environment():
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("GITHUB_") and key != "DJANGO_SETTINGS_MODULE"
    }
    env.update(
        LARR1_ENV="test",
        DJANGO_SETTINGS_MODULE="larr1.settings",
        GITHUB_CLIENT_ID="Iv1.0123456789abcdef",
        GITHUB_CLIENT_SECRET="not-a-real-secret-0123456789abcdef01234567",
    )
    script = (
        "import json, django; django.setup(); from django.conf import settings; "
        "print(json.dumps([app['client_id'] for app in settings.SOCIALACCOUNT_PROVIDERS['github']['APPS']]))"
    )

    output = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=True
    ).stdout

    assert json.loads(output.strip().splitlines()[-1]) == ["Iv1.0123456789abcdef"]


def test_it_offers_github_on_the_sign_in_page_when_configured(client, db, settings):
    settings.SOCIALACCOUNT_PROVIDERS = {
        "github": {
            "APPS": [{"client_id": "Iv1.0123456789abcdef", "secret": "not-a-real-secret", "key": ""}],
            "SCOPE": ["user:email"],
            "VERIFIED_EMAIL": True,
        }
    }

    page = client.get(reverse("account_login")).content.decode()

    assert reverse("github_login") in page


def test_it_hides_github_on_the_sign_in_page_by_default(client, db, settings):
    settings.SOCIALACCOUNT_PROVIDERS = {}

    page = client.get(reverse("account_login")).content.decode()

    assert reverse("github_login") not in page
