"""Write the settings tables into docs/api.md (between its settings markers) from the settings classes."""

from __future__ import annotations

from pathlib import Path

from system.settings import docs_section

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- settings: made by python -m system.settings -->\n", "\n<!-- /settings -->"


def main() -> None:
    api = ROOT / "docs" / "api.md"
    text = api.read_text()
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    api.write_text(head + START + docs_section() + END + tail)


if __name__ == "__main__":
    main()
