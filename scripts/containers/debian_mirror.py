#!/usr/bin/env python3
"""Print the Debian archive this machine's apt uses for a suite, read from apt's own sources.

The image recipes build a root with debootstrap, which needs an archive's address.  The repository names
none: it takes the one apt is configured with, found as apt finds its sources - the files apt-config names
(``Dir::Etc::sourcelist`` and every ``*.list`` and ``*.sources`` in ``Dir::Etc::sourceparts``; other files
there are ignored, as apt ignores them), one-line entries (``deb [options] URI SUITE COMPONENT...``) and
deb822 stanzas (``Types:``, ``URIs:``, ``Suites:``, ``Components:``, ``Enabled:``).  The first enabled
``deb`` source that carries the suite and the component wins.

    python3 scripts/containers/debian_mirror.py bookworm [main]

Prints the URI; exits 1 saying what is missing when no configured source carries them.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Source:
    types: tuple[str, ...]
    uris: tuple[str, ...]
    suites: tuple[str, ...]
    components: tuple[str, ...]
    enabled: bool = True
    where: str = ""


def one_line(text: str, where: str) -> list[Source]:
    """The entries of a ``sources.list``-format file."""
    found = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        line = re.sub(r"\[[^\]]*\]", " ", line, count=1)  # [arch=amd64 signed-by=...]
        words = line.split()
        if len(words) >= 3 and words[0] in ("deb", "deb-src"):
            found.append(Source((words[0],), (words[1],), (words[2],), tuple(words[3:]), True, f"{where}:{number}"))
    return found


def deb822(text: str, where: str) -> list[Source]:
    """The stanzas of a ``.sources`` file (fields are case-insensitive; a line starting with space continues one)."""
    found = []
    for number, stanza in enumerate(re.split(r"\n\s*\n", text), 1):
        fields: dict[str, str] = {}
        key = None
        for raw in stanza.splitlines():
            if raw.lstrip().startswith("#"):
                continue
            if raw[:1].isspace() and key:
                fields[key] += " " + raw.strip()
            elif ":" in raw:
                key, value = raw.split(":", 1)
                key = key.strip().lower()
                fields[key] = value.strip()
        if "uris" not in fields:
            continue
        enabled = fields.get("enabled", "yes").lower() not in ("no", "false", "0")
        found.append(Source(tuple(fields.get("types", "").split()), tuple(fields["uris"].split()), tuple(fields.get("suites", "").split()),
                            tuple(fields.get("components", "").split()), enabled, f"{where} stanza {number}"))
    return found


def apt_places() -> tuple[Path, Path]:
    """Where apt reads its sources from (apt-config's answer; Debian's defaults where apt-config is missing)."""
    try:
        out = subprocess.run(["apt-config", "shell", "LIST", "Dir::Etc::sourcelist/f", "PARTS", "Dir::Etc::sourceparts/d"],
                             capture_output=True, text=True, check=True, timeout=10).stdout
        values = dict(re.findall(r"^(LIST|PARTS)=(.*)$", out, re.M))
        return Path(shlex.split(values["LIST"])[0]), Path(shlex.split(values["PARTS"])[0])
    except (OSError, subprocess.SubprocessError, KeyError, IndexError):
        return Path("/etc/apt/sources.list"), Path("/etc/apt/sources.list.d")


def configured(source_list: Path, parts: Path) -> list[Source]:
    sources = one_line(source_list.read_text(), str(source_list)) if source_list.is_file() else []
    for path in sorted(parts.glob("*")) if parts.is_dir() else []:
        if path.suffix == ".list":
            sources += one_line(path.read_text(), str(path))
        elif path.suffix == ".sources":
            sources += deb822(path.read_text(), str(path))
    return sources


def mirror_for(sources: list[Source], suite: str, component: str = "main") -> str | None:
    for s in sources:
        if s.enabled and "deb" in s.types and suite in s.suites and component in s.components and s.uris:
            return s.uris[0].rstrip("/")
    return None


def main(argv: list[str]) -> int:
    if not 1 <= len(argv) <= 2:
        print(__doc__.strip().splitlines()[-3].strip(), file=sys.stderr)
        return 2
    suite, component = argv[0], (argv[1] if len(argv) > 1 else "main")
    source_list, parts = apt_places()
    sources = configured(source_list, parts)
    uri = mirror_for(sources, suite, component)
    if uri is None:
        seen = "; ".join(f"{s.where}: {' '.join(s.types)} {' '.join(s.uris)} {' '.join(s.suites)}" for s in sources) or "none"
        print(f"no apt source of this machine carries Debian '{suite}' '{component}' (read {source_list} and {parts}/*.list, "
              f"*.sources; sources seen: {seen}). Add one, e.g. a deb822 stanza in {parts}/debian.sources, then run this again.",
              file=sys.stderr)
        return 1
    print(uri)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
