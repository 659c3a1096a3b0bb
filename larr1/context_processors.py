from django.conf import settings


def site(request):
    return {"debug_mail_sink": settings.DEBUG}
