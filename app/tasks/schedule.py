"""The cron schedule: what the `cron` process enqueues, and when.

Run by `flask --app wsgi cron`; jobs go to the queues and the workers run them.
"""

from __future__ import annotations

from flask import current_app
from rq.cron import CronScheduler

from app.queue import get_redis

SWEEP = "app.tasks.sweep.recover_stuck_work"

# (dotted job, queue, keyword: interval seconds or cron expression)
SCHEDULE: list[tuple[str, str, dict]] = [
    # Recovery: on "high" so a long export or sync never delays it; the interval is
    # RECOVERY_INTERVAL_SECONDS (see `build_scheduler`).
    (SWEEP, "high", {"interval": 30}),
    ("app.tasks.reports.send_scheduled_reports", "low", {"cron": "20 * * * *"}),  # analytics reports
    ("app.tasks.reports.warm_analytics", "low", {"interval": 60}),  # the default Analytics view, cached
    ("app.tasks.integrations.run_due_syncs", "low", {"interval": 60}),
    ("app.tasks.training.send_session_reminders", "low", {"interval": 600}),  # 24 h before each session
    ("app.tasks.daily.run_daily", "low", {"cron": "15 6 * * *"}),  # daily sweep, 06:15 local time
]


def build_scheduler() -> CronScheduler:
    from importlib import import_module

    scheduler = CronScheduler(connection=get_redis(), name="laurel-cron")
    for dotted, queue, when in SCHEDULE:
        if dotted == SWEEP:
            when = {"interval": current_app.config["RECOVERY_INTERVAL_SECONDS"]}
        module, name = dotted.rsplit(".", 1)
        scheduler.register(getattr(import_module(module), name), queue, **when)
    return scheduler
