"""The innermost reason of a failed connection, in a few words fit for one log line."""

from __future__ import annotations


def connection_cause(exc: BaseException) -> str:
    """The innermost reason of a connection failure, without URLs or pool internals."""
    inner: BaseException | None = exc
    while inner is not None:
        text = str(inner)
        for reason in (
            "Connection refused",
            "Name or service not known",
            "Temporary failure in name resolution",
            "No route to host",
            "Network is unreachable",
            "certificate verify failed",
            "Connection reset",
            "got more than 100 headers",
            "Exceeded 30 redirects",
        ):
            if reason.lower() in text.lower():
                return reason
        nested = inner.args[0] if inner.args else None
        inner = (
            inner.__context__
            or inner.__cause__
            or (nested if isinstance(nested, BaseException) else None)
        )
    return type(exc).__name__
