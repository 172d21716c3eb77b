"""The README's snippets run as written: by hand against the emulator, state.json, a Service Key."""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from hubspot_emulator import EmulatorConfig, HubSpotEmulator
from scripts import warehouse
from tests.conftest import SMALL_PORTAL

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
TAP = [sys.executable, "-m", "tap_hubspot_activity"]
SNIPPET_TIMEOUT_S = 300


def snippet(section: str) -> str:
    """The first bash block under the README heading `section`."""
    body = README.split(f"\n## {section}\n", 1)[1]
    return re.search(r"```bash\n(.*?)```", body, re.DOTALL).group(1)


def run_bash(script: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The snippet in bash, with the project's venv first on PATH (as after `source`)."""
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=SNIPPET_TIMEOUT_S,
        check=False,
    )


def records(path: Path) -> list[dict]:
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    return [line for line in lines if line["type"] == "RECORD"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_emulator_snippet_runs_as_written(tmp_path):
    script = snippet("Running the tap by hand against the emulator")
    assert script.startswith("source .venv/bin/activate\n")
    # Another port than the README's 8080, which may be taken; the rest runs as written.
    script = script.removeprefix("source .venv/bin/activate\n").replace("8080", str(free_port()))
    done = run_bash(script, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "connection OK" in done.stderr
    full = records(tmp_path / "out.jsonl")
    assert {record["stream"] for record in full} >= {"login_activity", "security_activity"}
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["type"] == "STATE"
    assert state["value"]["bookmarks"]
    # The incremental run starts at the bookmarks: the lookback's minutes, not the history.
    incremental = records(tmp_path / "more.jsonl")
    assert len(incremental) < len(full) / 10


@pytest.fixture(scope="module")
def synced(tmp_path_factory):
    """A full sync against a small portal: its config and its output."""
    folder = tmp_path_factory.mktemp("synced")
    with HubSpotEmulator(EmulatorConfig(seed=5, **SMALL_PORTAL)) as emu:
        config = folder / "config.json"
        config.write_text(json.dumps({"access_token": "t", "api_url": emu.url}))
        out = subprocess.run(
            [*TAP, "--config", str(config)], capture_output=True, text=True, check=True
        ).stdout
        yield emu, config, out


def _run_with_state(config: Path, state_text: str, folder: Path):
    state = folder / "state.json"
    state.write_text(state_text)
    return subprocess.run(
        [*TAP, "--config", str(config), "--state", str(state)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_whole_state_message_and_its_value_are_the_same_state(synced, tmp_path):
    _, config, out = synced
    last = [line for line in out.splitlines() if '"type":"STATE"' in line.replace(" ", "")][-1]
    message = _run_with_state(config, last, tmp_path)
    value = _run_with_state(config, json.dumps(json.loads(last)["value"]), tmp_path)
    assert message.returncode == value.returncode == 0, message.stderr[-2000:]
    full = out.count('"type":"RECORD"')
    assert message.stdout.count('"type":"RECORD"') == value.stdout.count('"type":"RECORD"')
    assert message.stdout.count('"type":"RECORD"') < full / 10


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("whole output", "several JSON lines"),
        ("not json at all", "no JSON"),
        ('{"type": "RECORD", "stream": "x", "record": {}}', "neither a state"),
        ('{"login_activity": {"replication_key_value": "2026-01-01"}}', "neither a state"),
    ],
)
def test_a_state_file_the_tap_cannot_read_is_refused_in_one_line(synced, tmp_path, content, says):
    _, config, out = synced
    done = _run_with_state(config, out if content == "whole output" else content, tmp_path)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert says in last
    assert "tail -n 1 > state.json" in last
    assert done.stdout == ""


def test_the_service_key_path_of_the_readme(tmp_path):
    script = snippet("Running it against a real portal")
    config = json.loads(re.search(r"<<'JSON'\n(.*?)\nJSON", script, re.DOTALL).group(1))
    key = config["access_token"]
    assert "service-key" in key
    commands = [line for line in script.splitlines() if line.startswith("tap-hubspot-activity")]
    commands += [line for line in script.splitlines() if line.startswith("grep ")]
    assert len(commands) == 5
    # The emulator accepts only the README's placeholder key, as HubSpot only a real one.
    with HubSpotEmulator(EmulatorConfig(seed=9, access_token=key, **SMALL_PORTAL)) as emu:
        (tmp_path / "config.json").write_text(json.dumps({**config, "api_url": emu.url}))
        body = "\n".join(
            line
            for line in script.splitlines()
            if not line.startswith(("pip ", "cat ", "{", "JSON"))
        )
        done = run_bash(body, tmp_path)
        assert done.returncode == 0, done.stderr[-3000:]
        assert "connection OK" in done.stderr
        assert json.loads((tmp_path / "catalog.json").read_text())["streams"]
        assert json.loads((tmp_path / "state.json").read_text())["type"] == "STATE"
        emu.configure(access_token="another-key")
        refused = run_bash(commands[1], tmp_path)
    assert refused.returncode == 1
    assert "401" in refused.stderr
    assert key not in done.stderr + refused.stderr


def test_make_warehouse_prints_a_psql_command_that_connects(pg, capsys):
    # The same server `start` reuses: main prints its psql line and the TARGET_* values.
    assert warehouse.main(["start", str(pg.data_dir)]) == 0
    printed = capsys.readouterr().out.splitlines()
    command = next(line for line in printed if "psql" in line and not line.startswith("#"))
    assert f"TARGET_POSTGRES_PORT={pg.port}" in printed
    done = subprocess.run(
        [*shlex.split(command), "-tAc", "select 40 + 2"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "42"
