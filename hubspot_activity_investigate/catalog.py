"""The named questions, in the order the CLI and the MCP server list them."""

from __future__ import annotations

from hubspot_activity_investigate import events, summaries
from hubspot_activity_investigate.query import Question

RANGE = ("since", "until", "as_of")
QUESTIONS = {
    question.name: question
    for question in (
        Question(
            "timeline",
            "Every event (logins, audit log, security history, CMS), newest first: of one "
            "portal, user, stream or action, in a time range.",
            ("portal", "user", "source", "action", *RANGE),
            events.timeline,
        ),
        Question(
            "failed-logins",
            "Failed login attempts, newest first, with IP address, country and user agent.",
            ("portal", "user", *RANGE),
            events.failed_logins,
        ),
        Question(
            "security-events",
            "Security history events (password and 2FA changes, key views, ...), newest "
            "first, optionally of some types.",
            ("portal", "user", "types", *RANGE),
            events.security_events,
        ),
        Question(
            "privileged-changes",
            "Privileged changes: admin grants, users added or removed, 2FA or SSO removed, "
            "API keys and tokens created, viewed or rotated. A user matches as actor or target.",
            ("portal", "user", "change_type", *RANGE),
            events.privileged_changes,
        ),
        Question(
            "detections",
            "What the detections found: failed-login bursts, logins from a new country, "
            "privileged changes, newest first.",
            ("portal", "user", "detections", *RANGE),
            events.detections,
        ),
        Question(
            "evidence-summary",
            "The monthly evidence summary: volumes per stream, what each detection found "
            "and whether the month is complete.",
            ("portal", "month", *RANGE),
            summaries.evidence_summary,
        ),
        Question(
            "completeness",
            "Whether the warehouse is complete for a range: per portal and stream, the "
            "tap's reads overlapping it and the events they list that the warehouse lacks.",
            ("portal", *RANGE),
            summaries.completeness,
        ),
        Question(
            "pipeline-health",
            "Per portal and stream: last event, last load and its age, how far the tap "
            "has read, and the status (ok, stale, incomplete, ...).",
            ("portal",),
            summaries.pipeline_health,
        ),
    )
}
