"""Settings descriptions written from one source, the tap's `--about`, into README, meltano.yml.

`python -m scripts.settings_docs` rewrites the README's settings table and the
descriptions and defaults of the tap's settings in meltano.yml; `--check` only says
whether they differ (tests/test_docs.py asks the same).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
MELTANO_YML = ROOT / "meltano.yml"
# The SDK adds its own settings (stream_maps, flattening_*, ...): documented by the SDK.
SDK_SETTINGS = ("stream_map", "faker_config", "flattening_", "batch_config")
TABLE_HEADER = "| Setting | Required | Default | Description |"
# meltano.yml's settings of the tap sit at this indentation.
ENTRY = re.compile(r"^        - name: (\w+)$")
FIELD_INDENT = " " * 10
WIDTH = 92


def about() -> dict[str, dict[str, object]]:
    """The tap's own settings as `--about --format=json` reports them, in order."""
    done = subprocess.run(
        [sys.executable, "-m", "tap_hubspot_activity", "--about", "--format=json"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    properties = json.loads(done.stdout)["settings"]["properties"]
    return {name: spec for name, spec in properties.items() if not name.startswith(SDK_SETTINGS)}


def readme_table(settings: dict[str, dict[str, object]]) -> str:
    """The README's table (the rows `--about --format=markdown` prints for these settings)."""
    rows = [TABLE_HEADER, "|:--------|:--------:|:-------:|:------------|"]
    for name, spec in settings.items():
        rows.append(f"| {name} | False | {spec.get('default')} | {spec['description']} |")
    return "\n".join(rows)


def with_readme_table(text: str, table: str) -> str:
    """The README with its settings table replaced."""
    start = text.index(TABLE_HEADER)
    end = text.index("\n\n", start)
    return text[:start] + table + text[end:]


def with_meltano_descriptions(text: str, settings: dict[str, dict[str, object]]) -> str:
    """meltano.yml with each tap setting's description (and default) written from `settings`."""
    lines = text.splitlines()
    out: list[str] = []
    current: str | None = None
    index = 0
    while index < len(lines):
        line = lines[index]
        match = ENTRY.match(line)
        if match or not line.startswith(FIELD_INDENT):
            current = match.group(1) if match and match.group(1) in settings else None
        if current and line.startswith(f"{FIELD_INDENT}description:"):
            index += 1
            while index < len(lines) and lines[index].startswith(FIELD_INDENT + "  "):
                index += 1  # the old description's continuation lines
            out.append(f"{FIELD_INDENT}description: >-")
            out.extend(
                textwrap.wrap(
                    str(settings[current]["description"]),
                    WIDTH,
                    initial_indent=FIELD_INDENT + "  ",
                    subsequent_indent=FIELD_INDENT + "  ",
                    break_on_hyphens=False,
                )
            )
            continue
        default = settings[current].get("default") if current else None
        if default is not None and line.startswith(f"{FIELD_INDENT}value:"):
            # JSON is YAML: a string stays a string ("2026-09" is no date).
            line = f"{FIELD_INDENT}value: {json.dumps(default)}"
        out.append(line)
        index += 1
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    """Write (or with --check, compare) the README table and meltano.yml's descriptions."""
    settings = about()
    files = {
        README: with_readme_table(README.read_text(), readme_table(settings)),
        MELTANO_YML: with_meltano_descriptions(MELTANO_YML.read_text(), settings),
    }
    stale = [path.name for path, text in files.items() if path.read_text() != text]
    if "--check" in argv:
        if stale:
            print(f"out of date: {', '.join(stale)}; run python -m scripts.settings_docs")  # noqa: T201
        return 1 if stale else 0
    for path, text in files.items():
        path.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
