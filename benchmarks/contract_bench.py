"""Measure evaluate_tree on a generated user repository of 5,000 workspace files.

    python benchmarks/contract_bench.py [--files 5000] [--repeat 3]

The tree is built in memory: mostly valid files, with one in ten carrying a
mistake people make (uppercase username, unknown CUDA version, mistyped e-mail
domain, storage in GB). It prints files per second for the best of the runs.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_DIR))

from workspaces.contract.cli import configure_django  # noqa: E402

MISTAKES = [
    lambda name: workspace(name.capitalize(), name),
    lambda name: workspace(name, name, cuda="cuda12.9"),
    lambda name: workspace(name, name, email=f"{name}@example.con"),
    lambda name: workspace(name, name, storage="100GB"),
]


def workspace(
    username: str, file_name: str, *, email: str | None = None, cuda: str = "cuda13.0", storage: str = "100Gi"
) -> bytes:
    text = (
        f"# user/{file_name}.yaml\n"
        f"user:\n  username: {username}\n  email: {email or f'{file_name}@example.com'}\n\n"
        f"profile:\n  name: medium      # small | medium | large\n\n"
        f"cuda:\n  version: {cuda}\n\nstorage:\n  size: {storage}\n"
    )
    return text.encode("utf-8")


def generate_tree(count: int) -> dict:
    from workspaces.contract import TreeEntry

    entries = {"README.md": TreeEntry.file("README.md", b"# Workspaces\n")}
    for index in range(count):
        name = f"user{index:05d}"
        data = MISTAKES[index // 10 % len(MISTAKES)](name) if index % 10 == 0 else workspace(name, name)
        path = f"user/{name}.yaml"
        entries[path] = TreeEntry.file(path, data)
    return entries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=5000, help="workspace files in the tree (default: 5000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs; the best is reported (default: 3)")
    args = parser.parse_args()

    configure_django()
    import yaml

    from workspaces.contract import evaluate_tree, load_catalog

    catalog = load_catalog(PROJECT_DIR / "larr1" / "platform.yaml")
    tree = generate_tree(args.files)

    timings = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        evaluations = evaluate_tree(tree, catalog)
        timings.append(time.perf_counter() - started)

    invalid = sum(1 for evaluation in evaluations.values() if not evaluation.ok)
    best = min(timings)
    parser_name = "C (libyaml)" if hasattr(yaml, "CSafeLoader") else "pure Python"
    print(f"evaluate_tree: {len(evaluations)} files, {invalid} with errors, YAML parser {parser_name}")
    print(f"best of {args.repeat}: {best:.3f} s, {len(evaluations) / best:,.0f} files per second")


if __name__ == "__main__":
    main()
