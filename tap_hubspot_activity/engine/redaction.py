"""The one place where text bound for a log is made safe: secrets removed, controls escaped."""

from __future__ import annotations

import re
import threading

# A piece of a secret this long is as good as the secret: it is redacted too.
SECRET_PIECE = 16
MESSAGE_LIMIT = 300
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def escape_controls(text: str) -> str:
    """Control characters as visible escapes, so no value can forge a log line."""
    return _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


def shown(value: object, limit: int = 80) -> str:
    """A value from HubSpot as it may appear in a log: escaped and cut."""
    text = escape_controls(value if isinstance(value, str) else repr(value))
    return text if len(text) <= limit else text[:limit] + "..."


class Redactor:
    """Knows every secret of the run and removes them, and any long piece of one, from text."""

    def __init__(self) -> None:
        """Start with no secrets; credentials add theirs as they learn them."""
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def add(self, secret: str | None) -> None:
        """Remember a secret (a configured credential, or a token HubSpot issued)."""
        if secret:
            with self._lock:
                self._secrets.add(secret)

    def redact(self, text: str, limit: int = MESSAGE_LIMIT) -> str:
        """Text with every secret and every SECRET_PIECE-long piece of one replaced, then cut.

        Redaction comes before the cut, so a cut can never leave part of a secret behind;
        control characters are escaped so the text stays one line.
        """
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            for variant in {secret, secret.strip()}:
                if variant:
                    text = text.replace(variant, "***")
            for start in range(max(0, len(secret) - SECRET_PIECE + 1)):
                piece = secret[start : start + SECRET_PIECE]
                if piece.strip() and piece in text:
                    text = text.replace(piece, "***")
        text = escape_controls(text)
        return text if len(text) <= limit else text[:limit] + "..."
