"""Secrets never survive into text bound for a log; nor do control characters."""

from __future__ import annotations

from tap_hubspot_activity.engine.redaction import Redactor, escape_controls, shown

SECRET = "pat-na1-0123456789abcdef-FEDCBA9876543210"


def test_a_secret_and_every_long_piece_of_it_are_removed_before_the_cut():
    redactor = Redactor()
    redactor.add(SECRET)
    # Cut at 300 characters, a naive cut-then-redact would leave the secret's head.
    text = "x" * 280 + SECRET + " and a piece: " + SECRET[5:25]
    out = redactor.redact(text)
    assert len(out) <= 303
    for start in range(len(SECRET) - 15):
        assert SECRET[start : start + 16] not in out


def test_a_secret_with_a_trailing_newline_is_redacted_in_either_form():
    redactor = Redactor()
    redactor.add(SECRET + "\n")
    out = redactor.redact(f"Invalid header value 'Bearer {SECRET}\\n' and {SECRET}\n")
    assert SECRET[:16] not in out
    assert "\n" not in out


def test_control_characters_cannot_forge_a_log_line():
    forged = "42\n2026-11-23 12:00:00 | ERROR | injected"
    assert "\n" not in escape_controls(forged)
    assert "\\x0a" in shown(forged)
    assert "\u2028" not in escape_controls("a\u2028b")
