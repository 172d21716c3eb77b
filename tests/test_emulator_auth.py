"""The HubSpot emulator's auth: static tokens and OAuth, checked over real HTTP."""

from __future__ import annotations

import re

from tests.emulator_http import AUTH, STREAMS, UUID, emulator_fixtures, get, oauth_token

emu, http, _restore_modes = emulator_fixtures()


def test_missing_or_empty_token_is_401(emu, http) -> None:
    for headers in ({}, {"Authorization": "Bearer "}, {"Authorization": "Basic abc"}):
        resp = get(http, emu, "security", headers=headers)
        assert resp.status_code == 401
        body = resp.json()
        assert body["category"] == "INVALID_AUTHENTICATION"
        assert body["message"].startswith("Authentication credentials not found.")
        assert UUID.match(body["correlationId"])


def test_static_token_mode(emu, http) -> None:
    emu.configure(access_token="pat-na1-right")
    assert get(http, emu, "login").status_code == 401
    ok = get(http, emu, "login", headers={"Authorization": "Bearer pat-na1-right"})
    assert ok.status_code == 200
    assert ok.headers["X-HubSpot-RateLimit-Daily"] == "1000000"


def test_oauth_refresh_and_token_use(emu, http) -> None:
    emu.configure(access_token="pat-na1-only", require_oauth=True)
    resp = oauth_token(http, emu)
    assert resp.status_code == 200
    grant = resp.json()
    assert grant["token_type"] == "bearer"
    assert grant["refresh_token"] == "emu-refresh-token"
    assert grant["expires_in"] == 1800
    assert grant["access_token"] != oauth_token(http, emu).json()["access_token"]
    used = get(http, emu, "login", headers={"Authorization": f"Bearer {grant['access_token']}"})
    assert used.status_code == 200
    # OAuth calls have no daily limit, so no daily headers.
    assert "X-HubSpot-RateLimit-Max" in used.headers
    assert "X-HubSpot-RateLimit-Daily" not in used.headers
    static = get(http, emu, "login", headers={"Authorization": "Bearer pat-na1-only"})
    assert static.status_code == 401


def test_the_date_versioned_token_endpoint_answers_in_camel_case(emu, http) -> None:
    emu.configure(require_oauth=True)
    grant = oauth_token(http, emu, "2026-03").json()
    assert set(grant) == {"tokenType", "refreshToken", "accessToken", "expiresIn"}
    assert grant["expiresIn"] == 1800
    used = get(http, emu, "login", headers={"Authorization": f"Bearer {grant['accessToken']}"})
    assert used.status_code == 200
    emu.configure(token_case="snake")
    assert "access_token" in oauth_token(http, emu, "2026-03").json()
    emu.configure(token_case="camel")
    assert "accessToken" in oauth_token(http, emu, "v1").json()
    assert oauth_token(http, emu, "2026-09").status_code == 404
    refused = oauth_token(http, emu, "2026-03", refresh_token="nope")
    assert refused.json()["status"] == "BAD_REFRESH_TOKEN"


def test_bad_oauth_credentials(emu, http) -> None:
    bad_refresh = oauth_token(http, emu, refresh_token="nope")
    assert bad_refresh.status_code == 400
    assert bad_refresh.json()["status"] == "BAD_REFRESH_TOKEN"
    assert bad_refresh.json()["message"] == "missing or invalid refresh token"
    assert UUID.match(bad_refresh.json()["correlationId"])
    bad_client = oauth_token(http, emu, client_secret="nope")
    assert bad_client.status_code == 400
    assert bad_client.json()["status"] == "BAD_CLIENT_ID"


def test_expired_oauth_token(emu, http) -> None:
    emu.configure(token_lifetime_s=0)
    token = oauth_token(http, emu).json()["access_token"]
    resp = get(http, emu, "login", headers={"Authorization": f"Bearer {token}"})
    assert resp.status_code == 401
    assert resp.json()["category"] == "EXPIRED_AUTHENTICATION"
    assert re.fullmatch(
        r"The OAuth token used to make this call expired \d+ second\(s\) ago\.",
        resp.json()["message"],
    )


def test_missing_scopes_mode(emu, http) -> None:
    emu.configure(missing_scopes=True)
    for stream in STREAMS:
        resp = get(http, emu, stream)
        assert resp.status_code == 403
        body = resp.json()
        assert body["category"] == "MISSING_SCOPES"
        assert body["errors"][0]["context"]["requiredGranularScopes"] == [
            "account-info.security.read"
        ]
    assert (
        http.get(f"{emu.url}/account-info/v3/details", headers=AUTH, timeout=10).status_code == 200
    )


def test_non_enterprise_forbids_only_audit_logs(emu, http) -> None:
    emu.configure(enterprise=False)
    resp = get(http, emu, "audit-logs")
    assert resp.status_code == 403
    assert resp.json()["category"] == "FORBIDDEN"
    assert "Enterprise" in resp.json()["message"]
    assert get(http, emu, "login").status_code == 200
    assert get(http, emu, "security").status_code == 200
