"""Singer tap for HubSpot account activity: login history, audit log, security history."""
