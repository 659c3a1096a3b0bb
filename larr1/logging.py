"""Log formatting and redaction shared by the web server and the workers."""

import json
import logging
import re

from pythonjsonlogger.json import JsonFormatter as _BaseJsonFormatter

# userinfo in a URL: scheme://user:password@host
_URL_USERINFO = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s]+@", re.IGNORECASE)
# Header values that git prints with GIT_TRACE, or that a caller might echo back.
_AUTH_HEADER = re.compile(r"(?P<key>authorization:\s*)(basic|bearer|token)\s+\S+", re.IGNORECASE)
# password=..., "token": "...", and the like.
_KEY_VALUE = re.compile(
    r"(?P<key>password|passwd|token|secret)(?P<sep>[\"']?\s*[=:]\s*[\"']?)[^\s\"',&]+", re.IGNORECASE
)


def redact(text: str, secrets: tuple[str | None, ...] = ()) -> str:
    """Remove credentials from text that goes into a log line, an error or the database.

    Strips userinfo from URLs, masks Authorization headers and key=value secrets, and
    masks every non-empty string in ``secrets`` wherever it appears.
    """
    text = _URL_USERINFO.sub(r"\g<scheme>", text)
    text = _AUTH_HEADER.sub(r"\g<key>***", text)
    text = _KEY_VALUE.sub(r"\g<key>\g<sep>***", text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


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
