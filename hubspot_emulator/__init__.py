"""A loopback HTTP emulator of HubSpot's account-activity API for tests and demos."""

from __future__ import annotations

from .config import EmulatorConfig
from .emulator import HubSpotEmulator

__all__ = ["EmulatorConfig", "HubSpotEmulator"]
