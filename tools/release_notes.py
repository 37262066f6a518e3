"""Print one release's section of CHANGELOG.md: the GitHub release's notes.

    python tools/release_notes.py 0.2.0          # the text under "## [0.2.0] - DATE"

Exits 1, naming the version, when CHANGELOG.md has no such section: a tag whose changes
nobody wrote down is not released (the release workflow stops before publishing).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

CHANGELOG = Path(__file__).resolve().parent.parent / "CHANGELOG.md"


def section(text: str, version: str) -> str | None:
    """The body of ``## [version]`` up to the next ``## `` heading or link definitions."""
    heading = re.compile(rf"^## \[{re.escape(version)}\](?: - \d{{4}}-\d{{2}}-\d{{2}})?\s*$", re.M)
    found = heading.search(text)
    if found is None:
        return None
    rest = text[found.end() :]
    end = re.search(r"^(## |\[[^\]]+\]: )", rest, re.M)
    return (rest[: end.start()] if end else rest).strip() + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: release_notes.py VERSION", file=sys.stderr)
        return 2
    notes = section(CHANGELOG.read_text(encoding="utf-8"), argv[0].removeprefix("v"))
    if notes is None:
        print(f"CHANGELOG.md has no section for {argv[0]}", file=sys.stderr)
        return 1
    sys.stdout.write(notes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
