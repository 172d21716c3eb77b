"""api_url checked with the parser the HTTP stack itself uses, and the origin it allows."""

from __future__ import annotations

import ipaddress

from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

DEFAULT_PORTS = {"https": 443, "http": 80}


def url_error(api_url: str, setting: str) -> str | None:  # noqa: PLR0911 - one per defect
    """Why `api_url` is refused, or None.

    urllib3's parser is the one requests connects with, so what is checked here is what
    is dialled: no userinfo, no backslash (parsers disagree on both), no query or
    fragment, https unless the host is loopback.
    """
    if "\\" in api_url or any(ord(char) < 0x21 or ord(char) == 0x7F for char in api_url):  # noqa: PLR2004
        return f"{setting} {api_url!r} has a backslash, a space or a control character."
    try:
        parts = parse_url(api_url)
    except LocationParseError:
        return f"{setting} {api_url!r} is not an http(s) URL."
    if parts.scheme not in DEFAULT_PORTS or not parts.host:
        return f"{setting} {api_url!r} is not an http(s) URL."
    if parts.auth is not None or "@" in api_url:
        return f"{setting} {api_url!r} must not carry a user name or password (`@`)."
    if parts.query is not None or parts.fragment is not None:
        return f"{setting} {api_url!r} must not have a query or a fragment."
    if parts.scheme == "http" and not is_loopback(parts.host):
        return (
            f"{setting} {api_url!r} must use https: plain http is allowed for loopback hosts only."
        )
    return None


def is_loopback(host: str) -> bool:
    """Whether a host names this machine (localhost, 127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def origin(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of a URL as urllib3 parses it; ValueError if it has none."""
    try:
        parts = parse_url(url)
    except LocationParseError as exc:
        raise ValueError(str(exc)) from None
    if parts.scheme not in DEFAULT_PORTS or not parts.host:
        msg = f"not an http(s) URL: {url!r}"
        raise ValueError(msg)
    return parts.scheme, parts.host.lower(), parts.port or DEFAULT_PORTS[parts.scheme]
