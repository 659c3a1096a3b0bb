"""The platform catalog: profiles, CUDA images, storage bounds, GPU sharing and ingress.

This module is pure (PyYAML only) so that the command-line checker can load a
catalog without the rest of Larr1. ``larr1.catalog`` re-exports it and adds the
cached, settings-driven ``get_catalog()``.

Every validation error names the field that is wrong, as a dotted path, so that a
bad catalog stops start-up with a message an operator can act on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from workspaces.contract.quantities import GIB, QuantityError, parse_bytes, parse_quantity

GPU_MODES = ("whole", "time-sliced", "memory-sliced")

# A DNS-1123 subdomain, which Kubernetes requires for resource names such as
# "nvidia.com/gpu" (after the optional prefix) and for storage class names.
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_RESOURCE_NAME = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
)
_CATALOG_KEY = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
_IMAGE = re.compile(r"^[a-z0-9][a-z0-9._/:@-]*[A-Za-z0-9._-]$", re.IGNORECASE)
MAX_CATALOG_BYTES = 1024 * 1024


class CatalogError(Exception):
    """The platform catalog is missing, unreadable or invalid; the message names the field."""


@dataclass(frozen=True)
class Profile:
    name: str
    gpu_memory_gib: int
    gpus: int
    cpu: str  # Kubernetes quantity, e.g. "4" or "3500m"
    memory: str  # Kubernetes quantity, e.g. "32Gi"
    shared_memory: str = "8Gi"  # size of the /dev/shm memory volume
    description: str = ""


@dataclass(frozen=True)
class CudaVersion:
    name: str
    image: str  # the code-server container image for this CUDA version


@dataclass(frozen=True)
class StoragePolicy:
    default: str
    minimum: str
    maximum: str
    storage_class: str
    near_limit_ratio: float  # a request at or above maximum * ratio is flagged to the admin

    @property
    def default_bytes(self) -> int:
        return parse_bytes(self.default)

    @property
    def minimum_bytes(self) -> int:
        return parse_bytes(self.minimum)

    @property
    def maximum_bytes(self) -> int:
        return parse_bytes(self.maximum)


@dataclass(frozen=True)
class GpuPolicy:
    mode: str  # "whole" | "time-sliced" | "memory-sliced"
    resource: str = "nvidia.com/gpu"
    memory_resource: str = "nvidia.com/gpumem"
    memory_unit_mib: int = 1  # how many MiB one unit of memory_resource counts


@dataclass(frozen=True)
class NodeGpuMemory:
    """GPU memory for nodes that report none (DGX Spark's GB10 shares memory with the CPU)."""

    default_gib: int | None
    per_node: dict[str, int] = field(default_factory=dict)

    def for_node(self, node_name: str) -> int | None:
        return self.per_node.get(node_name, self.default_gib)


@dataclass(frozen=True)
class Catalog:
    profiles: dict[str, Profile]
    cuda_versions: dict[str, CudaVersion]
    storage: StoragePolicy
    gpu: GpuPolicy
    node_gpu_memory: NodeGpuMemory
    domain: str
    ingress_class: str
    tls_issuer: str
    ingress_namespace: str
    workspace_port: int = 8080

    def gpu_resources(self, profile: Profile) -> dict[str, str]:
        """Return the resource requests (and equal limits) that give ``profile`` its GPU share."""
        resources = {self.gpu.resource: str(profile.gpus)}
        if self.gpu.mode == "memory-sliced":
            # HAMi counts nvidia.com/gpumem per GPU, in MiB unless configured otherwise.
            units = profile.gpu_memory_gib * 1024 // self.gpu.memory_unit_mib
            resources[self.gpu.memory_resource] = str(units)
        return resources


def load_catalog(path: str | Path) -> Catalog:
    """Read and validate the catalog at ``path``; raise CatalogError naming the bad field."""
    path = Path(path)
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_CATALOG_BYTES + 1)
    except OSError as exc:
        raise CatalogError(f"{path}: cannot be read ({exc.strerror})") from None
    if len(raw) > MAX_CATALOG_BYTES:
        raise CatalogError(f"{path}: larger than {MAX_CATALOG_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise CatalogError(f"{path}: not UTF-8 text") from None
    return parse_catalog(text, source=str(path))


def parse_catalog(text: str, *, source: str = "catalog") -> Catalog:
    """Validate catalog YAML text and build a Catalog; raise CatalogError naming the bad field."""
    try:
        data = yaml.load(text, Loader=_CatalogLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise CatalogError(f"{source}: invalid YAML ({exc})") from None
    reader = _Reader(data, "")
    reader.require_mapping()

    catalog = Catalog(
        profiles=_read_profiles(reader.child("profiles")),
        cuda_versions=_read_cuda_versions(reader.child("cuda_versions")),
        storage=_read_storage(reader.child("storage")),
        gpu=_read_gpu(reader.child("gpu")),
        node_gpu_memory=_read_node_gpu_memory(reader.child("node_gpu_memory", optional=True)),
        domain=reader.child("domain").dns_subdomain(),
        ingress_class=reader.child("ingress", optional=True).child("class", optional=True).text("nginx"),
        tls_issuer=reader.child("ingress", optional=True).child("tls_issuer", optional=True).text("letsencrypt"),
        ingress_namespace=reader.child("ingress", optional=True)
        .child("namespace", optional=True)
        .dns_subdomain("ingress-nginx"),
        workspace_port=reader.child("workspace_port", optional=True).integer(8080, minimum=1, maximum=65535),
    )
    reader.reject_unknown(
        {"profiles", "cuda_versions", "storage", "gpu", "node_gpu_memory", "domain", "ingress", "workspace_port"}
    )
    reader.child("ingress", optional=True).reject_unknown({"class", "tls_issuer", "namespace"})
    _check_gpu_fits_nodes(catalog)
    return catalog


def _read_profiles(reader: _Reader) -> dict[str, Profile]:
    reader.require_mapping()
    if not reader.value:
        raise CatalogError(f"{reader.path}: must list at least one profile")
    profiles = {}
    for name in reader.value:
        item = reader.child(name)
        item.require_key_name()
        item.require_mapping()
        profiles[name] = Profile(
            name=name,
            gpu_memory_gib=item.child("gpu_memory").integer(minimum=1, unit="GiB"),
            gpus=item.child("gpus", optional=True).integer(1, minimum=1),
            cpu=item.child("cpu").quantity(),
            memory=item.child("memory").quantity(),
            shared_memory=item.child("shared_memory", optional=True).quantity("8Gi"),
            description=item.child("description", optional=True).text(""),
        )
        item.reject_unknown({"gpu_memory", "gpus", "cpu", "memory", "shared_memory", "description"})
    return profiles


def _read_cuda_versions(reader: _Reader) -> dict[str, CudaVersion]:
    reader.require_mapping()
    if not reader.value:
        raise CatalogError(f"{reader.path}: must list at least one CUDA version")
    versions = {}
    for name in reader.value:
        item = reader.child(name)
        item.require_key_name()
        item.require_mapping()
        image = item.child("image").text()
        if not _IMAGE.match(image):
            raise CatalogError(f"{item.path}.image: must be a container image reference, not {image!r}")
        versions[name] = CudaVersion(name=name, image=image)
        item.reject_unknown({"image"})
    return versions


def _read_storage(reader: _Reader) -> StoragePolicy:
    reader.require_mapping()
    policy = StoragePolicy(
        default=reader.child("default").quantity(),
        minimum=reader.child("minimum").quantity(),
        maximum=reader.child("maximum").quantity(),
        storage_class=reader.child("storage_class").dns_subdomain(),
        near_limit_ratio=reader.child("near_limit_ratio", optional=True).ratio(0.8),
    )
    reader.reject_unknown({"default", "minimum", "maximum", "storage_class", "near_limit_ratio"})
    for name in ("default", "minimum", "maximum"):
        size = getattr(policy, f"{name}_bytes")
        if size <= 0 or size % GIB:
            raise CatalogError(f"{reader.path}.{name}: must be a positive whole number of GiB, such as 100Gi")
    if policy.minimum_bytes > policy.maximum_bytes:
        raise CatalogError(f"{reader.path}.minimum: must not be larger than storage.maximum")
    if not policy.minimum_bytes <= policy.default_bytes <= policy.maximum_bytes:
        raise CatalogError(f"{reader.path}.default: must lie between storage.minimum and storage.maximum")
    return policy


def _read_gpu(reader: _Reader) -> GpuPolicy:
    reader.require_mapping()
    mode = reader.child("mode").text()
    if mode not in GPU_MODES:
        raise CatalogError(f"{reader.path}.mode: must be one of {', '.join(GPU_MODES)}, not {mode!r}")
    policy = GpuPolicy(
        mode=mode,
        resource=reader.child("resource", optional=True).resource_name("nvidia.com/gpu"),
        memory_resource=reader.child("memory_resource", optional=True).resource_name("nvidia.com/gpumem"),
        memory_unit_mib=reader.child("memory_unit_mib", optional=True).integer(1, minimum=1),
    )
    reader.reject_unknown({"mode", "resource", "memory_resource", "memory_unit_mib"})
    return policy


def _read_node_gpu_memory(reader: _Reader) -> NodeGpuMemory:
    if reader.value is None:
        return NodeGpuMemory(default_gib=None, per_node={})
    reader.require_mapping()
    default = reader.child("default", optional=True)
    per_node_reader = reader.child("nodes", optional=True)
    per_node: dict[str, int] = {}
    if per_node_reader.value is not None:
        per_node_reader.require_mapping()
        for node in per_node_reader.value:
            per_node[str(node)] = per_node_reader.child(node).integer(minimum=1, unit="GiB")
    reader.reject_unknown({"default", "nodes"})
    return NodeGpuMemory(
        default_gib=None if default.value is None else default.integer(minimum=1, unit="GiB"),
        per_node=per_node,
    )


def _check_gpu_fits_nodes(catalog: Catalog) -> None:
    """Reject a profile that could never be scheduled on any node with known GPU memory."""
    known = [*catalog.node_gpu_memory.per_node.values()]
    if catalog.node_gpu_memory.default_gib is not None:
        known.append(catalog.node_gpu_memory.default_gib)
    if not known:
        return
    largest = max(known)
    for profile in catalog.profiles.values():
        if profile.gpu_memory_gib > largest * profile.gpus:
            raise CatalogError(
                f"profiles.{profile.name}.gpu_memory: {profile.gpu_memory_gib} GiB does not fit on any node "
                f"(the largest has {largest} GiB per GPU)"
            )


class _Reader:
    """A value at a dotted path in the catalog, with typed accessors that raise CatalogError."""

    _MISSING = object()

    def __init__(self, value: Any, path: str, *, present: bool = True):
        self.value = value
        self.path = path
        self.present = present

    def child(self, key: str, *, optional: bool = False) -> _Reader:
        path = f"{self.path}.{key}" if self.path else str(key)
        if isinstance(self.value, dict) and key in self.value:
            return _Reader(self.value[key], path)
        if not optional:
            raise CatalogError(f"{path}: missing")
        return _Reader(None, path, present=False)

    def require_mapping(self) -> None:
        if not isinstance(self.value, dict):
            raise CatalogError(f"{self.path or 'catalog'}: must be a mapping of keys to values")

    def require_key_name(self) -> None:
        name = self.path.rsplit(".", 1)[-1]
        if not _CATALOG_KEY.match(name):
            raise CatalogError(f"{self.path}: the name must be lowercase letters, digits, '-' and '.'")

    def reject_unknown(self, known: set[str]) -> None:
        if not isinstance(self.value, dict):
            return
        for key in self.value:
            if key not in known:
                allowed = ", ".join(sorted(known))
                raise CatalogError(f"{self.path + '.' if self.path else ''}{key}: unknown key (expected {allowed})")

    def text(self, default: str | None = None) -> str:
        if not self.present or self.value is None:
            if default is None:
                raise CatalogError(f"{self.path}: missing")
            return default
        if isinstance(self.value, bool) or not isinstance(self.value, str | int | float):
            raise CatalogError(f"{self.path}: must be text")
        text = str(self.value).strip()
        if not text:
            raise CatalogError(f"{self.path}: must not be empty")
        return text

    def integer(
        self,
        default: int | None = None,
        *,
        minimum: int | None = None,
        maximum: int | None = None,
        unit: str | None = None,
    ) -> int:
        if not self.present or self.value is None:
            if default is None:
                raise CatalogError(f"{self.path}: missing")
            return default
        if isinstance(self.value, bool) or not isinstance(self.value, int):
            described = f"a whole number of {unit}" if unit else "a whole number"
            raise CatalogError(f"{self.path}: must be {described}")
        if minimum is not None and self.value < minimum:
            raise CatalogError(f"{self.path}: must be at least {minimum}")
        if maximum is not None and self.value > maximum:
            raise CatalogError(f"{self.path}: must be at most {maximum}")
        return self.value

    def ratio(self, default: float) -> float:
        if not self.present or self.value is None:
            return default
        if isinstance(self.value, bool) or not isinstance(self.value, int | float) or not 0 < self.value <= 1:
            raise CatalogError(f"{self.path}: must be a number above 0 and at most 1, such as 0.8")
        return float(self.value)

    def quantity(self, default: str | None = None) -> str:
        text = self.text(default)
        try:
            value = parse_quantity(text)
        except QuantityError:
            raise CatalogError(
                f"{self.path}: must be a Kubernetes quantity such as 4, 500m or 32Gi, not {text!r}"
            ) from None
        if value <= 0:
            raise CatalogError(f"{self.path}: must be above zero")
        return text

    def dns_subdomain(self, default: str | None = None) -> str:
        text = self.text(default)
        if len(text) > 253 or not _DNS_SUBDOMAIN.match(text):
            raise CatalogError(f"{self.path}: must be a lowercase DNS name, not {text!r}")
        return text

    def resource_name(self, default: str) -> str:
        text = self.text(default)
        if not _RESOURCE_NAME.match(text):
            raise CatalogError(f"{self.path}: must be a Kubernetes resource name such as nvidia.com/gpu")
        return text


class _CatalogLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate keys, which PyYAML would silently overwrite."""


def _construct_mapping(loader: _CatalogLoader, node: yaml.MappingNode) -> dict:
    loader.flatten_mapping(node)
    mapping = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in mapping:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        mapping[key] = loader.construct_object(value_node, deep=True)
    return mapping


_CatalogLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
