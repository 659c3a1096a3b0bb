from django.urls import path

from approvals import views, webhooks

app_name = "approvals"
urlpatterns = [
    path("hooks/forge", webhooks.forge_hook, name="forge-hook"),
    # Admin pages (staff only).
    path("admin/requests/", views.queue, name="queue"),
    path("admin/requests/<int:pk>/", views.request_detail, name="request"),
    path("admin/requests/<int:pk>/state", views.request_state, name="request-state"),
    path("admin/requests/<int:pk>/approve", views.approve, name="approve"),
    path("admin/requests/<int:pk>/reject", views.reject, name="reject"),
    path("admin/requests/<int:pk>/dismiss", views.dismiss, name="dismiss"),
    path("admin/audit/", views.audit, name="audit"),
    path("admin/workspaces/", views.workspaces, name="workspaces"),
    path("admin/workspaces/<str:username>/state", views.workspace_state, name="workspace-state"),
    path("admin/capacity/", views.capacity, name="capacity"),
]
