"""singer-sdk's standard tap tests, run against a module-scoped emulator."""

from __future__ import annotations

import atexit

from singer_sdk.testing import SuiteConfig, get_tap_test_class

from hubspot_emulator import EmulatorConfig, HubSpotEmulator
from tap_hubspot_activity.tap import TapHubspotActivity
from tests.conftest import SMALL_PORTAL, tap_config

# The generated class syncs while pytest collects its fixtures, so the emulator has to
# be up before the class exists; it lives for the whole test session.
_EMULATOR = HubSpotEmulator(EmulatorConfig(seed=5, **SMALL_PORTAL))
_EMULATOR.start()
atexit.register(_EMULATOR.stop)

TestTapHubspotActivity = get_tap_test_class(
    tap_class=TapHubspotActivity,
    config=tap_config(_EMULATOR, cms_content_audit=True),
    suite_config=SuiteConfig(max_records_limit=500),
)
