from django.contrib import admin
from django.urls import include, path

from larr1 import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("", include("approvals.urls")),
    path("", include("workspaces.urls")),
    path("accounts/", include("allauth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("dev/mail/", views.mail_list, name="dev-mail"),
    path("dev/mail/<str:key>/", views.mail_detail, name="dev-mail-detail"),
    path("django-admin/", admin.site.urls),
]
