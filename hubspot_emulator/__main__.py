"""Standalone emulator: `python -m hubspot_emulator --port 0 --seed 7 [options]`."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from datetime import datetime
from typing import TYPE_CHECKING

from .config import BOUNDS, FAULT_KINDS, SORT_ORDERS, EmulatorConfig
from .emulator import HubSpotEmulator

if TYPE_CHECKING:
    from types import FrameType

_DEFAULTS = EmulatorConfig()


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m hubspot_emulator", description="HubSpot account-activity API emulator."
    )
    d = _DEFAULTS
    add = p.add_argument
    add("--host", default=d.host)
    add("--port", type=int, default=d.port, help="0 picks a free port")
    add("--seed", type=int, default=d.seed)
    add("--portal-id", type=int, default=d.portal_id)
    add("--users", type=int, default=d.users)
    add("--logins-per-day", type=float, default=d.logins_per_day)
    add("--audits-per-day", type=float, default=d.audits_per_day)
    add("--security-per-day", type=float, default=d.security_per_day)
    add("--cms-per-day", type=float, default=d.cms_per_day, help="CMS content audit events")
    add("--history-days", type=int, default=d.history_days)
    add("--login-retention-days", type=int, default=d.login_retention_days)
    add("--bursts-per-week", type=float, default=d.bursts_per_week)
    add(
        "--now",
        type=datetime.fromisoformat,
        default=None,
        help="fixed ISO anchor instead of the real clock",
    )
    add("--default-limit", type=int, default=d.default_limit)
    add("--max-limit", type=int, default=d.max_limit)
    add("--reject-over-limit", action="store_true", help="400 instead of capping")
    add("--sort-login", choices=SORT_ORDERS, default=d.sort["login"])
    add("--sort-audit", choices=SORT_ORDERS, default=d.sort["audit-logs"])
    add("--sort-security", choices=SORT_ORDERS, default=d.sort["security"])
    add("--sort-cms", choices=SORT_ORDERS, default=d.sort["cms"])
    add("--after-bound", choices=BOUNDS, default=d.after_bound)
    add("--before-bound", choices=BOUNDS, default=d.before_bound)
    add("--latency-ms", type=float, default=d.latency_ms)
    add("--ten-second-max", type=int, default=d.ten_second_max)
    add("--rate-limit-interval-ms", type=int, default=d.rate_limit_interval_ms)
    add("--daily-max", type=int, default=d.daily_max)
    add("--no-rate-limit-headers", action="store_true")
    add(
        "--access-token",
        default=os.environ.get("HUBSPOT_EMULATOR_ACCESS_TOKEN"),
        help="only accept this static token (default: $HUBSPOT_EMULATOR_ACCESS_TOKEN, "
        "else any non-empty token)",
    )
    add("--require-oauth", action="store_true", help="only accept OAuth-issued tokens")
    add("--oauth-client-id", default=d.oauth_client_id)
    add("--oauth-client-secret", default=d.oauth_client_secret)
    add("--oauth-refresh-token", default=d.oauth_refresh_token)
    add("--token-lifetime-s", type=int, default=d.token_lifetime_s)
    add(
        "--token-case",
        default=d.token_case,
        choices=["", "snake", "camel"],
        help="token answers' field names (default: v1 snake_case, 2026-03 camelCase)",
    )
    add("--not-enterprise", action="store_true", help="audit-logs answers 403")
    add("--missing-scopes", action="store_true", help="activity endpoints answer 403")
    add(
        "--not-cms-enterprise",
        action="store_true",
        help="the CMS audit log answers 403 (no CMS Hub Enterprise)",
    )
    add("--no-cms-scope", action="store_true", help="the CMS audit log answers 403 MISSING_SCOPES")
    add("--extra-fields", action="store_true", help="add unknown fields to some records")
    add("--fault-rate", type=float, default=d.fault_rate)
    add(
        "--fault-kinds",
        default=",".join(d.fault_kinds),
        help=f"comma-separated, from {','.join(FAULT_KINDS)}",
    )
    add("--slow-seconds", type=float, default=d.slow_seconds)
    add("--arrivals-per-request", type=int, default=d.arrivals_per_request)
    add("--log-requests", action="store_true", help="log method, path, status to stderr")
    return p


def config_from_args(args: argparse.Namespace) -> EmulatorConfig:
    return EmulatorConfig(
        seed=args.seed,
        host=args.host,
        port=args.port,
        portal_id=args.portal_id,
        users=args.users,
        logins_per_day=args.logins_per_day,
        audits_per_day=args.audits_per_day,
        security_per_day=args.security_per_day,
        cms_per_day=args.cms_per_day,
        history_days=args.history_days,
        login_retention_days=args.login_retention_days,
        bursts_per_week=args.bursts_per_week,
        now=args.now,
        default_limit=args.default_limit,
        max_limit=args.max_limit,
        reject_over_limit=args.reject_over_limit,
        sort={
            "login": args.sort_login,
            "audit-logs": args.sort_audit,
            "security": args.sort_security,
            "cms": args.sort_cms,
        },
        after_bound=args.after_bound,
        before_bound=args.before_bound,
        latency_ms=args.latency_ms,
        ten_second_max=args.ten_second_max,
        rate_limit_interval_ms=args.rate_limit_interval_ms,
        daily_max=args.daily_max,
        rate_limit_headers=not args.no_rate_limit_headers,
        access_token=args.access_token or None,
        require_oauth=args.require_oauth,
        oauth_client_id=args.oauth_client_id,
        oauth_client_secret=args.oauth_client_secret,
        oauth_refresh_token=args.oauth_refresh_token,
        token_lifetime_s=args.token_lifetime_s,
        token_case=args.token_case,
        enterprise=not args.not_enterprise,
        missing_scopes=args.missing_scopes,
        cms_enterprise=not args.not_cms_enterprise,
        cms_scope=not args.no_cms_scope,
        extra_fields=args.extra_fields,
        fault_rate=args.fault_rate,
        fault_kinds=tuple(k for k in args.fault_kinds.split(",") if k),
        slow_seconds=args.slow_seconds,
        arrivals_per_request=args.arrivals_per_request,
        log_requests=args.log_requests,
    )


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args)
    except ValueError as exc:
        parser.error(str(exc))
    stop = threading.Event()

    def _on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    emulator = HubSpotEmulator(config).start()
    # Launchers wait for exactly this line to learn the port.
    sys.stdout.write(f"HubSpot emulator listening on {emulator.url}\n")
    sys.stdout.flush()
    try:
        stop.wait()
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
