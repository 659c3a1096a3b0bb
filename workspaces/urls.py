from django.urls import path

from workspaces import views

app_name = "workspaces"
urlpatterns = [
    path("workspaces/<str:username>/", views.detail, name="detail"),
    path("workspaces/<str:username>/status", views.status, name="status"),
    path("workspaces/<str:username>/credentials", views.new_credentials, name="new-credentials"),
]
