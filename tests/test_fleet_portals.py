"""The fleet DAG's portal list follows the tap's own rules, checked in Airflow's virtualenv.

orchestrate/airflow/dags/fleet_portals.py runs where Airflow runs, which does not
install the tap: it reads the tap's rules from the project's source. Here the Airflow
virtualenv's python checks portal lists with it, as the DAG's first task does.
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap

import pytest

from tests.conftest import ROOT

AIRFLOW_PYTHON = ROOT / ".venv-airflow" / "bin" / "python"
DAGS = ROOT / "orchestrate" / "airflow" / "dags"
REQUIRED = bool(os.environ.get("AIRFLOW_TEST_REQUIRED"))
pytestmark = [
    pytest.mark.airflow,
    pytest.mark.skipif(
        not AIRFLOW_PYTHON.exists() and not REQUIRED,
        reason="Apache Airflow is not installed: run `make airflow-install` (.venv-airflow)",
    ),
]

# Prints, for each portal list of argv[1], the entries as the tasks get them or the error.
CHECK_SCRIPT = textwrap.dedent(
    """
    import json, sys

    sys.path.insert(0, sys.argv[2])
    import fleet_portals

    results = []
    for raw in json.loads(sys.argv[1]):
        try:
            results.append({"portals": fleet_portals.validate_portals(raw)})
        except fleet_portals.FleetConfigError as exc:
            results.append({"error": str(exc)})
    print(json.dumps(results))
    """
)


def check(*portal_lists: object) -> list[dict[str, object]]:
    result = subprocess.run(
        [str(AIRFLOW_PYTHON), "-c", CHECK_SCRIPT, json.dumps(portal_lists), str(DAGS)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={key: value for key, value in os.environ.items() if key != "PYTHONPATH"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.splitlines()[-1])


def test_the_portal_list_is_checked_with_the_taps_rules():
    us = {"label": "us", "access_token_conn_id": "hubspot_us"}
    eu = {"label": "eu", "api_url": "https://api-eu1.hubapi.com", "access_token_env": "EU_TOKEN"}
    oauth = {
        "label": "apac",
        "client_id_env": "ID",
        "client_secret_env": "SECRET",
        "refresh_token_env": "REFRESH",
        "config": {"start_date": "2026-01-01T00:00:00Z"},
    }
    good, twice, other_url, plain_http, loopback, same_label, inline, two_sources = check(
        {"portals": [us, eu, oauth]},
        [us, {**us, "label": "us2"}],
        [us, {**us, "label": "us2", "api_url": "https://api-eu1.hubapi.com"}],
        [{**eu, "api_url": "http://api.hubapi.com"}],
        [{**eu, "api_url": "http://127.0.0.1:8080"}],
        [us, {**eu, "label": "us"}],
        [{**us, "access_token": "pat-na1-secret"}],
        [{**us, "oauth_conn_id": "hubspot_oauth"}],
    )
    assert good == {
        "portals": [
            {
                "label": "us",
                "api_url": "https://api.hubapi.com",
                "access_token_conn_id": "hubspot_us",
            },
            {
                "label": "eu",
                "api_url": "https://api-eu1.hubapi.com",
                "access_token_env": "EU_TOKEN",
            },
            {
                "label": "apac",
                "api_url": "https://api.hubapi.com",
                "client_id_env": "ID",
                "client_secret_env": "SECRET",
                "refresh_token_env": "REFRESH",
                "config": {"start_date": "2026-01-01T00:00:00Z"},
            },
        ]
    }
    # One Connection read twice at one api_url is one portal listed twice (the tap's rule);
    # at another api_url it is another account.
    assert "portals[us] and portals[us2] are one portal listed twice" in twice["error"]
    assert "portals" in other_url
    # The tap's api_url rule: https, or plain http on loopback only.
    assert "portals[eu].api_url" in plain_http["error"]
    assert "https" in plain_http["error"]
    assert "portals" in loopback
    assert same_label == {"error": "portals: every label must be unique."}
    # The fleet's own rules stay: no secret in the list, one credential source.
    assert "access_token in the portal list" in inline["error"]
    assert "exactly one of" in two_sources["error"]
