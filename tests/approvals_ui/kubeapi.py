"""A loopback HTTP server that answers the two read calls capacity needs, like kube-apiserver.

It serves ``GET /api/v1/nodes`` and ``GET /api/v1/pods`` with NodeList and PodList
bodies in the shape kube-apiserver returns, so the real ``kubernetes`` client and
``workspaces.capacity_source`` parse them. The local testbed cluster is the real
thing, but it takes long to build; these tests need only a list of nodes and pods.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def gpu_node(name: str, *, gpus: int = 4, gpumem_mib: int | None = None, labels: dict | None = None, ready=True):
    allocatable = {"cpu": "20", "memory": "128Gi", "pods": "110", "nvidia.com/gpu": str(gpus)}
    if gpumem_mib is not None:
        allocatable["nvidia.com/gpumem"] = str(gpumem_mib)
    return {
        "metadata": {
            "name": name,
            "labels": {"kubernetes.io/hostname": name, "nvidia.com/gpu.product": "NVIDIA-GB10", **(labels or {})},
        },
        "spec": {},
        "status": {
            "allocatable": allocatable,
            "capacity": allocatable,
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        },
    }


def workspace_pod(username: str, node: str | None, *, gpus: int = 1, gpumem_mib: int | None = None):
    limits = {"nvidia.com/gpu": str(gpus)}
    if gpumem_mib is not None:
        limits["nvidia.com/gpumem"] = str(gpumem_mib)
    return {
        "metadata": {
            "name": f"workspace-{username}",
            "namespace": f"ws-{username}-abc123",
            "labels": {"app.kubernetes.io/managed-by": "larr1", "larr1.io/workspace": username},
        },
        "spec": {
            "nodeName": node,
            "containers": [{"name": "code-server", "image": "example/code-server", "resources": {"limits": limits}}],
        },
        "status": {"phase": "Running" if node else "Pending"},
    }


class FakeKubeApi:
    def __init__(self, nodes: list[dict], pods: list[dict]):
        self.nodes = nodes
        self.pods = pods
        self.paths: list[str] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's naming
                api.paths.append(self.path)
                route = self.path.split("?")[0]
                if route == "/api/v1/nodes":
                    body = {"kind": "NodeList", "apiVersion": "v1", "metadata": {}, "items": api.nodes}
                elif route == "/api/v1/pods":
                    body = {"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": api.pods}
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> FakeKubeApi:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def write_kubeconfig(self, path: Path) -> Path:
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
            "users": [{"name": "fake", "user": {}}],
            "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake"}}],
            "current-context": "fake",
        }
        path.write_text(json.dumps(config))
        return path
