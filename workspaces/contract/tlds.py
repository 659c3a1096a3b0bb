"""Offline checks of e-mail top-level domains against data/tlds.txt (see data/make_tlds.py)."""

from __future__ import annotations

import functools
from pathlib import Path

TLD_FILE = Path(__file__).parent / "data" / "tlds.txt"

# Candidates for "did you mean", most used first so that ties go to the likelier one.
COMMON_TLDS = (
    "com", "org", "net", "edu", "tw", "io", "gov", "jp", "cn", "hk", "uk", "de", "us", "fr", "kr",
    "sg", "ai", "dev", "app", "info", "me", "co", "ca", "au", "in", "nl", "ch", "se", "eu",
)  # fmt: skip


@functools.cache
def known_tlds() -> frozenset[str]:
    lines = TLD_FILE.read_text(encoding="ascii").splitlines()
    return frozenset(line for line in lines if line and not line.startswith("#"))


def to_ascii_label(label: str) -> str | None:
    """Return the IDNA (xn--) form of a domain label, or None when it has none."""
    label = label.lower()
    if label.isascii():
        return label
    try:
        return label.encode("idna").decode("ascii")
    except UnicodeError:
        return None


def is_known_tld(label: str) -> bool:
    ascii_label = to_ascii_label(label)
    return ascii_label is not None and ascii_label in known_tlds()


def suggest_tld(label: str) -> str | None:
    """Return the common top-level domain closest to a mistyped one (``con`` → ``com``), if any is close."""
    label = label.lower()
    best: tuple[int, str] | None = None
    for candidate in COMMON_TLDS:
        distance = edit_distance(label, candidate)
        if distance <= 2 and distance < len(candidate) and (best is None or distance < best[0]):
            best = (distance, candidate)
    return best[1] if best else None


def edit_distance(a: str, b: str) -> int:
    """Damerau–Levenshtein distance (optimal string alignment): swaps count as one edit."""
    previous_previous: list[int] = []
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, char_b in enumerate(b, start=1):
            cost = 0 if char_a == char_b else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                current[j] = min(current[j], previous_previous[j - 2] + 1)
        previous_previous, previous = previous, current
    return previous[len(b)]
