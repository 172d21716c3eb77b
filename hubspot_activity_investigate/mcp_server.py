"""The questions as MCP tools (the official SDK's MCPServer), over stdio or loopback HTTP.

One tool per question, with typed, described parameters; each answer is the layer's
(rows, rowCount, moreRows). Bad input, an unknown user or an unreachable warehouse is
a tool error with the layer's one plain line; the server never shows a database error
text or a credential.
"""

from __future__ import annotations

import typing as t

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from hubspot_activity_investigate.catalog import QUESTIONS
from hubspot_activity_investigate.errors import InvestigationError
from hubspot_activity_investigate.layer import ask
from hubspot_activity_investigate.params import DEFAULT_LIMIT, HELP, MAX_LIMIT

if t.TYPE_CHECKING:
    from collections.abc import Callable

    from hubspot_activity_investigate.settings import Settings

INSTRUCTIONS = (
    "Questions over a HubSpot account-activity warehouse (logins, audit log, security "
    "history, detections, evidence). Times are UTC; relative times such as 24h or 7d count "
    "back from now (or as_of). Answers are capped (limit): moreRows says how many rows "
    "were left out."
)

Portal = t.Annotated[int | None, Field(description=HELP["portal"], ge=0)]
User = t.Annotated[str | None, Field(description=HELP["user"])]
Source = t.Annotated[
    t.Literal["login", "audit", "security", "cms"] | None, Field(description=HELP["source"])
]
Action = t.Annotated[str | None, Field(description=HELP["action"])]
Types = t.Annotated[list[str] | None, Field(description=HELP["types"])]
ChangeType = t.Annotated[str | None, Field(description=HELP["change_type"])]
Detections = t.Annotated[list[str] | None, Field(description=HELP["detections"])]
Month = t.Annotated[str | None, Field(description=HELP["month"])]
Since = t.Annotated[str | None, Field(description=HELP["since"])]
Until = t.Annotated[str | None, Field(description=HELP["until"])]
AsOf = t.Annotated[str | None, Field(description=HELP["as_of"])]
Limit = t.Annotated[int, Field(description=HELP["limit"], ge=1, le=MAX_LIMIT)]
Result = dict[str, t.Any]
# --http serves here only: the questions carry no authentication of their own.
LOOPBACK = "127.0.0.1"


class Tools:
    """The tools, one per question; `settings()` gives the warehouse or raises."""

    def __init__(self, settings: Callable[[], Settings]) -> None:
        """Tools over the warehouse `settings()` names."""
        self.settings = settings

    def _answer(self, name: str, given: dict[str, t.Any]) -> Result:
        raw = {key: _text(value) for key, value in given.items() if key != "self"}
        try:
            return ask(name, raw, self.settings()).as_dict()
        except InvestigationError as exc:
            raise ToolError(str(exc)) from None

    # Each tool hands its own parameters (locals()) to the layer, which parses them as
    # the CLI's: the same checks and the same plain errors.
    def timeline(  # noqa: PLR0913 - the question's parameters
        self,
        *,
        portal: Portal = None,
        user: User = None,
        source: Source = None,
        action: Action = None,
        since: Since = None,
        until: Until = None,
        as_of: AsOf = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Result:
        """See catalog.QUESTIONS."""
        return self._answer("timeline", locals())

    def failed_logins(  # noqa: PLR0913
        self,
        *,
        portal: Portal = None,
        user: User = None,
        since: Since = None,
        until: Until = None,
        as_of: AsOf = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Result:
        """See catalog.QUESTIONS."""
        return self._answer("failed-logins", locals())

    def security_events(  # noqa: PLR0913
        self,
        *,
        portal: Portal = None,
        user: User = None,
        types: Types = None,
        since: Since = None,
        until: Until = None,
        as_of: AsOf = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Result:
        """See catalog.QUESTIONS."""
        return self._answer("security-events", locals())

    def privileged_changes(  # noqa: PLR0913
        self,
        *,
        portal: Portal = None,
        user: User = None,
        change_type: ChangeType = None,
        since: Since = None,
        until: Until = None,
        as_of: AsOf = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Result:
        """See catalog.QUESTIONS."""
        return self._answer("privileged-changes", locals())

    def detections(  # noqa: PLR0913
        self,
        *,
        portal: Portal = None,
        user: User = None,
        detections: Detections = None,
        since: Since = None,
        until: Until = None,
        as_of: AsOf = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Result:
        """See catalog.QUESTIONS."""
        return self._answer("detections", locals())

    def evidence_summary(  # noqa: PLR0913
        self,
        *,
        portal: Portal = None,
        month: Month = None,
        since: Since = None,
        until: Until = None,
        as_of: AsOf = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Result:
        """See catalog.QUESTIONS."""
        return self._answer("evidence-summary", locals())

    def completeness(
        self,
        *,
        portal: Portal = None,
        since: Since = None,
        until: Until = None,
        as_of: AsOf = None,
        limit: Limit = DEFAULT_LIMIT,
    ) -> Result:
        """See catalog.QUESTIONS."""
        return self._answer("completeness", locals())

    def pipeline_health(self, *, portal: Portal = None, limit: Limit = DEFAULT_LIMIT) -> Result:
        """See catalog.QUESTIONS."""
        return self._answer("pipeline-health", locals())


def build_server(settings: Callable[[], Settings]) -> MCPServer[t.Any]:
    """The server, a tool per question; `settings()` gives the warehouse or raises."""
    # WARNING: stderr is the client's log; per-call lines (and --demo's pg_ctl) are noise.
    server: MCPServer[t.Any] = MCPServer(
        "hubspot-activity", instructions=INSTRUCTIONS, log_level="WARNING"
    )
    tools = Tools(settings)
    read_only = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)
    for question in QUESTIONS.values():
        name = question.name.replace("-", "_")
        server.add_tool(
            getattr(tools, name), name=name, description=question.summary, annotations=read_only
        )
    return server


def _text(value: object) -> str | int | None:
    """A tool argument as the layer takes it (lists as the CLI's comma-separated text)."""
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    return t.cast("str | int | None", value)


def serve(settings: Callable[[], Settings], http_port: int | None = None) -> None:
    """Serve over stdio until the client closes it, or over streamable HTTP on loopback."""
    server = build_server(settings)
    if http_port is None:
        server.run("stdio")
    else:
        server.run("streamable-http", host=LOOPBACK, port=http_port)
