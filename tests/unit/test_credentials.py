"""OAuth tokens per token: the race of a refresh against requests in flight, offline."""

from __future__ import annotations

import threading

import pytest

from tap_hubspot_activity.engine.errors import FatalError
from tap_hubspot_activity.engine.http.credentials import OAuthToken, expires_in_seconds
from tap_hubspot_activity.engine.redaction import Redactor


class TokenEndpoint:
    def __init__(self, *, expires_in=1800, body=None):
        self.issued = 0
        self.expires_in = expires_in
        self.body = body

    def __call__(self, form):
        assert form["grant_type"] == "refresh_token"
        self.issued += 1
        if self.body is not None:
            return self.body
        return {"access_token": f"token-{self.issued}", "expires_in": self.expires_in}


def _oauth(endpoint, clock=None):
    return OAuthToken(
        post=endpoint,
        client_id="id",
        client_secret="secret-value",
        refresh_token="refresh-value",
        redactor=Redactor(),
        **({"clock": clock} if clock else {}),
    )


def test_a_401_for_a_replaced_token_retries_with_the_current_one_without_refreshing():
    endpoint = TokenEndpoint()
    oauth = _oauth(endpoint)
    first = oauth.current()
    # Eight requests were in flight with the first token; the first 401 replaces it ...
    assert oauth.unauthorized(first)
    assert endpoint.issued == 2
    # ... and the seven other stale 401s are retried with the new one, no refresh.
    for _ in range(7):
        assert oauth.unauthorized(first)
    assert endpoint.issued == 2
    assert oauth.current().value == "token-2"


def test_threads_racing_on_one_expired_token_refresh_it_once():
    endpoint = TokenEndpoint()
    oauth = _oauth(endpoint)
    stale = oauth.current()
    start = threading.Barrier(8)
    answers = []

    def request():
        start.wait()
        answers.append(oauth.unauthorized(stale))

    threads = [threading.Thread(target=request) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [True] * 8
    assert endpoint.issued == 2


def test_a_fresh_token_refused_in_turn_means_revoked():
    endpoint = TokenEndpoint()
    oauth = _oauth(endpoint)
    assert oauth.unauthorized(oauth.current())  # token-1 refused: refresh once
    assert not oauth.unauthorized(oauth.current())  # token-2 refused before any success
    assert endpoint.issued == 2


def test_each_token_may_be_replaced_once_over_a_long_run():
    endpoint = TokenEndpoint()
    oauth = _oauth(endpoint)
    for number in range(1, 5):
        token = oauth.current()
        oauth.succeeded(token)  # the token worked for a while, then expired
        assert oauth.unauthorized(token)
        assert endpoint.issued == number + 1


def test_tokens_are_refreshed_before_they_expire():
    now = [0.0]
    endpoint = TokenEndpoint(expires_in=60)
    oauth = _oauth(endpoint, clock=lambda: now[0])
    assert oauth.current().value == "token-1"
    now[0] = 50.0
    assert oauth.current().value == "token-1"
    now[0] = 55.0  # within a tenth of the lifetime of the expiry
    assert oauth.current().value == "token-2"


@pytest.mark.parametrize("value", ["abc", -1, 0, None, True, "inf", float("nan")])
def test_a_nonsense_lifetime_means_no_refresh_ahead_of_time(value):
    assert expires_in_seconds(value) == float("inf")
    endpoint = TokenEndpoint(expires_in=value)
    oauth = _oauth(endpoint)
    for _ in range(5):
        oauth.current()
    assert endpoint.issued == 1


def test_camel_case_token_answers_are_accepted():
    endpoint = TokenEndpoint(body={"accessToken": "camel", "expiresIn": 1800})
    assert _oauth(endpoint).current().value == "camel"


def test_an_answer_without_a_token_is_a_plain_error():
    endpoint = TokenEndpoint(body={"status": "BAD_REFRESH_TOKEN"})
    with pytest.raises(FatalError, match="without an access token"):
        _oauth(endpoint).current()


@pytest.mark.parametrize(
    ("issued", "problem"),
    [
        ("issued-token\r\nX-Injected: yes", "a control character (U+000D) at character 13"),
        ("issued-token\x00", "a control character (U+0000) at character 13"),
        ("issued-token\u2028x", "a space (U+2028) at character 13"),
        ("issued-token-\u043a\u043b\u044e\u0447", "a non-ASCII character (U+043A)"),
        (" issued-token", "a space (U+0020) at character 1"),
    ],
)
def test_an_issued_token_a_header_cannot_carry_is_refused_without_its_value(issued, problem):
    endpoint = TokenEndpoint(body={"access_token": issued, "expires_in": 1800})
    with pytest.raises(FatalError, match="token endpoint issued an access token with") as caught:
        _oauth(endpoint).current()
    assert problem in str(caught.value)
    assert "issued-token" not in str(caught.value)


def test_an_issued_refresh_token_a_form_would_mangle_is_refused():
    body = {"access_token": "fine", "refresh_token": "new-refresh\r\nX: 1", "expires_in": 1800}
    oauth = _oauth(TokenEndpoint(body=body))
    with pytest.raises(FatalError, match="issued a refresh token with a control character"):
        oauth.current()
    assert oauth._refresh_token == "refresh-value"
