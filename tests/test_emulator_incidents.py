"""The HubSpot emulator's planted incidents, checked over real HTTP."""

from __future__ import annotations

from tests.emulator_http import emulator_fixtures, ms, when

emu, http, _restore_modes = emulator_fixtures()


def test_planted_incidents_are_in_the_served_data(emu, http) -> None:
    found = emu.incidents()
    assert http.get(f"{emu.url}/_emulator/incidents", timeout=10).json() == found
    week_ago = emu.now_ms() - 7 * 86_400_000
    logins = {r["id"]: r for r in emu.truth("login")}

    brute = found["brute_force"]
    attempts = [logins[i] for i in brute["event_ids"]]
    assert len(attempts) == 12
    assert {(r["userId"], r["ipAddress"], r["loginSucceeded"]) for r in attempts} == {
        (brute["user_id"], brute["ip_address"], False)
    }
    times = sorted(ms(when(r, "login")) for r in attempts)
    assert times[-1] - times[0] < 4 * 60_000
    assert times[0] > week_ago

    new = found["new_country"]
    abroad = logins[new["event_id"]]
    assert abroad["loginSucceeded"] is True
    assert abroad["countryCode"] == new["country_code"] == "br"
    earlier = [
        r
        for r in emu.truth("login", user_ids=[new["user_id"]])
        if when(r, "login") < when(abroad, "login")
    ]
    assert len(earlier) >= 2
    assert {r["countryCode"] for r in earlier} == {"us"} == set(new["previous_country_codes"])
    assert ms(when(abroad, "login")) > week_ago

    removal = found["admin_2fa_removal"]
    event = next(r for r in emu.truth("security") if r["id"] == removal["event_id"])
    assert event["type"] == "REMOVE_TWO_FACTOR_AUTHENTICATION"
    assert event["userId"] == removal["admin_user_id"] != removal["target_user_id"]
    assert event["objectId"] == str(removal["target_user_id"])
    assert ms(when(event, "security")) > week_ago
    assert found["earlier"]
