"""The shared HubSpot HTTP stream: URL, auth, paging, errors and backoff."""

from __future__ import annotations

import datetime as dt
import re
import sys
import threading
import typing as t
from functools import cached_property
from http import HTTPStatus

import backoff
import msgspec
import pendulum
import requests
from singer_sdk import RESTStream
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.pagination import BaseAPIPaginator

from tap_hubspot_activity.auth import HubspotOAuthAuthenticator
from tap_hubspot_activity.fanout import CHECKPOINT, FanOut

if t.TYPE_CHECKING:
    from collections.abc import Callable, Generator, Iterable, Iterator

    from singer_sdk.authenticators import BearerTokenAuthenticator
    from singer_sdk.helpers.types import Context

    from tap_hubspot_activity.portals import Portal

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

REQUIRED_SCOPE = "account-info.security.read"
MAX_PAGE_SIZE = 200
# HubSpot asks clients to pause "a few seconds" on 5xx; the rolling limit is 10 s wide.
RATE_LIMIT_WINDOW_SECONDS = 10.0
MAX_BACKOFF_SECONDS = 60.0
MAX_RETRY_TRIES = 8
ERROR_MESSAGE_LIMIT = 300
# Without start_date the tap reads everything HubSpot keeps; nothing there predates this.
DEFAULT_START = dt.datetime(2015, 1, 1, tzinfo=dt.UTC)

# Epoch milliseconds since 1973 have 12 or more digits; shorter digit strings are not times.
EPOCH_MS_DIGITS = 12
_TIMESTAMP_FAST = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def format_timestamp(moment: dt.datetime) -> str:
    """Render an aware datetime as the tap's fixed-width UTC form.

    Fixed width matters: the SDK compares bookmark values as strings.
    """
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def normalize_timestamp(value: object) -> str | None:
    """Return HubSpot's timestamp as fixed-width UTC RFC 3339, or None if unusable.

    Accepts ISO 8601 and, as older CMS answers show, epoch milliseconds as digits.
    """
    if not isinstance(value, str):
        return None
    if _TIMESTAMP_FAST.match(value):
        return f"{value[:-1]}000Z"
    if value.isdigit() and len(value) >= EPOCH_MS_DIGITS:
        return format_timestamp(dt.datetime.fromtimestamp(int(value) / 1000, tz=dt.UTC))
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return format_timestamp(moment)


def parse_datetime_setting(value: str) -> dt.datetime:
    """Parse a date or date-time setting (ISO 8601) as an aware UTC datetime."""
    parsed = pendulum.parse(value)
    if not isinstance(parsed, dt.datetime):  # a bare date means its midnight, UTC
        parsed = pendulum.datetime(parsed.year, parsed.month, parsed.day)  # type: ignore[union-attr]
    return dt.datetime.fromtimestamp(parsed.timestamp(), tz=dt.UTC)


def response_body(response: requests.Response) -> dict[str, t.Any]:
    """Decode a JSON object body once per response and cache it on the response."""
    cached = vars(response).get("_hubspot_body")
    if cached is None:
        decoded = msgspec.json.decode(response.content)
        if not isinstance(decoded, dict):
            msg = "body is not a JSON object"
            raise TypeError(msg)
        vars(response)["_hubspot_body"] = cached = decoded
    return t.cast("dict[str, t.Any]", cached)


class HubspotAPIError(FatalAPIError):
    """A HubSpot error that retrying will not fix; the message is safe to log."""


class StreamUnavailableError(HubspotAPIError):
    """The portal does not offer this endpoint (e.g. audit logs without Enterprise)."""


class RetryableHubspotError(RetriableAPIError):
    """A transient failure; `wait_seconds` is the server's own hint, when it gave one."""

    def __init__(
        self,
        message: str,
        response: requests.Response | None = None,
        *,
        wait_seconds: float | None = None,
    ) -> None:
        """Keep the wait hint beside the SDK's message and response."""
        super().__init__(message, response)
        self.wait_seconds = wait_seconds


class HubspotCursorPaginator(BaseAPIPaginator[str | None]):
    """Follows `paging.next.after`; the last page has no `paging` at all."""

    def __init__(self) -> None:
        """Start before the first page."""
        super().__init__(None)

    @override
    def get_next(self, response: requests.Response) -> str | None:
        paging = response_body(response).get("paging")
        following = paging.get("next") if isinstance(paging, dict) else None
        after = following.get("after") if isinstance(following, dict) else None
        if after is None or after == "":
            return None
        if isinstance(after, bool) or not isinstance(after, str | int):
            msg = f"HubSpot sent an unreadable paging cursor ({type(after).__name__})"
            raise HubspotAPIError(msg)
        if str(after) == self.current_value:
            # Following it would read the same page forever.
            msg = "HubSpot sent the same paging cursor twice; stopping instead of looping"
            raise HubspotAPIError(msg)
        return str(after)


class HubspotActivityStream(RESTStream[str | None]):
    """Base for the account-activity endpoints under /account-info/{api_version}/activity/."""

    endpoint: t.ClassVar[str]
    # HubSpot's own name for the event time; copied into `occurredAt`.
    timestamp_field: t.ClassVar[str] = "occurredAt"
    primary_keys: t.ClassVar[list[str]] = ["portalId", "id"]  # type: ignore[misc]
    replication_key = "occurredAt"
    # stamp() already checks every field against the schema; the SDK's second pass over
    # each record cost a quarter of the CPU.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE
    # A 403 on this endpoint means "not in this portal's plan", not "bad token".
    skippable_when_forbidden: t.ClassVar[bool] = False
    unavailable_hint: t.ClassVar[str] = ""
    required_scope: t.ClassVar[str] = REQUIRED_SCOPE
    # A stream that is an add-on is skipped, not failed, when its scope is missing.
    scope_is_optional: t.ClassVar[bool] = False

    # Login and security history filter on one user at a time: a partition per user.
    partition_by_user: t.ClassVar[bool] = False

    @override
    @property
    def partitions(self) -> list[dict] | None:
        portals = (
            [portal.context for portal in self._tap.portals.values()]  # type: ignore[attr-defined]
            if self._tap.multi_portal  # type: ignore[attr-defined]
            else [{}]
        )
        user_ids = self.config.get("user_ids") if self.partition_by_user else None
        users = [{"userId": int(user_id)} for user_id in user_ids] if user_ids else [{}]
        contexts = [{**portal, **user} for portal in portals for user in users]
        return None if contexts == [{}] else contexts

    def portal_for(self, context: Context | None) -> Portal:
        """The portal a partition context belongs to."""
        portals: dict[str | None, Portal] = self._tap.portals  # type: ignore[attr-defined]
        label = context.get("portal") if context else None
        return portals[label] if label in portals else next(iter(portals.values()))

    @override
    @property
    def url_base(self) -> str:
        return self.portal_for(None).api_url

    @property
    def path(self) -> str:  # type: ignore[override]
        """The endpoint path for the configured API version."""
        return f"/account-info/{self.config['api_version']}/activity/{self.endpoint}"

    @override
    def get_url(self, context: Context | None) -> str:
        return f"{self.portal_for(context).api_url}{self.path}"

    @override
    @property
    def authenticator(self) -> BearerTokenAuthenticator | HubspotOAuthAuthenticator:
        return self.portal_for(None).authenticator

    @override
    @property
    def requests_session(self) -> requests.Session:
        return self.portal_for(None).session

    @override
    def build_prepared_request(self, *args: t.Any, **kwargs: t.Any) -> requests.PreparedRequest:
        # Credentials are the portal's, added per request in _request.
        request = requests.Request(*args, **kwargs)
        request.headers.setdefault("User-Agent", self.user_agent)
        return request.prepare()

    @override
    def _request(
        self,
        prepared_request: requests.PreparedRequest,
        context: Context | None,
    ) -> requests.Response:
        portal = self.portal_for(context)
        portal.authenticator(prepared_request)
        response = portal.session.send(
            prepared_request,
            timeout=self.timeout,
            allow_redirects=self.allow_redirects,
        )
        vars(response)["hubspot_portal"] = portal
        self._write_request_duration_log(
            endpoint=self.path, response=response, context=context, extra_tags=None
        )
        self.validate_response(response)
        return response

    @override
    @property
    def http_headers(self) -> dict[str, str]:
        return {"Accept": "application/json", "User-Agent": self.user_agent}

    @cached_property
    @override
    def user_agent(self) -> str:
        return f"tap-hubspot-activity/{self._tap.plugin_version}"

    @override
    @property
    def timeout(self) -> int:
        return int(self.config["request_timeout"])

    @override
    def get_new_paginator(self) -> HubspotCursorPaginator:
        return HubspotCursorPaginator()

    @override
    def get_url_params(
        self,
        context: Context | None,
        next_page_token: str | None,
    ) -> dict[str, t.Any]:
        params: dict[str, t.Any] = {"limit": self.config["page_size"]}
        if next_page_token:
            params["after"] = next_page_token
        if context and "userId" in context:
            params["userId"] = context["userId"]
        return params

    @override
    def parse_response(self, response: requests.Response) -> Iterable[dict]:
        results = response_body(response).get("results")
        if not isinstance(results, list):
            msg = self._describe(response, "the response has no `results` list")
            raise HubspotAPIError(msg)
        return results

    @override
    def post_process(self, row: dict, context: Context | None = None) -> dict | None:
        row["portalId"] = self.portal_for(context).portal_id(self.fetch_portal_id)
        return row

    @override
    def get_records(self, context: Context | None) -> Iterable[dict[str, t.Any]]:
        portal = self.portal_for(context)
        self._tap.read_ahead_from(self)  # type: ignore[attr-defined]
        try:
            if portal.failure:
                self.logger.warning("%s: skipping %s, which failed earlier", self.name, portal.name)
                return
            for item in self._items(context):
                if item is CHECKPOINT:
                    # Every record before it has been processed by the SDK by now.
                    self._write_state_message()
                else:
                    yield item
        except StreamUnavailableError as exc:
            self.logger.warning(
                "Skipping %s for %s: %s. %s", self.name, portal.name, exc, self.unavailable_hint
            )
        except (FatalAPIError, RetriableAPIError) as exc:
            if not self._tap.multi_portal:  # type: ignore[attr-defined]
                self._tap.stop_reading_ahead()  # type: ignore[attr-defined]
                raise
            # One portal's revoked token or used-up quota must not stop the others.
            portal.failure = self.redact(str(exc))
            self.logger.error(  # noqa: TRY400 - the message is the whole story
                "%s failed on %s: %s. The other portals go on.",
                portal.name,
                self.name,
                portal.failure,
            )
        except BaseException:
            # The run is failing: threads reading later streams ahead must not outlive it.
            self._tap.stop_reading_ahead()  # type: ignore[attr-defined]
            raise
        finally:
            partitions = self.partitions
            if not partitions or context == partitions[-1]:
                self.stop_reading_ahead()

    def read_ahead(self) -> None:
        """Start reading every partition in the background, before the SDK reaches the stream."""
        contexts = self._live_contexts()
        self._start_fanout(contexts, self._parallel_portals(contexts))

    def stop_reading_ahead(self) -> None:
        """Drop what was read ahead and not replayed (the run failed before this stream)."""
        if self._fanout is not None:
            self._fanout.close()
            self._fanout = None

    def _live_contexts(self) -> list[dict | None]:
        """The partitions to read, but those of failed portals (None: no partitions)."""
        if not self.partitions:
            return [None]
        return [
            partition for partition in self.partitions if not self.portal_for(partition).failure
        ]

    def _parallel_portals(self, contexts: list[dict | None]) -> int:
        if self._tap.multi_portal and len(contexts) > 1:  # type: ignore[attr-defined]
            return int(self.config["max_parallel_portals"])
        return 1

    def _start_fanout(self, contexts: list[dict | None], parallel: int) -> None:
        # Create every partition's state entry here, before threads read them.
        for partition in contexts:
            self.get_context_state(partition)
        self._fanout = FanOut(self._extract_partition, contexts, parallel)

    def _items(self, context: Context | None) -> Iterator[t.Any]:
        """The partition's records and checkpoints: read here, or by a fan-out."""
        if self._fanout is None:
            contexts = self._live_contexts()
            parallel = self._parallel_portals(contexts)
            if parallel > 1:
                self._start_fanout(contexts, parallel)
        if self._fanout is not None:
            return self._fanout.replay(context)
        return self._extract_partition(context)

    _fanout: FanOut | None = None

    def _extract_partition(self, context: Context | None) -> Iterator[t.Any]:
        self.portal_for(context).portal_id(self.fetch_portal_id)
        yield from self.extract(context)

    def extract(self, context: Context | None) -> Iterable[t.Any]:
        """The stream's records for one partition (with `occurredAt`), and CHECKPOINTs."""
        raise NotImplementedError

    def stamp(self, record: object) -> dict | None:
        """Add `occurredAt` to a raw record; log and return None for an unusable one."""
        if not isinstance(record, dict):
            self.logger.warning("Skipping a %s entry that is not a JSON object", self.name)
            return None
        occurred_at = normalize_timestamp(record.get(self.timestamp_field))
        record_id = record.get("id")
        if (
            occurred_at is None
            or isinstance(record_id, bool)
            or not isinstance(record_id, str | int)
            or record_id == ""
        ):
            self.logger.warning(
                "Skipping a %s record without a usable id or %s (id=%r)",
                self.name,
                self.timestamp_field,
                record.get("id"),
            )
            return None
        record["id"] = str(record["id"])
        record["occurredAt"] = occurred_at
        self._conform(record, self._field_types)
        return record

    @cached_property
    def _field_types(self) -> dict[str, t.Any]:
        """Python types each schema property accepts; nested objects map to their own."""
        return _python_types(self.schema)

    def _conform(self, record: dict[str, t.Any], field_types: dict[str, t.Any]) -> None:
        """Null a field whose value has the wrong type, with a warning: keep the event."""
        for field, accepted in field_types.items():
            value = record.get(field)
            if value is None:
                continue
            if isinstance(accepted, dict) and isinstance(value, dict):
                self._conform(value, accepted)
                continue
            # bool is an int to Python, never to the schema.
            fits = (
                not isinstance(accepted, dict)
                and isinstance(value, accepted)
                and (bool in accepted or not isinstance(value, bool))
            )
            if not fits:
                self.logger.warning(
                    "%s record %s: field %s has an unexpected %s value; loaded as null",
                    self.name,
                    record.get("id"),
                    field,
                    type(value).__name__,
                )
                record[field] = None

    def sync_bounds(self, context: Context | None) -> tuple[dt.datetime, dt.datetime]:
        """The half-open range [start, end) of event times this run extracts.

        Start is the bookmark less the lookback (never before start_date); end is the
        earlier of end_date and the moment the sync began, so the bookmark never passes
        an event that may still be written.
        """
        configured = self.config.get("start_date")
        floor = parse_datetime_setting(configured) if configured else DEFAULT_START
        starting = self.get_starting_timestamp(context)
        if starting is None:
            # A portal read ahead by the fan-out: the SDK has not opened its partition yet.
            bookmark = self.get_context_state(context).get("replication_key_value")
            starting = dt.datetime.fromisoformat(bookmark) if bookmark else None
        start = floor
        if starting is not None:
            lookback = dt.timedelta(minutes=int(self.config["lookback_minutes"]))
            start = max(starting - lookback, floor)
        signpost = self.get_replication_key_signpost(context)
        end = signpost if isinstance(signpost, dt.datetime) else dt.datetime.now(dt.UTC)
        if self.config.get("end_date"):
            end = min(end, parse_datetime_setting(self.config["end_date"]))
        return start, end

    @override
    def log_sync_costs(self) -> None:
        super().log_sync_costs()
        # The SDK calls this for every stream once the sync is over; the last one reports.
        if self.name == list(self._tap.streams)[-1]:
            self._tap.finish_run()  # type: ignore[attr-defined]

    # Errors

    def redact(self, text: str) -> str:
        """Remove every secret of the run from text meant for a log or an error."""
        for secret in self._tap.secrets():  # type: ignore[attr-defined]
            text = text.replace(secret, "***")
        return text

    def _describe(self, response: requests.Response, detail: str | None = None) -> str:
        """One plain sentence about a failed response: status, category, correlationId."""
        try:
            body = response_body(response)
        except (msgspec.DecodeError, TypeError):
            body = {}
        category = body.get("category") or body.get("errorType") or body.get("status")
        correlation_id = body.get("correlationId")
        message = detail or str(body.get("message") or response.reason or "no message")
        if len(message) > ERROR_MESSAGE_LIMIT:
            message = message[:ERROR_MESSAGE_LIMIT] + "..."
        parts = [f"HubSpot answered {response.status_code}"]
        if category:
            parts.append(str(category))
        parts.append(f"on {self.path}")
        if correlation_id:
            parts.append(f"(correlationId {correlation_id})")
        return self.redact(f"{' '.join(parts)}: {message}")

    @override
    def response_error_message(self, response: requests.Response) -> str:
        return self._describe(response)

    @override
    def validate_response(self, response: requests.Response) -> None:
        if response.status_code < HTTPStatus.BAD_REQUEST:
            try:
                response_body(response)
            except msgspec.DecodeError as exc:
                # Cut or garbled bodies come from flaky networks and gateways: retry.
                msg = self._describe(response, f"unreadable JSON body ({exc})")
                raise RetryableHubspotError(msg, response) from None
            except TypeError as exc:
                msg = self._describe(response, f"unexpected response ({exc})")
                raise HubspotAPIError(msg) from None
            return
        try:
            body = response_body(response)
        except (msgspec.DecodeError, TypeError):
            body = {}
        raise self._error_for(response, body)

    def _error_for(  # noqa: PLR0911 - one return per HubSpot failure class
        self, response: requests.Response, body: dict[str, t.Any]
    ) -> Exception:
        """The exception a failed response calls for: retry, skip the stream, or stop."""
        status = response.status_code
        portal = vars(response).get("hubspot_portal") or self.portal_for(None)
        category = str(body.get("category") or body.get("errorType") or "")
        message = self._describe(response)
        retry_after = _retry_after_seconds(response)
        # 423 Locked and HubSpot's own 477 Migration in Progress clear up by themselves.
        if status in {HTTPStatus.LOCKED, 477} or status >= HTTPStatus.INTERNAL_SERVER_ERROR:
            return RetryableHubspotError(message, response, wait_seconds=retry_after)
        if status == HTTPStatus.TOO_MANY_REQUESTS:
            if str(body.get("policyName", "")).upper() == "DAILY":
                return HubspotAPIError(
                    f"{message}. The portal's daily API quota is used up; it resets at "
                    "midnight in the portal's time zone. State up to the last emitted "
                    "record is saved: run again after the reset."
                )
            # Hold the whole portal, not just this request, for the rest of the window.
            portal.governor.pause(
                retry_after if retry_after is not None else RATE_LIMIT_WINDOW_SECONDS
            )
            return RetryableHubspotError(message, response, wait_seconds=0)
        if status == HTTPStatus.UNAUTHORIZED:
            authenticator = portal.authenticator
            if isinstance(authenticator, HubspotOAuthAuthenticator) and (
                authenticator.expire_once()
            ):
                return RetryableHubspotError(message, response, wait_seconds=0)
            return HubspotAPIError(
                f"{message}. Check the credentials: access_token (a private app token) or "
                f"client_id, client_secret and refresh_token, with scope {REQUIRED_SCOPE}."
            )
        if status == HTTPStatus.FORBIDDEN and category == "MISSING_SCOPES":
            if self.scope_is_optional:
                return StreamUnavailableError(f"{message} (scope {self.required_scope})")
            return HubspotAPIError(
                f"{message}. Grant the scope {self.required_scope} to the app or private app."
            )
        if status in {HTTPStatus.FORBIDDEN, HTTPStatus.NOT_FOUND} and (
            self.skippable_when_forbidden
        ):
            return StreamUnavailableError(message)
        if status == HTTPStatus.NOT_FOUND:
            return HubspotAPIError(
                f"{message}. Check api_url and api_version ({self.config['api_version']})."
            )
        return HubspotAPIError(message)

    # Backoff

    @override
    def request_decorator(self, func: Callable) -> Callable:
        return backoff.on_exception(
            self.backoff_wait_generator,
            (
                ConnectionResetError,
                RetriableAPIError,
                requests.exceptions.Timeout,
                requests.exceptions.ConnectionError,
                requests.exceptions.ChunkedEncodingError,
                requests.exceptions.ContentDecodingError,
            ),
            max_tries=MAX_RETRY_TRIES,
            max_time=float(self.config["max_retry_seconds"]),
            on_backoff=self.backoff_handler,
            on_giveup=self._log_giveup,
            jitter=None,
            logger=None,
        )(func)

    @override
    def backoff_wait_generator(self) -> Generator[float, t.Any, None]:
        """Wait as the server asks, else exponentially from 1 s up to a minute."""
        attempt = 0
        exception = yield 0.0
        while True:
            attempt += 1
            hint = getattr(exception, "wait_seconds", None)
            delay = hint if hint is not None else min(2.0 ** (attempt - 1), MAX_BACKOFF_SECONDS)
            exception = yield delay

    @cached_property
    def fetch_abandoned(self) -> threading.local:
        """Per fetch thread: `.event`, set once nobody waits for the thread's result."""
        return threading.local()

    @override
    def backoff_handler(self, details: t.Any) -> None:
        exception = details.get("exception")
        abandoned = getattr(self.fetch_abandoned, "event", None)
        if abandoned is not None and abandoned.is_set():
            # The run is already failing; a background retry would only delay the exit.
            raise exception
        self.logger.warning(
            "Retrying %s in %.1f s (attempt %d): %s",
            self.path,
            details.get("wait") or 0.0,
            details.get("tries"),
            self.redact(_short_reason(exception)),
        )

    def _log_giveup(self, details: t.Any) -> None:
        self.logger.error(
            "Giving up on %s after %d attempts in %.0f s",
            self.path,
            details.get("tries"),
            details.get("elapsed") or 0.0,
        )

    # Account details

    def fetch_portal_id(self, portal: Portal) -> int:
        """Read the portal id from GET /account-info/v3/details (with retries)."""
        request = self.build_prepared_request(
            method="GET",
            url=f"{portal.api_url}/account-info/v3/details",
            headers=self.http_headers,
        )
        response = self.request_decorator(self._request)(request, portal.context)
        portal_id = response_body(response).get("portalId")
        if not isinstance(portal_id, int) or isinstance(portal_id, bool):
            msg = "HubSpot's /account-info/v3/details answer has no integer portalId"
            raise HubspotAPIError(msg)
        self.logger.info("Extracting HubSpot portal %s (%s)", portal_id, portal.name)
        return portal_id


_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
}


def _python_types(schema: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    types: dict[str, t.Any] = {}
    for field, spec in schema.get("properties", {}).items():
        declared = spec.get("type", [])
        names = [declared] if isinstance(declared, str) else list(declared)
        if "object" in names:
            types[field] = _python_types(spec)
        else:
            types[field] = tuple(kind for name in names for kind in _JSON_TYPES.get(name, ()))
    return types


def _retry_after_seconds(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _short_reason(exception: object) -> str:
    if isinstance(exception, RetriableAPIError):
        return str(exception)
    if isinstance(exception, requests.exceptions.RequestException):
        # requests' own messages can carry the full URL and pool internals; the class is enough.
        return type(exception).__name__
    return type(exception).__name__ if exception else "unknown error"
