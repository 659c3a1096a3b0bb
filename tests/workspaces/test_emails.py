"""The credentials email: address, username and password, in English and Traditional Chinese."""

from django.utils import translation
from django.utils.translation import gettext

from workspaces import emails

URL = "https://alice.gpu.example.com"
PASSWORD = "abcde-fghjk-mnpqr-stuvw"


def build(**overrides):
    arguments = {"to": "alice@example.com", "username": "alice", "url": URL, "password": PASSWORD, **overrides}
    return emails.first_credentials_email(**arguments)


def html_of(message) -> str:
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return html


def test_it_addresses_the_workspace_owner():
    assert build().to == ["alice@example.com"]


def test_it_puts_url_username_and_password_in_the_text():
    body = build().body

    assert f"Address: {URL}" in body
    assert "Workspace: alice" in body
    assert f"Password: {PASSWORD}" in body


def test_it_puts_url_username_and_password_in_the_html():
    html = html_of(build())

    assert f'<a href="{URL}">{URL}</a>' in html
    assert "<code>alice</code>" in html
    assert f"<code>{PASSWORD}</code>" in html


def test_it_writes_each_part_in_both_languages():
    message = build()
    with translation.override("zh-hant"):
        chinese_intro = gettext("Your GPU workspace is ready.")
        chinese_rules = gettext("Rules of the cluster")

    html = html_of(message)

    assert 'lang="en"' in html
    assert 'lang="zh-hant"' in html
    assert chinese_intro in message.body
    assert chinese_rules in message.body
    assert chinese_rules in html


def test_it_states_the_cluster_rules():
    body = build().body

    assert "Rules of the cluster" in body
    assert "Keep your files in /home/coder" in body


def test_it_links_the_workspace_page():
    body = build().body

    assert "Send new credentials on your workspace's page: http://127.0.0.1:8000/workspaces/alice/" in body
    assert "ask an admin" not in body
    assert "sign up with the email address in your workspace file" in body


def test_it_says_a_rotated_password_replaces_the_old_one():
    message = emails.new_credentials_email(to="alice@example.com", username="alice", url=URL, password=PASSWORD)

    assert message.subject.startswith("New password for your GPU workspace alice")
    assert "The old password no longer works." in message.body


def test_it_escapes_html_in_the_values():
    # No "/" in the value: the username is also a path segment of the workspace page's link.
    html = html_of(build(username="<b>alice"))

    assert "<b>alice" not in html
    assert "&lt;b&gt;alice" in html
