"""Kubernetes resource quantities: parsing and formatting.

The grammar follows the Kubernetes ``resource.Quantity`` type
(https://kubernetes.io/docs/reference/kubernetes-api/common-definitions/quantity/):
a signed decimal number followed by a binary suffix (Ki … Ei), a decimal suffix
(n, u, m, k, M, G, T, P, E) or a decimal exponent (``e3``).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

BINARY_SUFFIXES = {
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
}
DECIMAL_SUFFIXES = {
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "": Decimal(1),
    "k": Decimal(10**3),
    "M": Decimal(10**6),
    "G": Decimal(10**9),
    "T": Decimal(10**12),
    "P": Decimal(10**15),
    "E": Decimal(10**18),
}

_QUANTITY = re.compile(
    r"^(?P<number>[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))"
    r"(?:(?P<binary>Ki|Mi|Gi|Ti|Pi|Ei)|(?P<exponent>[eE][+-]?[0-9]+)|(?P<decimal>[numkMGTPE]?))$"
)

GIB = 2**30


class QuantityError(ValueError):
    """The text is not a Kubernetes quantity."""


def parse_quantity(text: str) -> Decimal:
    """Parse a Kubernetes quantity such as ``100Gi``, ``500m`` or ``1e3`` into a Decimal.

    Raises QuantityError when ``text`` does not follow the Kubernetes grammar.
    """
    match = _QUANTITY.match(text)
    if match is None:
        raise QuantityError(text)
    try:
        number = Decimal(match["number"])
    except InvalidOperation:
        raise QuantityError(text) from None
    if match["binary"]:
        return number * BINARY_SUFFIXES[match["binary"]]
    if match["exponent"]:
        return number * Decimal(10) ** int(match["exponent"][1:])
    return number * DECIMAL_SUFFIXES[match["decimal"] or ""]


def parse_bytes(text: str) -> int:
    """Parse a quantity of bytes; a fraction of a byte is rounded up, as Kubernetes does."""
    value = parse_quantity(text)
    whole = int(value)
    return whole + 1 if value > whole else whole


def format_gibibytes(size_bytes: int) -> str:
    """Format a byte count as the ``<n>Gi`` or ``<n>Ti`` form workspace files use."""
    if size_bytes % 2**40 == 0 and size_bytes >= 2**40:
        return f"{size_bytes // 2**40}Ti"
    gibibytes = -(-size_bytes // GIB)  # round up: a suggestion must never be smaller than what was asked
    return f"{gibibytes}Gi"
