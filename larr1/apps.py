from urllib.parse import urlsplit

from django.apps import AppConfig
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models.signals import post_migrate


def sync_site(**kwargs) -> None:
    """Set the Sites framework's name to Larr1 and its domain to SITE_URL's host, which allauth's emails use."""
    from django.contrib.sites.models import Site

    Site.objects.update_or_create(
        pk=settings.SITE_ID, defaults={"domain": urlsplit(settings.SITE_URL).netloc, "name": "Larr1"}
    )
    Site.objects.clear_cache()


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
        post_migrate.connect(sync_site, sender=self.apps.get_app_config("sites"), dispatch_uid="larr1-sync-site")
