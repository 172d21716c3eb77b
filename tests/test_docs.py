"""The README and meltano.yml describe the settings the tap really has."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

from scripts import settings_docs
from tap_hubspot_activity.tap import TapHubspotActivity

ROOT = Path(__file__).resolve().parent.parent
# The SDK adds its own settings (stream_maps, flattening_*, ...) to the schema at runtime.
SDK_SETTINGS = ("stream_map", "faker_config", "flattening_", "batch_config")
TAP_SETTINGS = [
    name
    for name in TapHubspotActivity.config_jsonschema["properties"]
    if not name.startswith(SDK_SETTINGS)
]
SECRETS = {"access_token", "client_secret", "refresh_token"}
README_TEXT = (ROOT / "README.md").read_text()


def test_readme_settings_table_matches_about():
    readme = (ROOT / "README.md").read_text()
    rows = dict(re.findall(r"^\| (\w+) \| False \| [^|]* \| (.*) \|$", readme, re.MULTILINE))
    for name in TAP_SETTINGS:
        description = TapHubspotActivity.config_jsonschema["properties"][name]["description"]
        assert rows.get(name) == description, name


def test_meltano_declares_every_setting_with_secrets_sensitive():
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    extractor = next(
        p for p in project["plugins"]["extractors"] if p["name"] == "tap-hubspot-activity"
    )
    declared = {setting["name"]: setting for setting in extractor["settings"]}
    assert set(TAP_SETTINGS) <= set(declared)
    for name in TAP_SETTINGS:
        assert "kind" in declared[name], name
        assert bool(declared[name].get("sensitive")) == (name in SECRETS), name


def test_env_example_lists_every_setting():
    example = (ROOT / ".env.example").read_text()
    for name in TAP_SETTINGS:
        assert f"TAP_HUBSPOT_ACTIVITY_{name.upper()}" in example, name


def test_meltano_descriptions_and_defaults_are_the_taps_own():
    # One source: the tap's --about. `python -m scripts.settings_docs` writes the others.
    settings = settings_docs.about()
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    extractor = next(
        p for p in project["plugins"]["extractors"] if p["name"] == "tap-hubspot-activity"
    )
    declared = {setting["name"]: setting for setting in extractor["settings"]}
    assert set(settings) == set(TAP_SETTINGS)
    for name, spec in settings.items():
        assert declared[name]["description"] == spec["description"], name
        if spec.get("default") is not None:
            assert declared[name]["value"] == spec["default"], name
    assert settings_docs.main(["--check"]) == 0


def test_the_license_is_the_apache_2_text_pyproject_names():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["license"] == "Apache-2.0"
    text = (ROOT / "LICENSE").read_text()
    assert text.split()[:4] == ["Apache", "License", "Version", "2.0,"]
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text
    assert "END OF TERMS AND CONDITIONS" in text


def test_the_readme_prerequisites_are_those_ci_starts_from():
    ci = (ROOT / ".ci" / "run").read_text()
    prerequisites = README_TEXT.split("## Prerequisites", 1)[1].split("##", 1)[0]
    for tool in (
        re.search(r"with (.*); everything else", ci).group(1).replace(" and ", ", ").split(", ")
    ):
        assert tool in prerequisites, tool
    assert README_TEXT.count("## Prerequisites") == 1
    assert "uses 95% of it" in README_TEXT
