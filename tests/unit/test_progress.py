"""Progress lines on a fake clock: at most one per interval, rates, how far windows are closed."""

from __future__ import annotations

import datetime as dt
import logging

from tap_hubspot_activity.engine.progress import Progress

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def test_a_windowed_read_tells_its_rate_share_and_time_left(caplog):
    now = [0.0]
    progress = Progress("audit_logs", T0, logging.getLogger("p"), clock=lambda: now[0])
    with caplog.at_level(logging.INFO, logger="p"):
        for second in range(1, 41):
            now[0] = float(second)
            progress.page()
            progress.emitted(200, closed_until=T0 + dt.timedelta(days=second / 8))
        progress.finish()
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 5  # every 10 s over 40 s, and the closing line
    assert "audit_logs: 8,000 records, 40 pages in 40 s (200 records/s, 1.0 pages/s)" in lines[-1]
    assert "emitted up to 2026-01-06T00:00:00.000000Z" in lines[-1]
    assert lines[-1].endswith("; done")


def test_a_chain_tells_counts_and_rates_without_a_share():
    now = [0.0]
    progress = Progress(
        "login_activity",
        T0,
        logging.getLogger("p"),
        clock=lambda: now[0],
    )
    now[0] = 4.0
    progress.page()
    progress.emitted(200)
    assert (
        progress.line() == "login_activity: 200 records, 1 pages in 4 s (50 records/s, 0.2 pages/s)"
    )
