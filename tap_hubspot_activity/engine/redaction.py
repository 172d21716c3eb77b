"""TEMPORARY stand-in for the seams-engine branch's module: the tap's redaction, re-exported."""

from __future__ import annotations

from tap_hubspot_activity.engine.errors import Redactor, escape_controls, shown

__all__ = ["Redactor", "escape_controls", "shown"]
