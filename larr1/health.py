"""Checks behind /healthz. Each returns a small dict; none raises."""

import logging

import redis
from django.conf import settings
from django.db import connection
from django.db.utils import Error as DatabaseError

logger = logging.getLogger(__name__)

_CHECKS = []


def check(name):
    def register(func):
        _CHECKS.append((name, func))
        return func

    return register


@check("database")
def database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        logger.warning("Database health check failed", extra={"error": type(exc).__name__})
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True, "vendor": connection.vendor}


@check("redis")
def redis_server() -> dict:
    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        logger.warning("Redis health check failed", extra={"error": type(exc).__name__})
        return {"ok": False, "error": type(exc).__name__}
    finally:
        client.close()
    return {"ok": True}


@check("cluster")
def cluster() -> dict:
    # Imported here so /healthz still responds when the Kubernetes client cannot load its config.
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException
    from kubernetes.config import ConfigException
    from urllib3.exceptions import HTTPError

    from workspaces.kube import api_client

    try:
        client.VersionApi(api_client()).get_code(_request_timeout=3)
    except (ApiException, ConfigException, HTTPError, OSError) as exc:
        logger.warning("Cluster health check failed", extra={"error": type(exc).__name__})
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True}


def run_checks() -> dict:
    return {name: func() for name, func in _CHECKS}
