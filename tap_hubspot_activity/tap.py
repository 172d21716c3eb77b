"""TapHubspotActivity: settings, the streams, and one engine run per sync."""

from __future__ import annotations

import datetime as dt
import json
import sys
import typing as t
from functools import cached_property

from singer_sdk import Tap
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.tap_base import CliTestOptionValue

from tap_hubspot_activity.check import connection_report
from tap_hubspot_activity.config_schema import config_schema
from tap_hubspot_activity.engine.errors import FatalError, HubspotError, PortalsFailedError
from tap_hubspot_activity.engine.extraction import Extraction
from tap_hubspot_activity.manifest_stream import SyncManifestsStream
from tap_hubspot_activity.settings import SettingsError, checked_settings
from tap_hubspot_activity.signals import Stopped, exit_now, stop_on_signals
from tap_hubspot_activity.streams import (
    ActivityStream,
    AuditLogsStream,
    CmsContentAuditStream,
    LoginActivityStream,
    SecurityActivityStream,
)
from tap_hubspot_activity.writer import RecordBatchingWriter

if sys.version_info >= (3, 12):
    from typing import override
else:
    from typing_extensions import override

if t.TYPE_CHECKING:
    import click
    from singer_sdk.streams import Stream

__all__ = ["PortalsFailedError", "TapHubspotActivity"]
CMS_STREAM = CmsContentAuditStream.name


class TapHubspotActivity(Tap):
    """Singer tap for HubSpot login history, centralized audit log and security history."""

    name = "tap-hubspot-activity"
    message_writer_class = RecordBatchingWriter
    config_jsonschema = config_schema()

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        """Create the tap; a malformed setting fails in every mode, missing credentials in sync.

        The settings are made before the mapper is set up: setting it up discovers the
        streams, which read them.
        """
        validated = kwargs.get("validate_config", True)
        setup_mapper = kwargs.pop("setup_mapper", True)
        super().__init__(*args, setup_mapper=False, **kwargs)
        try:
            self.settings = checked_settings(
                self.config,
                schema=self.config_jsonschema,
                validated=validated,
                user_agent=f"{self.name}/{self.plugin_version}",
            )
        except SettingsError as exc:
            msg = "Config validation failed"
            raise ConfigValidationError(msg, errors=exc.errors) from None
        if setup_mapper:
            self.setup_mapper()

    @override
    def setup_mapper(self) -> None:
        enabled = self.settings.cms_content_audit
        if enabled is not None:
            # Set, the setting wins over the catalog: Meltano selects every stream unless
            # told otherwise, and meltano.yml passes false for this optional one. Both the
            # stream and the catalog the mapper reads must agree.
            self.streams[CMS_STREAM].selected = bool(enabled)
            entry = self.input_catalog.get_stream(CMS_STREAM) if self.input_catalog else None
            if entry is not None:
                entry.metadata.root.selected = bool(enabled)
        super().setup_mapper()

    @cached_property
    def extraction(self) -> Extraction:
        """The engine of this run (no request is sent before a sync or a check)."""
        settings = self.settings
        return Extraction(
            list(settings.portals),
            settings.limits,
            page_size=settings.page_size,
            read_ahead=settings.read_ahead,
            parallel=settings.parallel_portals,
            windows_in_flight=settings.windows_in_flight,
            logger=self.logger,
        )

    @override
    def discover_streams(self) -> list[Stream]:
        manifests = SyncManifestsStream(
            self,
            tap_version=str(self.plugin_version),
            verification=self.settings.verify is not None,
        )
        return [
            LoginActivityStream(self, self.settings, self.extraction, manifests),
            AuditLogsStream(self, self.settings, self.extraction, manifests),
            SecurityActivityStream(self, self.settings, self.extraction, manifests),
            CmsContentAuditStream(self, self.settings, self.extraction, manifests),
            # Last: synced on its own it only ends the run's manifests.
            manifests,
        ]

    def selected_streams(self) -> list[ActivityStream]:
        """The streams this run reads, in the SDK's order."""
        return [
            stream
            for stream in self.streams.values()
            if stream.selected and isinstance(stream, ActivityStream)
        ]

    def sync_and_report(self) -> None:
        """Sync every selected stream through the engine, then fail if any portal failed.

        The jobs are planned before the SDK's sync so that every stream is read ahead
        from the start; the failures are raised once every stream has been emitted and
        its STATE written, so portals that succeeded keep their bookmarks.
        """
        now = dt.datetime.now(dt.UTC)
        self.extraction.start(
            [job for stream in self.selected_streams() for job in stream.jobs(now)]
        )
        try:
            self.sync_all()
        finally:
            self.extraction.terminate()
            for line in self.extraction.summary():
                self.logger.info("%s", line)
        self.extraction.finish()

    def check_connection(self) -> None:
        """The connection check: one line per portal; raises if any portal failed."""
        lines, failed = connection_report(
            self.extraction, [stream.spec for stream in self.selected_streams()]
        )
        for line in lines:
            self.logger.info("%s", line)
        if failed:
            raise failed

    # singer-sdk's CLI ends in Tap.sync_all and Tap.run_connection_test, both final, so no
    # hook runs after every stream was emitted. These two callbacks are the one place the
    # tap repeats the SDK's CLI steps (tests/test_sdk_contract.py fails if they change).

    @classmethod
    @override
    def invoke(  # type: ignore[override]
        cls,
        *,
        about: bool = False,
        about_format: str | None = None,
        config: t.Any = None,
        state: t.IO[str] | None = None,
        catalog: t.IO[str] | None = None,
    ) -> None:
        stop_on_signals()
        tap: TapHubspotActivity | None = None
        try:
            super(Tap, cls).invoke(about=about, about_format=about_format)
            cls.print_version(print_fn=cls.logger.info)
            tap = cls(
                config=config.config if config else None,
                state=None if state is None else read_state(state),
                catalog=None if catalog is None else json.load(catalog),
                parse_env_config=config.parse_env if config else False,
                validate_config=True,
            )
            stop_on_signals()  # again: the SDK's __init__ put its own handlers in place
            tap.sync_and_report()
        except (HubspotError, ConfigValidationError) as exc:
            _exit_plainly(cls, exc)
        except Stopped as stopped:
            writer = tap.message_writer if tap is not None else None
            exit_now(
                cls.logger,
                stopped,
                writer.flush if isinstance(writer, RecordBatchingWriter) else None,
            )

    @classmethod
    @override
    def cb_test(cls, ctx: click.Context, param: click.Option, value: str) -> None:
        if value == CliTestOptionValue.Disabled.value:
            return
        config = ctx.params.get("config")
        try:
            tap = cls(
                config=config.config if config else None,
                parse_env_config=config.parse_env if config else False,
                validate_config=True,
            )
            if value == CliTestOptionValue.Schema.value:
                tap.write_schemas()
            else:
                tap.check_connection()
        except (HubspotError, ConfigValidationError) as exc:
            _exit_plainly(cls, exc)
        ctx.exit()


STATE_HINT = (
    "make it from the last STATE line a run wrote: "
    'grep \'"type": *"STATE"\' out.jsonl | tail -n 1 > state.json'
)


def read_state(file: t.IO[str]) -> dict[str, t.Any]:
    """The --state file: the state itself, or a whole STATE message (its value is taken).

    Anything else is refused with one line: a state the SDK cannot read would otherwise
    be taken as no state, and the run would re-read everything from start_date.
    """
    try:
        state = json.load(file)
    except json.JSONDecodeError as exc:
        several = exc.msg == "Extra data"
        what = "several JSON lines (a run's whole output?)" if several else "no JSON"
        msg = f"--state file holds {what}: {STATE_HINT}"
        raise FatalError(msg) from None
    if isinstance(state, dict) and state.get("type") == "STATE":
        state = state.get("value")
    if not isinstance(state, dict) or (state and not isinstance(state.get("bookmarks"), dict)):
        msg = (
            '--state file is neither a state ({"bookmarks": {...}}) nor a STATE '
            f"message: {STATE_HINT}"
        )
        raise FatalError(msg)
    return state


def _exit_plainly(cls: type[Tap], exc: Exception) -> t.NoReturn:
    """One plain line for a foreseeable failure, exit 1: no traceback."""
    if isinstance(exc, ConfigValidationError):
        cls.logger.error("Bad settings: %s", "; ".join(exc.errors) or str(exc))
    else:
        cls.logger.error("%s", exc)
    sys.stdout.flush()
    sys.exit(1)
