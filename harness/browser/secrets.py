"""Secrets in the files a run leaves: scrubbed from a page's trace before it is kept, searched for in every log and attachment."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from urllib.parse import quote, quote_plus


def scrub_zip(path: Path, secrets: set[str]) -> int:
    """Replace every occurrence of each secret in every file of the zip at ``path`` by ``[redacted]`` (its
    percent-encoded and JSON-escaped forms too); returns how many were replaced."""
    forms = sorted({f for s in secrets if s for f in (s, quote(s, safe=""), quote_plus(s), json.dumps(s)[1:-1])}, key=len, reverse=True)
    replaced, entries = 0, []
    with zipfile.ZipFile(path) as source:
        for info in source.infolist():
            data = source.read(info)
            for form in forms:
                replaced += data.count(form.encode())
                data = data.replace(form.encode(), b"[redacted]")
            entries.append((info, data))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for info, data in entries:
            target.writestr(info, data)
    return replaced


def secrets_written(places: list[Path], secrets: set[str]) -> tuple[list[tuple[str, int]], int]:
    """Where any of ``secrets`` is written among the files ``places`` (a zip is searched entry by entry; its
    percent-encoded and JSON-escaped forms count too): [(file, how many)] and how many files were searched."""
    forms = {f.encode() for s in secrets if s for f in (s, quote(s, safe=""), quote_plus(s), json.dumps(s)[1:-1])}
    found, searched = [], 0
    for path in places:
        if not path.is_file():
            continue
        searched += 1
        blobs = [path.read_bytes()]
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                blobs = [archive.read(info) for info in archive.infolist()]
        hits = sum(blob.count(form) for blob in blobs for form in forms)
        if hits:
            found.append((str(path), hits))
    return found, searched
