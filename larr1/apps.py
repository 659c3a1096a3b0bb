from django.apps import AppConfig
from django.core.exceptions import ImproperlyConfigured


class Larr1Config(AppConfig):
    name = "larr1"
    verbose_name = "Larr1"

    def ready(self):
        from larr1.catalog import CatalogError, get_catalog

        # A bad catalog stops start-up here, naming the field, instead of failing
        # later in a request view or a provisioning task.
        try:
            get_catalog()
        except CatalogError as exc:
            raise ImproperlyConfigured(f"Invalid platform catalog: {exc}") from exc
