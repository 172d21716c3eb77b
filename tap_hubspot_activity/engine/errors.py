"""Every failure the engine raises: what the user reads, and what each kind makes the run do."""

from __future__ import annotations


class HubspotError(Exception):
    """A foreseeable failure; its message is one plain, redacted line for the user."""


class FatalError(HubspotError):
    """Retrying will not help: the run (or the portal) stops."""


class StreamUnavailableError(FatalError):
    """The portal does not offer this endpoint (its plan or an optional scope)."""


class DailyQuotaReserveError(FatalError):
    """The portal's remaining daily quota reached the reserve kept for other integrations."""


class TooLargeError(FatalError):
    """A response over the size cap."""

    def __init__(self, cap: int) -> None:
        """Name the cap and the setting that raises it."""
        super().__init__(
            f"a response was larger than {cap // (1024 * 1024)} MB once decoded; "
            "HubSpot's pages are far smaller (raise max_response_mb if yours are not)"
        )


class ListedTwiceError(FatalError):
    """Two entries of the portal list answer with one portalId: the later one is refused."""

    def __init__(self, message: str, *, label: str | None) -> None:
        """`label`: the entry refused."""
        super().__init__(message)
        self.label = label


class PortalsFailedError(FatalError):
    """Some portals of a multi-portal run failed; the message names them and why."""


class RetryableError(HubspotError):
    """A transient failure; `wait_seconds` is the server's own hint, when it gave one."""

    def __init__(self, message: str, *, wait_seconds: float | None = None) -> None:
        """Keep the server's wait hint beside the message."""
        super().__init__(message)
        self.wait_seconds = wait_seconds


class StaleTokenError(RetryableError):
    """A 401 for a token that has been replaced since: retried at once, not a failure."""


class UnreachableError(RetryableError):
    """The host could not be reached at all (refused, DNS, TLS)."""


class TerminatedError(HubspotError):
    """The process was asked to stop (SIGTERM or SIGINT), or the portal's reads were."""
