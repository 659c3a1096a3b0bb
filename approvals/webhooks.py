"""The forge webhook: check the signature, queue a sync, answer at once.

No git work happens in the request; the sync runs in a worker.
Signatures, all compared in constant time with ``hmac.compare_digest``:

- GitHub: ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>``
  (https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries)
- Gitea: ``X-Gitea-Signature: <hex HMAC-SHA256 of the raw body>``
- GitLab: ``X-Gitlab-Token: <the secret itself>``
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from approvals.tasks import enqueue_sync

logger = logging.getLogger(__name__)

PING_EVENTS = {"ping"}


def _hex_hmac(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_is_valid(request: HttpRequest, secret: str) -> bool:
    """Return True when one of the forge signature headers matches the secret."""
    body = request.body
    github = request.headers.get("X-Hub-Signature-256")
    if github is not None:
        return hmac.compare_digest(github.encode(), f"sha256={_hex_hmac(secret, body)}".encode())
    gitea = request.headers.get("X-Gitea-Signature")
    if gitea is not None:
        return hmac.compare_digest(gitea.encode(), _hex_hmac(secret, body).encode())
    gitlab = request.headers.get("X-Gitlab-Token")
    if gitlab is not None:
        return hmac.compare_digest(gitlab.encode(), secret.encode())
    return False


def _event_name(request: HttpRequest) -> str:
    for header in ("X-GitHub-Event", "X-Gitea-Event", "X-Gitlab-Event"):
        value = request.headers.get(header)
        if value:
            return value.strip().lower()
    return ""


@csrf_exempt
@require_POST
def forge_hook(request: HttpRequest) -> JsonResponse:
    try:
        request.body  # noqa: B018 - read once so an oversized body is refused here, as JSON
    except RequestDataTooBig:
        logger.warning("Webhook rejected: body larger than DATA_UPLOAD_MAX_MEMORY_SIZE")
        return JsonResponse({"error": "The body is too large."}, status=413)
    secret = settings.LARR1_WEBHOOK_SECRET
    if not secret:
        logger.warning("Webhook rejected: LARR1_WEBHOOK_SECRET is not set")
        return JsonResponse({"error": "The webhook secret is not configured."}, status=403)
    if not signature_is_valid(request, secret):
        logger.warning("Webhook rejected: missing or invalid signature")
        return JsonResponse({"error": "Invalid or missing signature."}, status=403)

    try:
        json.loads(request.body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        # RecursionError: JSON nested deeper than the parser's recursion limit.
        logger.warning("Webhook rejected: the body is not JSON the parser can read")
        return JsonResponse({"error": "The body is not JSON."}, status=400)

    event = _event_name(request)
    if event in PING_EVENTS:
        return JsonResponse({"status": "pong"}, status=200)
    enqueue_sync("webhook")
    logger.info("Webhook queued a sync: event=%s", event or "unknown")
    return JsonResponse({"status": "queued"}, status=202)
