from django.urls import path

from approvals import webhooks

app_name = "approvals"
urlpatterns = [
    path("hooks/forge", webhooks.forge_hook, name="forge-hook"),
]
