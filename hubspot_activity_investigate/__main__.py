"""`python -m hubspot_activity_investigate`: the `hubspot-activity` command."""

import sys

from hubspot_activity_investigate.cli import main

sys.exit(main())
