from django.conf import settings
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from larr1 import health
from larr1.mailsink import captured_messages


@never_cache
@require_GET
def healthz(request):
    checks = health.run_checks()
    healthy = all(result["ok"] for result in checks.values())
    return JsonResponse({"status": "ok" if healthy else "unhealthy", "checks": checks}, status=200 if healthy else 503)


def home(request):
    return render(request, "home.html")


def _require_mail_sink(request):
    # Captured mail holds every workspace's credentials: development only, and only for admins.
    if not settings.DEBUG or not request.user.is_staff:
        raise Http404


def mail_list(request):
    _require_mail_sink(request)
    return render(request, "dev/mail_list.html", {"messages_caught": captured_messages(settings.MAIL_SINK_DIR)})


def mail_detail(request, key):
    _require_mail_sink(request)
    for captured in captured_messages(settings.MAIL_SINK_DIR):
        if captured.key == key:
            return render(request, "dev/mail_detail.html", {"captured": captured})
    raise Http404
