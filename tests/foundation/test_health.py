import socket


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_it_reports_healthy_services(client, db, testbed):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["redis"]["ok"] is True
    assert body["checks"]["cluster"]["ok"] is True
    assert "version" not in body["checks"]["cluster"]  # no software versions to anonymous callers


def test_it_answers_503_when_redis_is_down(client, db, settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port()}/0"
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["redis"] == {"ok": False, "error": "ConnectionError"}


def test_it_uses_postgresql_in_the_test_suite(client, db):
    # CI must exercise the production database engine, not SQLite.
    assert client.get("/healthz").json()["checks"]["database"]["vendor"] == "postgresql"


def test_it_answers_503_when_the_cluster_is_unreachable(client, db, settings, tmp_path):
    from workspaces.kube import _api_client

    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: gone\n"
        f"clusters: [{{name: gone, cluster: {{server: 'https://127.0.0.1:{closed_port()}'}}}}]\n"
        "contexts: [{name: gone, context: {cluster: gone, user: gone}}]\n"
        "users: [{name: gone, user: {token: placeholder}}]\n"
    )
    settings.LARR1_KUBECONFIG = kubeconfig
    _api_client.cache_clear()
    try:
        response = client.get("/healthz")
    finally:
        _api_client.cache_clear()
    assert response.status_code == 503
    assert response.json()["checks"]["cluster"]["ok"] is False
