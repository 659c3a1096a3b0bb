"""Write tlds.txt, the offline list of top-level domains that e-mail checks use.

Source: the ICANN section of the Public Suffix List (https://publicsuffix.org/),
which lists every top-level domain delegated in the DNS root zone. tlds.txt in
this folder was made from the snapshot that the PyPI package tldextract 5.4.0
bundles as ``tldextract/.tld_set_snapshot`` (list version 2025-04-07_15-51-09_UTC):

    pip download --no-deps tldextract==5.4.0 -d /tmp/tldextract
    python -m zipfile -e /tmp/tldextract/tldextract-5.4.0-py3-none-any.whl /tmp/tldextract/wheel
    python workspaces/contract/data/make_tlds.py /tmp/tldextract/wheel/tldextract/.tld_set_snapshot

Debian's ``publicsuffix`` package (/usr/share/publicsuffix/public_suffix_list.dat)
works as input too. Rerun it when a new top-level domain matters to your users.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

OUTPUT = Path(__file__).with_name("tlds.txt")


def read_top_level_domains(psl_text: str) -> tuple[str, list[str]]:
    """Return the list's version and its ICANN top-level domains in ASCII (IDNA) form, sorted."""
    version_match = re.search(r"^// VERSION: (\S+)", psl_text, re.MULTILINE)
    version = version_match.group(1) if version_match else "unknown"

    in_icann = False
    domains: set[str] = set()
    for raw_line in psl_text.splitlines():
        line = raw_line.strip()
        if line == "// ===BEGIN ICANN DOMAINS===":
            in_icann = True
            continue
        if line == "// ===END ICANN DOMAINS===":
            break
        if not in_icann or not line or line.startswith("//"):
            continue
        label = line.lstrip("!*.").rsplit(".", 1)[-1].lower()
        domains.add(label.encode("idna").decode("ascii") if not label.isascii() else label)
    return version, sorted(domains)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("psl_file", type=Path, help="a public_suffix_list.dat file")
    parser.add_argument("-o", "--output", type=Path, default=OUTPUT, help="where to write (default: tlds.txt here)")
    args = parser.parse_args()

    version, domains = read_top_level_domains(args.psl_file.read_text(encoding="utf-8"))
    header = [
        "# Top-level domains from the ICANN section of the Public Suffix List (https://publicsuffix.org/),",
        f"# list version {version}; IDN top-level domains in their ASCII (xn--) form.",
        "# Made by make_tlds.py in this folder; do not edit by hand.",
    ]
    args.output.write_text("\n".join([*header, *domains]) + "\n", encoding="utf-8")
    print(f"Wrote {len(domains)} top-level domains to {args.output}")


if __name__ == "__main__":
    main()
