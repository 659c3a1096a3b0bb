"""The platform catalog as the running service sees it.

The model and the validating loader live in ``workspaces.contract.catalog`` (pure,
PyYAML only, so the command-line checker can use them without Larr1's services);
this module re-exports them and loads the catalog named by
``settings.LARR1_CATALOG_PATH`` once per process.
"""

from __future__ import annotations

import functools

from django.conf import settings

from workspaces.contract.catalog import (
    GPU_MODES,
    Catalog,
    CatalogError,
    CudaVersion,
    GpuPolicy,
    NodeGpuMemory,
    Profile,
    StoragePolicy,
    load_catalog,
    parse_catalog,
)

__all__ = [
    "GPU_MODES",
    "Catalog",
    "CatalogError",
    "CudaVersion",
    "GpuPolicy",
    "NodeGpuMemory",
    "Profile",
    "StoragePolicy",
    "clear_catalog_cache",
    "get_catalog",
    "load_catalog",
    "parse_catalog",
]


@functools.cache
def get_catalog() -> Catalog:
    """Return the catalog from ``settings.LARR1_CATALOG_PATH``, loaded and validated once.

    Raises CatalogError; start-up (``Larr1Config.ready``) turns it into ImproperlyConfigured.
    """
    return load_catalog(settings.LARR1_CATALOG_PATH)


def clear_catalog_cache() -> None:
    """Forget the loaded catalog, so the next get_catalog() reads the file again (for tests)."""
    get_catalog.cache_clear()
