"""The image recipes take their Debian archive from apt's own sources, as apt reads them."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("debian_mirror", ROOT / "scripts" / "containers" / "debian_mirror.py")
mirror = sys.modules["debian_mirror"] = importlib.util.module_from_spec(_spec)  # dataclasses look it up
_spec.loader.exec_module(mirror)

ARCHIVE, OTHER = "http://archive.example.test/debian", "http://other.example.test/debian"


def sources(tmp_path: Path, list_text: str = "", **parts: str) -> list:
    (tmp_path / "sources.list").write_text(list_text)
    (tmp_path / "parts").mkdir()
    for name, text in parts.items():
        (tmp_path / "parts" / name.replace("__", ".")).write_text(text)
    return mirror.configured(tmp_path / "sources.list", tmp_path / "parts")


def test_a_one_line_source_with_options_and_comments(tmp_path):
    found = sources(tmp_path, f"# {OTHER} is not a source\ndeb-src {OTHER} bookworm main\n"
                              f"deb [arch=amd64 signed-by=/k.gpg] {ARCHIVE}/ bookworm main contrib # x\n")
    assert mirror.mirror_for(found, "bookworm") == ARCHIVE


def test_a_deb822_stanza_wins_only_when_enabled_and_carrying_the_suite(tmp_path):
    found = sources(tmp_path, debian__sources=(f"Types: deb\nURIs: {OTHER}\nSuites: bookworm\nComponents: main\nEnabled: no\n\n"
                                               f"Types: deb deb-src\nURIs: {OTHER}-security\nSuites: bookworm-security\nComponents: main\n\n"
                                               f"types: deb\nuris: {ARCHIVE}\nsuites: bookworm\n bookworm-updates\ncomponents: main\n"))
    assert mirror.mirror_for(found, "bookworm") == ARCHIVE
    assert mirror.mirror_for(found, "bookworm-updates") == ARCHIVE  # a folded field is one value
    assert mirror.mirror_for(found, "bookworm", "non-free") is None


def test_files_apt_ignores_are_ignored(tmp_path):
    found = sources(tmp_path, other__list__disabled=f"deb {OTHER} bookworm main\n", debian__sources__bak=f"Types: deb\nURIs: {OTHER}\n"
                    "Suites: bookworm\nComponents: main\n", archive__list=f"deb {ARCHIVE} bookworm main\n")
    assert mirror.mirror_for(found, "bookworm") == ARCHIVE


def test_no_source_is_said_plainly(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(mirror, "apt_places", lambda: (tmp_path / "none.list", tmp_path / "none.d"))
    assert mirror.main(["bookworm"]) == 1
    said = capsys.readouterr().err
    assert "no apt source of this machine carries Debian 'bookworm' 'main'" in said and "sources seen: none" in said
