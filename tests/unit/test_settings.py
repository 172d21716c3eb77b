"""Settings checks that JSON Schema cannot express, in every mode."""

from __future__ import annotations

import pytest

from tap_hubspot_activity.settings import Settings, portal_list_errors, settings_errors

BASE = {"api_url": "https://api.hubapi.com", "api_version": "v3"}
TWICE = (
    "portals[{}] and portals[{}] are one portal listed twice (same api_url and credential): "
    "list it once."
)


def _errors(*, required=True, **config):
    return settings_errors({**BASE, **config}, credentials_required=required)


def test_discovery_needs_no_credentials_but_a_sync_does():
    assert _errors(required=False) == []
    assert "no credentials" in _errors(required=True)[0]


@pytest.mark.parametrize(
    ("api_url", "reason"),
    [
        ("http://192.0.2.10:8080\\@127.0.0.1:9000", "backslash"),
        ("http://user:pw@127.0.0.1:9000", "user name or password"),
        ("http://10.1.2.3:8080", "must use https"),
        ("https://api.hubapi.com?x=1", "query"),
        ("ftp://api.hubapi.com", "not an http(s) URL"),
        ("https://api.hubapi.com /x", "space"),
    ],
)
def test_a_bad_api_url_fails_even_discovery(api_url, reason):
    errors = _errors(required=False, api_url=api_url)
    assert len(errors) == 1
    assert reason in errors[0]


def test_a_portal_api_url_is_checked_like_the_top_level_one():
    portals = [{"label": "a", "access_token": "t", "api_url": "http://1.2.3.4\\@127.0.0.1"}]
    assert "portals[a].api_url" in _errors(portals=portals)[0]


def test_a_token_with_a_trailing_newline_is_trimmed_and_one_broken_inside_is_refused():
    (portal,) = Settings.from_config(
        {**BASE, "access_token": "pat-na1-abc\n"}, user_agent="ua"
    ).portals
    assert portal.credentials["access_token"] == "pat-na1-abc"
    errors = _errors(access_token="pat-na1\nabc")
    assert errors == [
        (
            "settings: access_token has a control character (U+000A) at character 8 "
            "(credentials are visible ASCII only)."
        )
    ]
    assert "pat-na1" not in errors[0]


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("pat-na1-\u20acuro", "a non-ASCII character (U+20AC) at character 9"),
        ("pat-na1-caf\u00e9", "a non-ASCII character (U+00E9) at character 12"),
        ("pat-na1\x00abc", "a control character (U+0000) at character 8"),
        ("pat-na1\x85abc", "a control character (U+0085) at character 8"),
        ("pat-na1\u2028abc", "a space (U+2028) at character 8"),
        ("pat-na1\u200babc", "a non-ASCII character (U+200B) at character 8"),
        ("pat na1", "a space (U+0020) at character 4"),
    ],
)
def test_a_credential_a_header_cannot_carry_is_refused_in_every_mode_without_its_value(
    value, problem
):
    for required in (True, False):
        (error,) = _errors(required=required, access_token=value)
        assert f"settings: access_token has {problem}" in error
        assert "pat" not in error.replace("settings: access_token", "")


def test_every_credential_of_every_portal_is_checked_and_named():
    portals = [
        {"label": "a", "client_id": "id", "client_secret": "s\u20ac", "refresh_token": "r"},
        {"label": "b", "access_token": "t\r\nX-Injected: 1"},
    ]
    errors = _errors(required=False, portals=portals)
    assert errors[0].startswith("portals[a]: client_secret has a non-ASCII character")
    assert errors[1].startswith("portals[b]: access_token has a control character (U+000D)")


def test_dates_and_versions_are_checked_in_every_mode():
    errors = _errors(required=False, start_date="yesterday", api_version="v9")
    assert any("start_date" in error for error in errors)
    assert any("api_version" in error for error in errors)
    both = _errors(start_date="2026-02-01", end_date="2026-01-01", access_token="t")
    assert "end_date" in both[0]


def test_the_oauth_token_endpoint_is_one_of_two_and_maps_to_its_path():
    assert _errors(required=False, oauth_token_endpoint="v1") == []
    (error,) = _errors(required=False, oauth_token_endpoint="/oauth/v1/token")
    assert error.startswith("oauth_token_endpoint '/oauth/v1/token' is unknown")
    base = {
        "request_timeout": 60,
        "max_retry_seconds": 300,
        "max_response_mb": 16,
        "max_concurrency": 8,
        "daily_quota_reserve": 0,
    }
    base = {**BASE, **base, "access_token": "t"}
    assert Settings.from_config(base, user_agent="ua").limits.oauth_token_path == (
        "/oauth/2026-03/token"
    )
    chosen = Settings.from_config({**base, "oauth_token_endpoint": "v1"}, user_agent="ua").limits
    assert chosen.oauth_token_path == "/oauth/v1/token"


def test_one_portal_listed_twice_is_refused_naming_both_entries_and_no_secret():
    url = "https://api.hubapi.com"
    twice = [
        {"label": "a", "access_token": "tok-1", "api_url": url},
        {"label": "b", "access_token": "tok-2", "api_url": url},
        {"label": "c", "access_token": "tok-1", "api_url": f"{url}/"},
    ]
    errors = _errors(required=False, portals=twice)
    assert errors == [TWICE.format("a", "c")]
    assert "tok-1" not in errors[0]


def test_one_refresh_token_is_one_portal_whatever_the_app_and_another_url_may_differ():
    oauth = {"client_secret": "s", "refresh_token": "r-1"}
    portals = [
        {"label": "a", "client_id": "app-1", **oauth},
        {"label": "b", "client_id": "app-2", **oauth},
        {"label": "eu", "access_token": "t", "api_url": "https://api-eu1.hubapi.com"},
        {"label": "us", "access_token": "t"},
    ]
    assert _errors(portals=portals) == [TWICE.format("a", "b")]


def test_the_portal_list_rules_stand_alone_as_settings_give_them():
    portals = [
        {"label": "a", "access_token": "tok-1"},
        {"label": "a", "access_token": "tok\n1", "api_url": "http://10.1.2.3"},
        {"label": "b", "access_token": "tok-1"},
    ]
    lines = portal_list_errors(portals)
    assert lines == _errors(required=False, portals=portals)
    assert lines[0] == "portals: every label must be unique."
    assert TWICE.format("a", "b") in lines
    assert any("U+000A" in line for line in lines)
    assert any("must use https" in line for line in lines)


def test_the_settings_are_made_once_with_the_schemas_defaults_and_one_meaning_each():
    settings = Settings.from_config(
        {"access_token": "t", "start_date": "2026-01-01", "max_concurrency": 1}, user_agent="ua"
    )
    assert settings.start.isoformat() == "2026-01-01T00:00:00+00:00"
    assert settings.end is None
    assert settings.limits.requests_in_flight == settings.windows_in_flight == 1
    assert settings.read_ahead is False  # one request in flight reads one stream at a time
    assert settings.limits.details_path == "/account-info/2026-09/details"
    assert settings.activity_path("login") == "/account-info/2026-09/activity/login"
    assert settings.page_size == 200
