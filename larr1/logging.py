"""Log formatting and redaction shared by the web server and the workers."""

import json
import logging
import re

from pythonjsonlogger.json import JsonFormatter as _BaseJsonFormatter

# userinfo in URLs (https://user:token@host) and common secret-bearing keys.
_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s:]+(:[^/@\s]*)?@", re.IGNORECASE)
_KEY_VALUE = re.compile(
    r"(?P<key>password|passwd|token|secret|authorization)(?P<sep>[\"']?\s*[=:]\s*[\"']?)[^\s\"',&]+", re.IGNORECASE
)


def redact(text: str) -> str:
    """Mask credentials that might slip into a log line."""
    text = _URL_CREDENTIALS.sub(r"\g<scheme>***@", text)
    return _KEY_VALUE.sub(r"\g<key>\g<sep>***", text)


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg = cleaned
            record.args = None
        return True


class JsonFormatter(_BaseJsonFormatter):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("fmt", "%(asctime)s %(levelname)s %(name)s %(message)s")
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger", "asctime": "time"})
        kwargs.setdefault("json_serializer", json.dumps)
        super().__init__(*args, **kwargs)
