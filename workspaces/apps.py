from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkspacesConfig(AppConfig):
    name = "workspaces"
    verbose_name = _("Workspaces")

    def ready(self):
        # Celery's autodiscovery imports only tasks.py; importing reconcile_tasks registers its task.
        from workspaces import reconcile_tasks, signals  # noqa: F401 - signals connects the receivers
