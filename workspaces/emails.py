"""The emails Larr1 sends about workspaces, each in English and Traditional Chinese at once.

A workspace owner's language is not known, so every message carries both: the
subject joins the two, and the text and HTML bodies show one section per language.
"""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.safestring import mark_safe

from workspaces.objects import HOME

LANGUAGES = ("en", "zh-hant")
TEMPLATE_DIR = "workspaces/email"


def first_credentials_email(*, to: str, username: str, url: str, password: str) -> EmailMultiAlternatives:
    """Build the email that tells a new workspace's owner its address and password."""
    context = {**_credentials_context(username, url, password), "rotation": False}
    return _bilingual_email("credentials", context, to)


def new_credentials_email(*, to: str, username: str, url: str, password: str) -> EmailMultiAlternatives:
    """Build the email with a rotated password, which replaces the old one."""
    context = {**_credentials_context(username, url, password), "rotation": True}
    return _bilingual_email("credentials", context, to)


def _credentials_context(username: str, url: str, password: str) -> dict:
    # workspace_url is Larr1's page for the workspace, where its owner can ask for new credentials.
    workspace_url = settings.SITE_URL.rstrip("/") + reverse("workspaces:detail", args=[username])
    return {"username": username, "url": url, "password": password, "home": HOME, "workspace_url": workspace_url}


def _bilingual_email(name: str, context: dict, to: str) -> EmailMultiAlternatives:
    subjects, texts, sections = [], [], []
    for language in LANGUAGES:
        with translation.override(language):
            language_context = {**context, "language": language}
            subjects.append(render_to_string(f"{TEMPLATE_DIR}/{name}_subject.txt", language_context).strip())
            texts.append(render_to_string(f"{TEMPLATE_DIR}/{name}.txt", language_context).strip())
            sections.append(mark_safe(render_to_string(f"{TEMPLATE_DIR}/{name}_section.html", language_context)))  # noqa: S308 - rendered by a template with autoescape on
    subject = " / ".join(dict.fromkeys(subjects))
    text = "\n\n----------------------------------------\n\n".join(texts) + "\n"
    html = render_to_string(f"{TEMPLATE_DIR}/{name}.html", {"subject": subject, "sections": sections})
    message = EmailMultiAlternatives(subject=subject, body=text, from_email=settings.DEFAULT_FROM_EMAIL, to=[to])
    message.attach_alternative(html, "text/html")
    return message
