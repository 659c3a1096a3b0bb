"""The platform catalog: the shipped default, GPU resources per sharing mode, and errors that name the field."""

from __future__ import annotations

import copy

import pytest
import yaml
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured

from larr1.catalog import CatalogError, clear_catalog_cache, get_catalog, load_catalog, parse_catalog
from tests.contract.conftest import SHIPPED_CATALOG

SHIPPED = yaml.safe_load(SHIPPED_CATALOG.read_text(encoding="utf-8"))


def catalog_text(change) -> str:
    data = copy.deepcopy(SHIPPED)
    change(data)
    return yaml.safe_dump(data)


def test_it_ships_seed_cluster_profiles(catalog):
    memory = {name: profile.gpu_memory_gib for name, profile in catalog.profiles.items()}
    assert memory == {"small": 16, "medium": 24, "large": 32}
    assert {profile.gpus for profile in catalog.profiles.values()} == {1}


def test_it_ships_cuda_images(catalog):
    assert list(catalog.cuda_versions) == ["cuda12.8", "cuda13.0"]
    assert catalog.cuda_versions["cuda13.0"].image == "ghcr.io/example/larr1-code-server:cuda13.0"


def test_it_ships_storage_and_ingress_defaults(catalog):
    assert catalog.storage.default_bytes == 100 * 2**30
    assert catalog.storage.minimum_bytes == 10 * 2**30
    assert catalog.storage.maximum_bytes == 2**40
    assert catalog.storage.storage_class == "standard"
    assert (catalog.domain, catalog.ingress_class, catalog.tls_issuer) == ("gpu.example.com", "nginx", "letsencrypt")
    assert catalog.ingress_namespace == "ingress-nginx"
    assert catalog.node_gpu_memory.default_gib == 96


def test_it_requests_time_sliced_gpu(catalog):
    assert catalog.gpu.mode == "time-sliced"
    assert catalog.gpu_resources(catalog.profiles["large"]) == {"nvidia.com/gpu": "1"}


def test_it_requests_gpu_memory_when_memory_sliced():
    catalog = parse_catalog(catalog_text(lambda data: data["gpu"].update(mode="memory-sliced")))
    assert catalog.gpu_resources(catalog.profiles["medium"]) == {"nvidia.com/gpu": "1", "nvidia.com/gpumem": "24576"}


def test_it_scales_gpu_memory_unit():
    catalog = parse_catalog(catalog_text(lambda data: data["gpu"].update(mode="memory-sliced", memory_unit_mib=1024)))
    assert catalog.gpu_resources(catalog.profiles["small"])["nvidia.com/gpumem"] == "16"


def test_it_reads_per_node_gpu_memory():
    catalog = parse_catalog(catalog_text(lambda data: data["node_gpu_memory"].update(nodes={"spark-1": 110})))
    assert catalog.node_gpu_memory.for_node("spark-1") == 110
    assert catalog.node_gpu_memory.for_node("spark-2") == 96


BAD_CATALOGS = [
    ("fractional gpu memory", lambda d: d["profiles"]["medium"].update(gpu_memory=24.5),
     "profiles.medium.gpu_memory: must be a whole number of GiB"),
    ("missing gpu memory", lambda d: d["profiles"]["small"].pop("gpu_memory"), "profiles.small.gpu_memory: missing"),
    ("zero gpus", lambda d: d["profiles"]["large"].update(gpus=0), "profiles.large.gpus: must be at least 1"),
    ("bad cpu", lambda d: d["profiles"]["small"].update(cpu="four"), "profiles.small.cpu: must be a Kubernetes"),
    ("bad memory", lambda d: d["profiles"]["small"].update(memory="32GB"), "profiles.small.memory:"),
    ("unknown profile key", lambda d: d["profiles"]["small"].update(vram=16), "profiles.small.vram: unknown key"),
    ("no profiles", lambda d: d.update(profiles={}), "profiles: must list at least one profile"),
    ("bad profile name", lambda d: d["profiles"].update({"Huge GPU": d["profiles"]["large"]}), "profiles.Huge GPU:"),
    ("image missing", lambda d: d["cuda_versions"]["cuda12.8"].pop("image"), "cuda_versions.cuda12.8.image: missing"),
    ("storage default above max", lambda d: d["storage"].update(default="2Ti"), "storage.default: must lie between"),
    ("storage min above max", lambda d: d["storage"].update(minimum="2Ti"), "storage.minimum: must not be larger"),
    ("storage not GiB", lambda d: d["storage"].update(minimum="500Mi"), "storage.minimum: must be a positive whole"),
    ("storage ratio", lambda d: d["storage"].update(near_limit_ratio=1.5), "storage.near_limit_ratio:"),
    ("storage class", lambda d: d["storage"].update(storage_class="Fast SSD"), "storage.storage_class:"),
    ("gpu mode", lambda d: d["gpu"].update(mode="mig"), "gpu.mode: must be one of whole, time-sliced, memory-sliced"),
    ("gpu resource", lambda d: d["gpu"].update(resource="nvidia gpu"), "gpu.resource:"),
    ("domain", lambda d: d.update(domain="GPU_cluster"), "domain: must be a lowercase DNS name"),
    ("missing domain", lambda d: d.pop("domain"), "domain: missing"),
    ("unknown top-level key", lambda d: d.update(domian="gpu.example.com"), "domian: unknown key"),
    ("port", lambda d: d.update(workspace_port=70000), "workspace_port: must be at most 65535"),
    ("node memory", lambda d: d["node_gpu_memory"].update(default="lots"), "node_gpu_memory.default:"),
    ("profile larger than nodes", lambda d: d["profiles"]["large"].update(gpu_memory=128),
     "profiles.large.gpu_memory: 128 GiB does not fit on any node"),
]  # fmt: skip


@pytest.mark.parametrize(("change", "message"), [case[1:] for case in BAD_CATALOGS], ids=[c[0] for c in BAD_CATALOGS])
def test_it_names_field_of_bad_catalog(change, message):
    with pytest.raises(CatalogError) as raised:
        parse_catalog(catalog_text(change))
    assert str(raised.value).startswith(message)


def test_it_rejects_duplicate_catalog_keys():
    text = SHIPPED_CATALOG.read_text(encoding="utf-8") + "\ndomain: other.example.com\n"
    with pytest.raises(CatalogError, match="duplicate key 'domain'"):
        parse_catalog(text)


def test_it_names_missing_catalog_file(tmp_path):
    with pytest.raises(CatalogError, match="cannot be read"):
        load_catalog(tmp_path / "missing.yaml")


def test_it_caches_catalog_until_cleared(settings, tmp_path):
    path = tmp_path / "platform.yaml"
    path.write_text(catalog_text(lambda data: data.update(domain="one.example.com")), encoding="utf-8")
    settings.LARR1_CATALOG_PATH = path
    clear_catalog_cache()
    try:
        assert get_catalog().domain == "one.example.com"
        path.write_text(catalog_text(lambda data: data.update(domain="two.example.com")), encoding="utf-8")
        assert get_catalog().domain == "one.example.com"
        clear_catalog_cache()
        assert get_catalog().domain == "two.example.com"
    finally:
        clear_catalog_cache()


def test_it_stops_startup_on_bad_catalog(settings, tmp_path):
    path = tmp_path / "platform.yaml"
    path.write_text(catalog_text(lambda data: data["gpu"].update(mode="mig")), encoding="utf-8")
    settings.LARR1_CATALOG_PATH = path
    clear_catalog_cache()
    try:
        with pytest.raises(ImproperlyConfigured, match="gpu.mode: must be one of"):
            apps.get_app_config("larr1").ready()
    finally:
        clear_catalog_cache()
