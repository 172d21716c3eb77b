"""Run the tap as `python -m tap_hubspot_activity`."""

from tap_hubspot_activity.tap import TapHubspotActivity

TapHubspotActivity.cli()
