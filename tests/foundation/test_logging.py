import json
import logging

from larr1.logging import JsonFormatter, RedactSecretsFilter, redact


def test_it_masks_credentials_in_urls():
    assert redact("fetch https://bot:ghp_abc123@git.example.com/u.git failed") == (
        "fetch https://git.example.com/u.git failed"
    )


def test_it_masks_password_assignments():
    assert "hunter2" not in redact("password=hunter2 user=alice")


def test_it_masks_authorization_headers_and_named_secrets():
    text = redact("Authorization: Bearer abc.def token-xyz", secrets=("token-xyz",))
    assert "abc.def" not in text
    assert "token-xyz" not in text


def test_it_writes_one_json_object_per_record():
    record = logging.LogRecord("larr1.x", logging.INFO, __file__, 1, "Synced %s refs", (3,), None)
    RedactSecretsFilter().filter(record)
    line = JsonFormatter().format(record)
    assert json.loads(line)["message"] == "Synced 3 refs"
    assert json.loads(line)["level"] == "INFO"
