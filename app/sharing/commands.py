"""`flask --app wsgi sharing daily [--now 2027-10-13T06:00:00+00:00]`: run the daily sweep now."""

from __future__ import annotations

import click

from app.sharing.views import bp


@bp.cli.command("daily")
@click.option("--now", default=None, help="ISO 8601 moment to run as (time travel for demos and checks).")
def daily(now: str | None) -> None:
    """Reminders, expiries and (on its day) the weekly digest, once each; then recovery."""
    from app.tasks.daily import run_daily

    click.echo(run_daily(now))
